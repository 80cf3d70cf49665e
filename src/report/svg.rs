//! The SVG sequence diagram: a lifeline per actor (and shared resource), a box per step labelled
//! with its upstream function, an arrow per message, highlighted changes in red, the breaking
//! step marked, and folds of uninteresting steps. Every step has a `<title>` with its full diff
//! (hover works without scripts); the HTML page adds click-to-inspect and fold toggling.

use super::analysis::{fold_of, is_highlighted, Analysis};
use super::{brief, esc, short};
use sim::Trace;
use std::fmt::Write;

/// Left margin (step numbers).
pub const LEFT: i64 = 48;
/// Column width per lifeline.
pub const COL: i64 = 200;
/// Row height per step.
pub const ROW: i64 = 46;
/// Height of the lifeline heads.
pub const HEAD: i64 = 56;
const BOX: i64 = 184;

/// The first alternative of a step's upstream function, or its label.
pub fn upstream_name(step: &sim::TraceStep) -> String {
    match &step.upstream {
        Some(u) => u.split(" / ").next().unwrap_or(u).to_string(),
        None => step.label.clone(),
    }
}

/// The y of every step's row and the total height, with the given folds collapsed.
pub fn layout(a: &Analysis, steps: usize, collapsed: bool) -> (Vec<i64>, Vec<i64>, i64) {
    let mut rows = Vec::with_capacity(steps);
    let mut fold_y = vec![0; a.folds.len()];
    let mut y = HEAD;
    for i in 0..steps {
        match fold_of(a, i).filter(|_| collapsed) {
            Some(f) => {
                if a.folds[f].first == i {
                    fold_y[f] = y;
                    y += ROW;
                }
                rows.push(fold_y[f]);
            }
            None => {
                rows.push(y);
                y += ROW;
            }
        }
    }
    (rows, fold_y, y + 16)
}

fn x_of(a: &Analysis, name: &str) -> i64 {
    let i = a.lifelines.iter().position(|l| l.name == name).unwrap_or(0) as i64;
    LEFT + COL * i + COL / 2
}

/// The full diff of a step as text (for tooltips).
pub fn diff_text(step: &sim::TraceStep) -> String {
    let mut out = format!("{}: {}", step.actor, step.label);
    if let Some(u) = &step.upstream {
        let _ = write!(out, " [{u}]");
    }
    for c in &step.changes {
        let _ = write!(
            out,
            "\n{}: {} → {}",
            c.path,
            short(&c.before),
            short(&c.after)
        );
    }
    if step.changes.is_empty() {
        out.push_str("\n(no state change)");
    }
    out
}

