//! `vmrace list`: the models with their variant axes, and the scenarios with their variants.

use crate::error::{CliResult, EXIT_OK};
use crate::scenario::{file, models, Scenario};
use std::path::PathBuf;

/// Prints models and scenarios.
pub fn run(paths: &[PathBuf]) -> CliResult {
    println!("models:");
    for m in models() {
        println!("  {} — {}", m.name, m.summary);
        for axis in &m.axes {
            println!("    {}:", axis.key);
            for (value, meaning) in &axis.values {
                println!("      {value:<34} {meaning}");
            }
        }
    }
    println!("\nscenarios:");
    for path in file::discover(paths)? {
        let s = Scenario::load(&path)?;
        let jobs = s.jobs()?;
        let mut variants: Vec<&str> = jobs.iter().map(|j| j.variant.as_str()).collect();
        variants.dedup();
        variants.sort();
        variants.dedup();
        println!("  {} ({}) — {}", s.name, path.display(), s.file.title);
        println!(
            "    model {}, variants: {}",
            s.file.model,
            variants.join(", ")
        );
        if let Some(cases) = &s.file.cases {
            println!(
                "    cases: {}",
                cases
                    .0
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        println!("    source: {}", s.file.source.join("; "));
    }
    Ok(EXIT_OK)
}
