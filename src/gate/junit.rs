//! JUnit XML for CI systems (GitLab, GitHub, Jenkins): one `<testcase>` per scenario × case ×
//! variant, `classname` the scenario, `name` the variant (with ` [case]`), and on drift a
//! `<failure>` whose text holds expected/got, the trace story and the saved trace path.

use crate::commands::check::explain_drift;
use crate::error::CliError;
use crate::scenario::run::Run;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Escapes text for XML attributes and character data.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The `name` attribute of a run's testcase.
pub fn case_name(run: &Run) -> String {
    match &run.case {
        Some(c) => format!("{} [{c}]", run.variant),
        None => run.variant.clone(),
    }
}

/// Renders the document; `saved` maps a run's index to the trace files written for it.
pub fn render(runs: &[Run], saved: &BTreeMap<usize, Vec<PathBuf>>, timing: bool) -> String {
    let failures = runs
        .iter()
        .filter(|r| !r.matches() && !r.incomplete_error)
        .count();
    let errors = runs.iter().filter(|r| r.incomplete_error).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"vmrace check\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        runs.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"vmrace check\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        runs.len()
    );
    for (i, run) in runs.iter().enumerate() {
        let time = if timing {
            format!(" time=\"{:.3}\"", run.seconds)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"{time}",
            escape(&run.scenario),
            escape(&case_name(run)),
            escape(&run.file)
        );
        let paths = saved.get(&i).map(Vec::as_slice).unwrap_or(&[]);
        let saved_text: String = paths
            .iter()
            .map(|p| format!("saved trace: {}\n", p.display()))
            .collect();
        if run.incomplete_error {
            let _ = writeln!(
                out,
                ">\n      <error message=\"a bound cut a search that must be complete: {}\" type=\"incomplete\"/>\n    </testcase>",
                escape(&run.cuts.join(", "))
            );
        } else if !run.matches() {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"expected {}, got {}\" type=\"drift\">{}</failure>\n    </testcase>",
                escape(&run.expected.to_string()),
                escape(&run.got.to_string()),
                escape(&format!("{}{saved_text}", explain_drift(run)))
            );
        } else if !saved_text.is_empty() {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&saved_text)
            );
        } else {
            out.push_str("/>\n");
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Writes the document to `path`.
pub fn write(
    path: &Path,
    runs: &[Run],
    saved: &BTreeMap<usize, Vec<PathBuf>>,
    timing: bool,
) -> Result<(), CliError> {
    std::fs::write(path, render(runs, saved, timing))
        .map_err(|e| CliError::bad_input(format!("--junit {}: cannot write: {e}", path.display())))
}
