//! The table `vmrace check` prints: columns as wide as the jobs need (known before any search
//! runs), so no cell is ever cut; marks coloured on a terminal.

use crate::out::{paint, Tone};
use crate::report::table::SeedCheck;
use crate::scenario::run::Run;
use crate::scenario::{Job, Scenario};
use unicode_width::UnicodeWidthStr;

/// Column widths of one run's table.
pub struct Columns {
    scenario: usize,
    case: usize,
    variant: usize,
    verdict: usize,
}

impl Columns {
    /// Widths that fit every job's scenario, case, variant and expected verdict (the `got`
    /// column is as wide as `expected`; a drifted `got` longer than that widens its own row).
    pub fn fit<'a>(jobs: impl IntoIterator<Item = (&'a Scenario, &'a Job)>) -> Columns {
        let mut c = Columns {
            scenario: "scenario".len(),
            case: "case".len(),
            variant: "variant".len(),
            verdict: "expected".len(),
        };
        for (scenario, job) in jobs {
            c.scenario = c.scenario.max(scenario.name.width());
            c.case = c.case.max(job.case.as_deref().unwrap_or("-").width());
            c.variant = c.variant.max(job.variant.width());
            c.verdict = c.verdict.max(job.expected.to_string().width());
        }
        c
    }

    /// The header line.
    pub fn header(&self) -> String {
        self.line(
            ["scenario", "case", "variant", "expected", "got"],
            "states",
            "secs",
        )
    }

    /// One job's line: its cells whole, then its marks.
    pub fn row(&self, run: &Run, seed: Option<&SeedCheck>) -> String {
        let (expected, got) = (run.expected.to_string(), run.got.to_string());
        let cells = [
            run.scenario.as_str(),
            run.case.as_deref().unwrap_or("-"),
            run.variant.as_str(),
            expected.as_str(),
            got.as_str(),
        ];
        let mut line = self.line(
            cells,
            &run.states.to_string(),
            &format!("{:.2}", run.seconds),
        );
        if run.incomplete_error {
            let mark = format!("← INCOMPLETE (cut: {})", run.cuts.join(", "));
            line.push_str(&format!("  {}", paint(&mark, Tone::Warn)));
        } else if !run.matches() {
            line.push_str(&format!("  {}", paint("← DRIFT", Tone::Bad)));
        } else if !run.cuts.is_empty() {
            line.push_str(&format!("  (cut: {})", run.cuts.join(", ")));
        }
        if let Some(c) = seed.filter(|c| c.timing_dependent) {
            let mark = format!("⚠ timing-dependent (seed: {}; model: {})", c.seed, c.set());
            line.push_str(&format!("  {}", paint(&mark, Tone::Warn)));
        }
        line
    }

    fn line(&self, cells: [&str; 5], states: &str, secs: &str) -> String {
        let widths = [
            self.scenario,
            self.case,
            self.variant,
            self.verdict,
            self.verdict,
        ];
        let mut out = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            out.push_str(cell);
            out.push_str(&" ".repeat(width.saturating_sub(cell.width()) + 2));
        }
        out.push_str(&format!("{states:>9} {secs:>7}"));
        out
    }
}

/// The summary line: counts, coloured by what they say.
pub fn summary(checked: usize, drifted: usize, incomplete: usize) -> String {
    let as_expected = checked - drifted - incomplete;
    let tone = |n: usize, bad: Tone| if n == 0 { Tone::Good } else { bad };
    format!(
        "{checked} checked, {}, {}, {}",
        paint(&format!("{as_expected} as expected"), Tone::Good),
        paint(&format!("{drifted} drifted"), tone(drifted, Tone::Bad)),
        paint(
            &format!("{incomplete} incomplete"),
            tone(incomplete, Tone::Warn)
        ),
    )
}
