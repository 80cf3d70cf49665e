//! `vmrace list`: the models with their variant axes, and the scenarios with their variants.

use crate::error::{CliResult, EXIT_OK};
use crate::outln;
use crate::scenario::{file, models, Scenario};
use std::path::PathBuf;

/// Prints models and scenarios.
pub fn run(paths: &[PathBuf]) -> CliResult {
    outln!("models:")?;
    for m in models() {
        outln!("  {} — {}", m.name, m.summary)?;
        for axis in &m.axes {
            outln!("    {}:", axis.key)?;
            for (value, meaning) in &axis.values {
                outln!("      {value:<34} {meaning}")?;
            }
        }
    }
    outln!("\nscenarios:")?;
    for path in file::discover(paths)? {
        let s = Scenario::load(&path)?;
        let jobs = s.jobs()?;
        let mut variants: Vec<&str> = jobs.iter().map(|j| j.variant.as_str()).collect();
        variants.dedup();
        variants.sort();
        variants.dedup();
        outln!("  {} ({}) — {}", s.name, path.display(), s.file.title)?;
        outln!(
            "    model {}, variants: {}",
            s.file.model,
            variants.join(", ")
        )?;
        if let Some(cases) = &s.file.cases {
            outln!(
                "    cases: {}",
                cases
                    .0
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )?;
        }
        outln!("    source: {}", s.file.source.join("; "))?;
    }
    Ok(EXIT_OK)
}
