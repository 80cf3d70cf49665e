//! The Markdown report for issue trackers and mailing lists: the story as a numbered list (the
//! changes that matter in bold) and a Mermaid `sequenceDiagram` block.

use super::analysis::{fold_of, is_highlighted, leaf};
use super::explain::explain;
use super::svg::upstream_name;
use super::{brief, short, Witness};
use std::fmt::Write;

/// A Mermaid participant id for a lifeline name.
pub fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn mermaid_text(text: &str) -> String {
    text.replace([';', '#'], ",").replace(['<', '>'], "")
}

/// Markdown-escapes table cell or inline text (`|`, `*`, `_`, `~`, backticks).
pub fn md_esc(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '|' | '*' | '_' | '~' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One witness as a Markdown section at heading `level`.
pub fn witness(w: &Witness, level: usize) -> String {
    let h = "#".repeat(level);
    let m = &w.meta;
    let mut s = String::new();
    let _ = writeln!(s, "{h} {}\n", md_esc(&w.heading()));
    let case = m
        .case
        .as_ref()
        .map(|c| format!(" · case **{}**", md_esc(c)))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "Scenario **{}**{case} · variant **{}** · verdict **{}**: {}\n",
        md_esc(&m.scenario),
        md_esc(&m.variant),
        m.verdict,
        md_esc(&m.what)
    );
    if let Some(means) = &m.means {
        let _ = writeln!(s, "> {}\n", md_esc(means));
    }
    let _ = writeln!(s, "**In short:** {}\n", md_esc(&explain(w).text()));
    s.push_str(&steps(w));
    s.push('\n');
    s.push_str(&mermaid(w));
    s
}

fn steps(w: &Witness) -> String {
    let a = &w.analysis;
    let mut s = String::new();
    if w.trace.steps.is_empty() {
        s.push_str("(the initial state: no steps)\n");
    }
    for (i, step) in w.trace.steps.iter().enumerate() {
        let up = step
            .upstream
            .as_ref()
            .map(|u| format!(" `{u}`"))
            .unwrap_or_default();
        let mark = if a.break_step == Some(i) {
            " — **✗ the property is found broken after this step**"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "{}. **{}**: {}{up}{mark}",
            i + 1,
            md_esc(&step.actor),
            md_esc(&step.label)
        );
        let pad = " ".repeat((i + 1).to_string().len() + 2);
        let mut others = 0;
        for (k, c) in step.changes.iter().enumerate() {
            if is_highlighted(a, i, k) {
                let _ = writeln!(
                    s,
                    "{pad}- **`{}`: {} → {}**",
                    c.path,
                    md_esc(&short(&c.before)),
                    md_esc(&short(&c.after))
                );
            } else {
                others += 1;
            }
        }
        if others > 0 {
            let _ = writeln!(
                s,
                "{pad}- {others} other change{}",
                if others == 1 { "" } else { "s" }
            );
        }
    }
    s
}

/// The Mermaid `sequenceDiagram` block: messages at their sending step (labelled with the
/// receiving step), a note per step outside folds, a note per fold.
pub fn mermaid(w: &Witness) -> String {
    let a = &w.analysis;
    let mut s = String::from("```mermaid\nsequenceDiagram\n");
    for l in &a.lifelines {
        let _ = writeln!(s, "    participant {} as {}", mermaid_id(&l.name), l.name);
    }
    let span = match (a.lifelines.first(), a.lifelines.last()) {
        (Some(f), Some(l)) => format!("{},{}", mermaid_id(&f.name), mermaid_id(&l.name)),
        _ => String::new(),
    };
    for (i, step) in w.trace.steps.iter().enumerate() {
        match fold_of(a, i) {
            Some(f) if a.folds[f].first == i && !span.is_empty() => {
                let fold = &a.folds[f];
                let _ = writeln!(
                    s,
                    "    Note over {span}: … steps {}–{}, nothing that matters changes",
                    fold.first + 1,
                    fold.last + 1
                );
            }
            Some(_) => {}
            None => {
                let hl: Vec<String> = step
                    .changes
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| is_highlighted(a, i, *k))
                    .map(|(_, c)| {
                        format!(
                            "{}: {} → {}",
                            leaf(&c.path),
                            brief(&c.before),
                            brief(&c.after)
                        )
                    })
                    .collect();
                let mut text = format!("{}. {}", i + 1, upstream_name(step));
                if !hl.is_empty() {
                    let _ = write!(text, " ⚑ {}", hl.join(", "));
                }
                if a.break_step == Some(i) {
                    text.push_str(" ✗ broken");
                }
                let _ = writeln!(
                    s,
                    "    Note over {}: {}",
                    mermaid_id(&step.actor),
                    mermaid_text(&text)
                );
            }
        }
        for m in a.messages.iter().filter(|m| m.sent == i) {
            let at = if m.received == m.sent {
                String::new()
            } else {
                format!(" (→ step {})", m.received + 1)
            };
            let _ = writeln!(
                s,
                "    {}->>{}: {}{at}",
                mermaid_id(&m.from),
                mermaid_id(&m.to),
                mermaid_text(&m.label)
            );
        }
    }
    s.push_str("```\n");
    s
}

/// A standalone Markdown report of one witness.
pub fn report(w: &Witness) -> String {
    let mut s = format!("# {}\n\n", md_esc(&w.meta.title));
    s.push_str(&witness(w, 2));
    s
}
