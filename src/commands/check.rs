//! `vmrace check`: every scenario × case × variant, compared with what the scenario expects.

use crate::commands::table::{self, Columns};
use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_INCOMPLETE, EXIT_OK};
use crate::gate::{fixtures, junit, GateOptions};
use crate::out::{paint, Tone};
use crate::progress::Progress;
use crate::report::interleaving::{self, Interleaving};
use crate::report::table::{seed_of_run, SeedCheck};
use crate::scenario::locate::Step;
use crate::scenario::run::Run;
use crate::scenario::{file, Job, Scenario};
use crate::story::story;
use crate::{errln, outln};
use serde::Serialize;
use std::collections::BTreeMap;
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
    /// Index of this job in the fixed scenario × case × variant order (what `merge` sorts by).
    pub job: usize,
    /// Number of jobs in the unsharded run.
    pub of: usize,
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
    /// The bounds that cut the search (absent when none did).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub cuts: &'a [String],
    /// A bound cut a search the scenario marks `must_complete` (exit 3; absent when not).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub must_complete_cut: bool,
    /// Distinct states.
    pub states: u64,
    /// Each outcome's key steps, contrasted with the job's other outcomes (absent when the job
    /// has no outcome witnesses; the rule is in docs/reports.md).
    #[serde(skip_serializing_if = "<[Interleaving]>::is_empty")]
    pub interleavings: &'a [Interleaving],
    /// The seed's value for this case × variant against the outcome set, when the scenario's
    /// `table:` gives one (`seed.timing_dependent`: the seed gives one value, the model more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<&'a SeedCheck>,
    /// Seconds (not part of determinism guarantees; absent with `--no-timing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

/// Loads every scenario under `paths` (all of them, so bad input is reported before any run).
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, CliError> {
    let files = file::discover(paths)?;
    if files.is_empty() {
        return Err(CliError::bad_input("no scenario files (*.yaml) found"));
    }
    // Every bad file is reported, not just the first.
    let (good, bad): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|f| Scenario::load(f))
        .partition(Result::is_ok);
    let mut messages: Vec<String> = bad
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.message)
        .collect();
    let scenarios: Vec<Scenario> = good.into_iter().flatten().collect();
    messages.extend(duplicate_names(&scenarios));
    if messages.is_empty() {
        Ok(scenarios)
    } else {
        Err(CliError::bad_input(messages.join("\n")))
    }
}

/// One message per scenario whose name an earlier file already has: traces, JUnit cases and
/// reports are named after scenarios, so names must differ within a run.
fn duplicate_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut first: BTreeMap<&str, &Scenario> = BTreeMap::new();
    let mut messages = Vec::new();
    for s in scenarios {
        match first.get(s.name.as_str()) {
            Some(earlier) => {
                let given = s.file.name.is_some();
                let place = s.place_of(&[Step::key("name")]);
                let what = if given { "" } else { " (its file name)" };
                messages.push(format!(
                    "{place}: scenario name `{}`{what} is also the name of {}; scenario names \
                     must differ within a run",
                    s.name,
                    earlier.path.display()
                ));
            }
            None => {
                first.insert(&s.name, s);
            }
        }
    }
    messages
}

/// A hash of everything a run found that must not depend on timing or thread count: verdicts,
/// state counts, and every trace byte for byte.
pub fn results_hash(runs: &[Run]) -> u64 {
    let mut text = String::new();
    for r in runs {
        text.push_str(&format!(
            "{} {:?} {} {} {} {} {:?}\n",
            r.scenario, r.case, r.variant, r.got, r.complete, r.states, r.cuts
        ));
        for b in &r.broken {
            text.push_str(&b.trace.to_yaml());
        }
        for o in &r.outcomes {
            text.push_str(&format!("{} {}\n", o.name, o.count));
            text.push_str(&o.trace.to_yaml());
        }
    }
    sim::fingerprint(&text)
}

/// Runs the same jobs again with another thread count and compares [`results_hash`]es.
fn check_determinism(
    work: &[(&Scenario, Job)],
    runs: &[Run],
    jobs: usize,
) -> Result<bool, CliError> {
    let other = if jobs == 1 { 2 } else { 1 };
    let mut again = Vec::new();
    for (scenario, job) in work {
        again.push(scenario.run(job, other)?);
    }
    let (a, b) = (results_hash(runs), results_hash(&again));
    errln!(
        "determinism: --jobs {jobs} gave {}, --jobs {other} gave {}: {}",
        sim::format_fingerprint(a),
        sim::format_fingerprint(b),
        if a == b { "identical" } else { "DIFFERENT" }
    );
    Ok(a == b)
}

