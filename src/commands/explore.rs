//! `vmrace explore`: every distinct outcome of a scenario, each with a witness trace, and every
//! violation with its counterexample.

use crate::error::{CliError, CliResult, EXIT_OK};
use crate::progress::Progress;
use crate::report::interleaving;
use crate::report::table::seed_of_run;
use crate::scenario::Scenario;
use crate::story::story;
use crate::{out, outln};
use std::path::Path;

/// Explores the scenario's variants (all, or the one named) and prints what happens.
/// With `report`, also writes an HTML and a Markdown report per witness into that directory.
pub fn run(
    path: &Path,
    variant: Option<&str>,
    case: Option<&str>,
    jobs: usize,
    report: Option<&Path>,
) -> CliResult {
    let scenario = Scenario::load(path)?;
    let all = scenario.jobs()?;
    let selected: Vec<_> = all
        .iter()
        .filter(|j| variant.is_none_or(|v| j.variant == v))
        .filter(|j| case.is_none_or(|c| j.case.as_deref() == Some(c)))
        .collect();
    if selected.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: no variant/case matches (variants: {}; cases: {})",
            path.display(),
            unique(all.iter().map(|j| j.variant.clone())),
            unique(all.iter().filter_map(|j| j.case.clone()))
        )));
    }
    outln!("{} — {}", scenario.name, scenario.file.title)?;
    for job in selected {
        let progress = Progress::start(&format!("{} {}", scenario.name, job.variant));
        let run = scenario.run_watched(job, jobs, progress.live())?;
        progress.finish();
        if let Some(dir) = report {
            crate::report::bundle::write_witness_reports(dir, &scenario, &run)?;
        }
        let head = match &job.case {
            Some(c) => format!("case `{c}`, variant `{}`", job.variant),
            None => format!("variant `{}`", job.variant),
        };
        outln!(
            "\n== {head}: {} states, {}{}",
            run.states,
            if run.complete { "exhaustive" } else { "cut: " },
            run.cuts.join(", ")
        )?;
        if let Some(sentence) = seed_of_run(&scenario, &run).and_then(|c| c.timing_sentence()) {
            outln!("⚠ {sentence}")?;
        }
        let interleavings = interleaving::of_run(&run);
        for (o, i) in run.outcomes.iter().zip(&interleavings) {
            outln!(
                "\noutcome `{}` ({} terminal states); key steps:",
                o.name,
                o.count
            )?;
            for line in i.lines() {
                outln!("  - {line}")?;
            }
            outln!("shortest witness:")?;
            out!("{}", story(&o.trace))?;
        }
        for b in &run.broken {
            outln!("\nviolated `{}` ({}):", b.property, b.kind)?;
            if let Some(m) = &b.means {
                outln!("  {m}")?;
            }
            out!("{}", story(&b.trace))?;
        }
        if run.broken.is_empty() {
            outln!("\nno property violated")?;
        }
    }
    Ok(EXIT_OK)
}

fn unique(names: impl Iterator<Item = String>) -> String {
    let mut v: Vec<String> = names.collect();
    v.dedup();
    v.join(", ")
}
