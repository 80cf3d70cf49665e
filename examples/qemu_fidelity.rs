//! Replays every witness trace (violations and outcomes) of lifecycle
//! scenarios with real QEMU, `--runs N` times each, and prints the agreement
//! per scenario, case, variant and witness (one JSON line each).
//!
//! `cargo run --example qemu_fidelity -- [--runs N] [--case NAME] [--variant V] [--source TEXT] SCENARIO.yaml...`
//! (`--source` keeps the witnesses whose name contains TEXT).

use std::path::Path;
use std::time::Instant;

use vmrace::real::qemu_replay;
use vmrace::scenario::Scenario;

fn main() {
    let mut runs = 1usize;
    let mut case_filter: Option<String> = None;
    let mut variant_filter: Option<String> = None;
    let mut source_filter = String::new();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--case" => case_filter = args.next(),
            "--variant" => variant_filter = args.next(),
            "--source" => source_filter = args.next().expect("--source TEXT"),
            _ => files.push(a),
        }
    }
    let mut failed = false;
    for f in files {
        let scenario = Scenario::load(Path::new(&f)).unwrap_or_else(|e| panic!("{}", e.message));
        for job in scenario.jobs().unwrap_or_else(|e| panic!("{}", e.message)) {
            let wrong_variant = variant_filter.as_ref().is_some_and(|v| *v != job.variant);
            if case_filter.is_some() && job.case != case_filter || wrong_variant {
                continue;
            }
            let run = scenario
                .run(&job, 1)
                .unwrap_or_else(|e| panic!("{}", e.message));
            let mut traces: Vec<(String, sim::Trace)> = run
                .broken
                .iter()
                .map(|b| (format!("violation: {}", b.property), b.trace.clone()))
                .collect();
            traces.extend(
                run.outcomes
                    .iter()
                    .map(|o| (format!("outcome: {}", o.name), o.trace.clone())),
            );
            for (what, trace) in traces
                .into_iter()
                .filter(|(w, _)| w.contains(&source_filter))
            {
                let mut agreed = 0;
                let mut accel = String::new();
                let started = Instant::now();
                let mut last = None;
                for _ in 0..runs {
                    match qemu_replay::replay(&scenario, &job, &trace) {
                        Ok(o) => {
                            agreed += usize::from(o.agreed);
                            accel = o
                                .environment
                                .get("accelerator")
                                .cloned()
                                .unwrap_or_default();
                            last = Some(o);
                        }
                        Err(e) => {
                            eprintln!("{}: {what}: {}", scenario.name, e.message);
                            failed = true;
                        }
                    }
                }
                println!(
                    "{}",
                    serde_json::json!({
                        "scenario": scenario.name, "case": job.case, "variant": job.variant,
                        "source": what, "runs": runs, "agreed": agreed, "accelerator": accel,
                        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                    })
                );
                if let Some(o) = last {
                    if !o.agreed || std::env::var_os("VMRACE_SHOW").is_some() {
                        eprintln!("{}", o.to_markdown());
                    }
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