/// Runs the check.
pub fn run(paths: &[PathBuf], format: Format, jobs: usize, gate: &GateOptions) -> CliResult {
    let scenarios = load_all(paths)?;
    let replay_failures = match &gate.traces {
        Some(dir) => fixtures::verify_all(dir)?,
        None => 0,
    };
    let mut work = Vec::new();
    for scenario in &scenarios {
        for job in scenario.jobs()? {
            work.push((scenario, job));
        }
    }
    let of = work.len();
    if let Some(shard) = gate.shard.filter(|s| s.index >= of) {
        return Err(CliError::bad_input(format!(
            "--shard {shard}: the run has only {of} jobs, so this shard would check nothing \
             (and print nothing for merge); use at most {of} shards"
        )));
    }
    let mut runs = Vec::new();
    let mut saved = BTreeMap::new();
    let columns = Columns::fit(work.iter().map(|(s, j)| (*s, j)));
    if format == Format::Table {
        outln!("{}", columns.header())?;
    }
    let mut mine = Vec::new();
    for (k, (scenario, job)) in work.into_iter().enumerate() {
        if gate.shard.is_some_and(|s| !s.owns(k)) {
            continue;
        }
        let progress = Progress::start(&format!("{} {}", scenario.name, job.variant));
        let run = scenario.run_watched(&job, jobs, progress.live())?;
        progress.finish();
        if let Some(dir) = &gate.report {
            crate::report::bundle::write_witness_reports(dir, scenario, &run)?;
        }
        print_row(scenario, &run, format, &columns, (k, of), !gate.no_timing)?;
        if let Some(dir) = &gate.save_traces {
            let written = fixtures::save(dir, &run)?;
            if !written.is_empty() {
                saved.insert(runs.len(), written);
            }
        }
        runs.push(run);
        mine.push((scenario, job));
    }
    if let Some(path) = &gate.junit {
        junit::write(path, &runs, &saved, !gate.no_timing)?;
    }
    // A cut search the scenario requires to be complete is exit 3, not drift.
    let drifted: Vec<&Run> = runs
        .iter()
        .filter(|r| !r.matches() && !r.incomplete_error)
        .collect();
    for run in runs.iter().filter(|r| r.incomplete_error) {
        errln!(
            "\n{} {} variant {}: a bound cut a search that must be complete ({}); raise \
             the scenario's search bounds or set must_complete: false",
            paint("INCOMPLETE", Tone::Warn),
            run.scenario,
            run.variant,
            run.cuts.join(", ")
        );
    }
    for run in &drifted {
        let text = explain_drift(run);
        let rest = text.strip_prefix("DRIFT").unwrap_or(&text);
        errln!("\n{}{rest}", paint("DRIFT", Tone::Bad));
    }
    let incomplete = runs.iter().any(|r| r.incomplete_error);
    let deterministic = !gate.check_determinism || check_determinism(&mine, &runs, jobs)?;
    if format == Format::Table {
        let cut = runs.iter().filter(|r| r.incomplete_error).count();
        outln!()?;
        outln!("{}", table::summary(runs.len(), drifted.len(), cut))?;
    }
    Ok(
        if !drifted.is_empty() || replay_failures > 0 || !deterministic {
            EXIT_DRIFT
        } else if incomplete {
            EXIT_INCOMPLETE
        } else {
            EXIT_OK
        },
    )
}

fn print_row(
    scenario: &Scenario,
    run: &Run,
    format: Format,
    columns: &Columns,
    (job, of): (usize, usize),
    timing: bool,
) -> Result<(), CliError> {
    let seed = seed_of_run(scenario, run);
    match format {
        Format::Json => {
            let interleavings = interleaving::of_run(run);
            let line = Line {
                job,
                of,
                scenario: &run.scenario,
                source: &run.source,
                case: run.case.as_deref(),
                variant: &run.variant,
                expected: run.expected.to_string(),
                got: &run.got,
                ok: run.matches(),
                complete: run.complete,
                cuts: &run.cuts,
                must_complete_cut: run.incomplete_error,
                states: run.states,
                interleavings: &interleavings,
                seed: seed.as_ref(),
                seconds: timing.then_some(run.seconds),
            };
            outln!("{}", serde_json::to_string(&line).expect("JSON"))?;
        }
        Format::Table => outln!("{}", columns.row(run, seed.as_ref()))?,
    }
    Ok(())
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
        out.push_str(if run.complete {
            "no property is violated in any reachable state\n"
        } else {
            "no violation found, but the search was cut by a bound (see `got`)\n"
        });
    }
    out
}
