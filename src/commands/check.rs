//! `vmrace check`: every scenario × case × variant, compared with what the scenario expects.

use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_INCOMPLETE, EXIT_OK};
use crate::progress::Progress;
use crate::scenario::run::Run;
use crate::scenario::{file, Scenario};
use crate::story::story;
use serde::Serialize;
use std::path::PathBuf;

/// How `check` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON object per scenario × variant per line.
    Json,
}

/// One JSON line of `check --format json`.
#[derive(Serialize)]
pub struct Line<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// Scenario sources.
    pub source: &'a [String],
    /// Matrix case, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<&'a str>,
    /// Variant.
    pub variant: &'a str,
    /// Expected verdict.
    pub expected: String,
    /// What was found: `holds`, `violated`, `no violation within …`, or the outcomes.
    pub got: &'a crate::scenario::run::Got,
    /// Whether it matched.
    pub ok: bool,
    /// Whether the search was exhaustive.
    pub complete: bool,
    /// Distinct states.
    pub states: u64,
    /// Seconds (not part of determinism guarantees).
    pub seconds: f64,
}

/// Loads every scenario under `paths` (all of them, so bad input is reported before any run).
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, CliError> {
    let files = file::discover(paths)?;
    if files.is_empty() {
        return Err(CliError::bad_input("no scenario files (*.yaml) found"));
    }
    files.iter().map(|f| Scenario::load(f)).collect()
}

/// Runs the check; with `report`, also writes an HTML and a Markdown report per witness there.
pub fn run(
    paths: &[PathBuf],
    format: Format,
    jobs: usize,
    report: Option<&std::path::Path>,
) -> CliResult {
    let scenarios = load_all(paths)?;
    let mut runs = Vec::new();
    if format == Format::Table {
        println!(
            "{:<34} {:<28} {:<34} {:<22} {:<22} {:>9} {:>7}",
            "scenario", "case", "variant", "expected", "got", "states", "secs"
        );
    }
    for scenario in &scenarios {
        for job in scenario.jobs()? {
            let progress = Progress::start(&format!("{} {}", scenario.name, job.variant));
            let run = scenario.run(&job, jobs)?;
            progress.finish();
            if let Some(dir) = report {
                crate::report::bundle::write_witness_reports(dir, scenario, &run)?;
            }
            print_row(&run, format);
            runs.push(run);
        }
    }
    let drifted: Vec<&Run> = runs.iter().filter(|r| !r.matches()).collect();
    for run in &drifted {
        eprintln!("\n{}", explain_drift(run));
    }
    let incomplete = runs.iter().any(|r| r.incomplete_error);
    if format == Format::Table {
        eprintln!(
            "\n{} checked, {} as expected, {} drifted",
            runs.len(),
            runs.len() - drifted.len(),
            drifted.len()
        );
    }
    Ok(if !drifted.is_empty() {
        EXIT_DRIFT
    } else if incomplete {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    })
}

fn print_row(run: &Run, format: Format) {
    match format {
        Format::Json => {
            let line = Line {
                scenario: &run.scenario,
                source: &run.source,
                case: run.case.as_deref(),
                variant: &run.variant,
                expected: run.expected.to_string(),
                got: &run.got,
                ok: run.matches(),
                complete: run.complete,
                states: run.states,
                seconds: run.seconds,
            };
            println!("{}", serde_json::to_string(&line).expect("JSON"));
        }
        Format::Table => {
            let mark = if run.matches() { "" } else { "  ← DRIFT" };
            println!(
                "{:<34} {:<28} {:<34} {:<22} {:<22} {:>9} {:>7.2}{mark}",
                run.scenario,
                run.case.as_deref().unwrap_or("-"),
                run.variant,
                clip(&run.expected.to_string(), 22),
                clip(&run.got.to_string(), 22),
                run.states,
                run.seconds
            );
        }
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Says what drifted and prints the trace that shows it.
pub fn explain_drift(run: &Run) -> String {
    let place = match &run.case {
        Some(c) => format!("{} [{c}] variant {}", run.scenario, run.variant),
        None => format!("{} variant {}", run.scenario, run.variant),
    };
    let mut out = format!(
        "DRIFT in {place} ({}): expected {}, got {}\n",
        run.file, run.expected, run.got
    );
    if let Some(b) = run.broken.first() {
        out.push_str(&format!(
            "violated `{}`; trace:\n{}",
            b.property,
            story(&b.trace)
        ));
    } else if let crate::scenario::Expected::Outcomes(want) = &run.expected {
        for o in run.outcomes.iter().filter(|o| !want.contains(&o.name)) {
            out.push_str(&format!(
                "unexpected outcome `{}`; trace:\n{}",
                o.name,
                story(&o.trace)
            ));
        }
        for w in want
            .iter()
            .filter(|w| !run.outcomes.iter().any(|o| &o.name == *w))
        {
            out.push_str(&format!("expected outcome `{w}` is not reachable\n"));
        }
    } else {
        out.push_str("no property is violated in any reachable state\n");
    }
    out
}
