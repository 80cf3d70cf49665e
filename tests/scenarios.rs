//! The bundled scenarios: each gets its expected verdict, the outcome table of every scenario is
//! pinned by an insta snapshot, results do not depend on the thread count, and the examples in
//! docs/scenarios.md are the bundled files verbatim.

use std::path::{Path, PathBuf};
use vmrace::scenario::run::Got;
use vmrace::scenario::Scenario;

fn bundled() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 11, "bundled scenarios missing: {files:?}");
    files
}

/// One line per scenario × case × variant: what a reviewer needs to see change.
fn table(path: &Path, jobs: usize) -> String {
    let scenario = Scenario::load(path).expect("bundled scenarios load");
    let mut out = String::new();
    for job in scenario.jobs().expect("jobs") {
        let run = scenario.run(&job, jobs).expect("runs");
        let got = match &run.got {
            Got::Outcomes(o) => o.join(" | "),
            verdict => verdict.to_string(),
        };
        out.push_str(&format!(
            "{} | {} | expected {} | got {} | complete {} | states {} | violated [{}]\n",
            job.case.as_deref().unwrap_or("-"),
            job.variant,
            job.expected,
            got,
            run.complete,
            run.states,
            run.broken
                .iter()
                .map(|b| b.property.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ));
        assert!(
            run.matches(),
            "{}: {} {:?} drifted: {}",
            scenario.name,
            job.variant,
            job.case,
            got
        );
    }
    out
}

#[test]
fn every_bundled_scenario_gets_its_expected_verdicts_and_outcome_tables_are_pinned() {
    for path in bundled() {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(name, table(&path, 1));
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for path in bundled() {
        assert_eq!(table(&path, 1), table(&path, 3), "{}", path.display());
    }
}

#[test]
fn every_violation_and_outcome_trace_replays_to_its_end() {
    for path in bundled() {
        let scenario = Scenario::load(&path).expect("loads");
        for job in scenario.jobs().expect("jobs") {
            let run = scenario.run(&job, 1).expect("runs");
            let traces = run
                .broken
                .iter()
                .map(|b| &b.trace)
                .chain(run.outcomes.iter().map(|o| &o.trace));
            for trace in traces {
                let text = trace.to_yaml();
                let back = sim::Trace::from_yaml(&text).expect("round trip");
                let replayed = scenario.replay(&job, &back).expect("model builds");
                assert!(replayed.is_ok(), "{}: {:?}", path.display(), replayed.err());
            }
        }
    }
}

#[test]
fn docs_examples_are_the_bundled_files_verbatim() {
    let doc = std::fs::read_to_string("docs/scenarios.md").expect("docs/scenarios.md");
    let mut checked = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let block = block.split("```").next().expect("closed block");
        let Some(name) = block.lines().next().and_then(|l| l.strip_prefix("# ")) else {
            continue;
        };
        let body = &block[block.find('\n').expect("newline") + 1..];
        let file = std::fs::read_to_string(name).unwrap_or_else(|_| panic!("{name} exists"));
        assert_eq!(body, file, "docs/scenarios.md's copy of {name} is stale");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} examples found");
}