/// Renders the diagram. `id` prefixes element ids (several diagrams share a page); with
/// `collapsed`, folds start collapsed.
pub fn render(trace: &Trace, a: &Analysis, id: &str, collapsed: bool) -> String {
    let steps = &trace.steps;
    let (rows, fold_y, height) = layout(a, steps.len(), collapsed);
    let width = LEFT + COL * a.lifelines.len().max(1) as i64 + 16;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="seq" id="{id}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    s.push_str(concat!(
        "<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" ",
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" ",
        "fill=\"#1f5fa8\"/></marker></defs>\n"
    ));
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    for l in &a.lifelines {
        let x = x_of(a, &l.name);
        let fill = if l.kind == "resource" {
            "#e8e8e8"
        } else {
            "#dde8f6"
        };
        let _ = writeln!(
            s,
            r##"<g class="lifeline" data-name="{n}"><line class="life" x1="{x}" y1="40" x2="{x}" y2="{y2}" stroke="#999" stroke-dasharray="4 3"/><rect x="{rx}" y="8" width="{BOX}" height="30" rx="4" fill="{fill}" stroke="#456"/><text x="{x}" y="27" text-anchor="middle" font-weight="bold" font-size="12">{n}</text></g>"##,
            n = esc(&l.name),
            y2 = height - 8,
            rx = x - BOX / 2,
        );
    }
    for (f, fold) in a.folds.iter().enumerate() {
        let hidden = if collapsed { "" } else { " display=\"none\"" };
        let _ = writeln!(
            s,
            r##"<g class="fold" data-fold="{f}" transform="translate(0,{y})"{hidden}><rect x="4" y="6" width="{w}" height="{h}" rx="6" fill="#f3f3f3" stroke="#bbb" stroke-dasharray="3 2"/><text x="{tx}" y="{ty}" text-anchor="middle" fill="#555">… {n} steps ({a}–{b}) with no change to the fields that matter — click to expand</text></g>"##,
            y = fold_y[f],
            w = width - 8,
            h = ROW - 12,
            tx = width / 2,
            ty = ROW / 2 + 4,
            n = fold.last - fold.first + 1,
            a = fold.first + 1,
            b = fold.last + 1,
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let folded = collapsed && fold_of(a, i).is_some();
        let broken = a.break_step == Some(i);
        let x = x_of(a, &step.actor);
        let hidden = if folded { " display=\"none\"" } else { "" };
        let class = if broken { "step broken" } else { "step" };
        let _ = write!(
            s,
            r#"<g class="{class}" data-step="{i}" transform="translate(0,{y})"{hidden}><title>{title}</title>"#,
            y = rows[i],
            title = esc(&diff_text(step)),
        );
        let _ = write!(
            s,
            r##"<text x="8" y="{ty}" fill="{c}" font-weight="{w}">{mark}{n}</text>"##,
            ty = ROW / 2 + 4,
            c = if broken { "#b00020" } else { "#666" },
            w = if broken { "bold" } else { "normal" },
            mark = if broken { "✗ " } else { "" },
            n = i + 1,
        );
        let hl: Vec<String> = step
            .changes
            .iter()
            .enumerate()
            .filter(|(k, _)| is_highlighted(a, i, *k))
            .map(|(_, c)| {
                format!(
                    "{}: {} → {}",
                    super::analysis::leaf(&c.path),
                    brief(&c.before),
                    brief(&c.after)
                )
            })
            .collect();
        let (stroke, sw) = if broken {
            ("#b00020", 2.5)
        } else if !hl.is_empty() {
            ("#c0392b", 1.5)
        } else {
            ("#557", 1.0)
        };
        let fill = if hl.is_empty() { "#fbfbf4" } else { "#fff0ee" };
        let _ = write!(
            s,
            r##"<rect class="box" x="{bx}" y="4" width="{BOX}" height="{bh}" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/><text x="{x}" y="18" text-anchor="middle" font-weight="bold">{up}</text>"##,
            bx = x - BOX / 2,
            bh = ROW - 8,
            up = esc(&clip(&super::svg::upstream_name(step), 28)),
        );
        let second = match hl.first() {
            Some(h) => {
                let more = if hl.len() > 1 {
                    format!(" (+{})", hl.len() - 1)
                } else {
                    String::new()
                };
                format!(
                    r##"<text x="{x}" y="32" text-anchor="middle" fill="#b00020" font-weight="bold">{}</text>"##,
                    esc(&clip(&format!("{h}{more}"), 34))
                )
            }
            None => format!(
                r##"<text x="{x}" y="32" text-anchor="middle" fill="#666">{}</text>"##,
                esc(&clip(&step.label, 34))
            ),
        };
        s.push_str(&second);
        s.push_str("</g>\n");
    }
    for m in &a.messages {
        let (fx, tx) = (x_of(a, &m.from), x_of(a, &m.to));
        let dir = if tx > fx { 1 } else { -1 };
        let x1 = fx + dir * BOX / 2;
        let to_resource = a
            .lifelines
            .iter()
            .any(|l| l.name == m.to && l.kind == "resource");
        let x2 = if to_resource { tx } else { tx - dir * BOX / 2 };
        let y1 = rows[m.sent] + ROW / 2;
        let y2 = rows[m.received] + ROW / 2;
        let hidden =
            collapsed && (fold_of(a, m.sent).is_some() || fold_of(a, m.received).is_some());
        let _ = writeln!(
            s,
            r##"<g class="arrow" data-from="{f}" data-to="{t}"{h}><title>{title}</title><line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#1f5fa8" stroke-width="1.4" marker-end="url(#ah)"/><text x="{lx}" y="{ly}" text-anchor="middle" fill="#1f5fa8" font-size="10" stroke="#fff" stroke-width="3" paint-order="stroke">{label}</text></g>"##,
            f = m.sent,
            t = m.received,
            h = if hidden { " display=\"none\"" } else { "" },
            title = esc(&format!(
                "{} → {} (step {} → {}) via {}",
                m.from,
                m.to,
                m.sent + 1,
                m.received + 1,
                m.via
            )),
            lx = (x1 + x2) / 2,
            ly = (y1 + y2) / 2 - 4,
            label = esc(&clip(&m.label, 28)),
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Shortens `text` to `n` characters with an ellipsis.
pub fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(n - 1).collect::<String>())
    }
}
