//! How each outcome of an outcome table comes about: per row and model column, the seed's
//! timing mark and, per outcome, the key steps of its shortest witness
//! ([`super::interleaving`]) with a link to the whole witness.

use super::markdown::md_esc;
use super::table::{ModelCell, Table};
use super::{esc, slug};
use std::fmt::Write;

/// Where the witness of (case, variant, outcome) is on the page, if it is there: the fragment
/// to link to, without `#`.
pub type WitnessLink<'a> = &'a dyn Fn(&str, &str, &str) -> Option<String>;

/// The id of an outcome's interleaving entry on a report page.
pub fn anchor(case: &str, variant: &str, outcome: &str) -> String {
    format!("how-{}-{}-{}", slug(case), slug(variant), slug(outcome))
}

fn cells(t: &Table) -> impl Iterator<Item = (&str, &ModelCell)> {
    t.rows.iter().flat_map(move |row| {
        row.iter().enumerate().filter_map(move |(k, c)| {
            c.model
                .as_ref()
                .map(|m| (t.columns.get(k).map_or("", String::as_str), m))
        })
    })
}

const INTRO: &str = "The key steps of each outcome's shortest witness, contrasted with the \
     other outcome witnesses of its row: steps of two actors that come in different orders in \
     two witnesses and write a common field somewhere (the contested field), every step that \
     writes a contested field, and the step after which the observed values hold (⇒). A cell \
     with one outcome shows the steps its row contrasts, or only its deciding step. Rule: \
     docs/reports.md, \"Outcome tables\".";

/// The section in Markdown (`level` is the heading level of its title).
pub fn markdown(t: &Table, link: WitnessLink, level: usize) -> String {
    let h = "#".repeat(level);
    let mut s = format!("{h} How each outcome comes about\n\n{}\n", md_esc(INTRO));
    for (column, m) in cells(t) {
        let _ = writeln!(
            s,
            "\n{h}# {} · {} ({})\n",
            md_esc(&m.case),
            md_esc(column),
            md_esc(&m.variant)
        );
        if let Some(sentence) = m.seed.as_ref().and_then(|c| c.timing_sentence()) {
            let _ = writeln!(s, "**⚠ {}.**\n", md_esc(&sentence));
        }
        if m.outcomes.is_empty() {
            s.push_str("No outcome witnesses (the run found violations instead).\n");
        }
        for o in &m.outcomes {
            let i = &o.interleaving;
            let witness = link(&m.case, &m.variant, &i.outcome)
                .map(|f| format!(" ([witness](#{f}))"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- <a id=\"{}\"></a>**{}**{witness}:",
                anchor(&m.case, &m.variant, &i.outcome),
                md_esc(&o.value)
            );
            for (n, line) in i.lines().iter().enumerate() {
                let _ = writeln!(s, "  {}. {}", n + 1, md_esc(line));
            }
        }
    }
    s
}

/// The section in HTML (`level` is the heading level of its title).
pub fn html(t: &Table, link: WitnessLink, level: usize) -> String {
    let (h, h2) = (level, level + 1);
    let mut s = format!(
        "<h{h}>How each outcome comes about</h{h}>\n<p>{}</p>\n",
        esc(INTRO)
    );
    for (column, m) in cells(t) {
        let _ = writeln!(
            s,
            "<h{h2}>{} · {} ({})</h{h2}>",
            esc(&m.case),
            esc(column),
            esc(&m.variant)
        );
        if let Some(sentence) = m.seed.as_ref().and_then(|c| c.timing_sentence()) {
            let _ = writeln!(s, "<p class=\"timing\">⚠ {}.</p>", esc(&sentence));
        }
        if m.outcomes.is_empty() {
            s.push_str("<p>No outcome witnesses (the run found violations instead).</p>\n");
            continue;
        }
        s.push_str("<ul>\n");
        for o in &m.outcomes {
            let i = &o.interleaving;
            let witness = link(&m.case, &m.variant, &i.outcome)
                .map(|f| format!(" (<a href=\"#{f}\">witness</a>)"))
                .unwrap_or_default();
            let _ = write!(
                s,
                "<li id=\"{}\"><b>{}</b>{witness}:<ol>",
                anchor(&m.case, &m.variant, &i.outcome),
                esc(&o.value)
            );
            for line in i.lines() {
                let _ = write!(s, "<li>{}</li>", esc(&line));
            }
            s.push_str("</ol></li>\n");
        }
        s.push_str("</ul>\n");
    }
    s
}
