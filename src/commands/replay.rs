//! `vmrace replay TRACE`: re-executes a trace in simulation against the scenario it names.

use crate::error::{CliError, CliResult, EXIT_OK};
use crate::scenario::{Expected, Job, Scenario};
use sim::Trace;
use std::path::Path;

/// Loads a trace file, refusing anything that is not a vmrace trace.
pub fn load_trace(path: &Path) -> Result<Trace, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad_input(format!("{}: cannot read: {e}", path.display())))?;
    Trace::from_yaml(&text).map_err(|e| CliError::bad_input(format!("{}: {e}", path.display())))
}

/// The scenario and job a trace belongs to, from its context.
pub fn scenario_of(trace: &Trace, path: &Path) -> Result<(Scenario, Job), CliError> {
    let get = |k: &str| {
        trace.context.get(k).cloned().ok_or_else(|| {
            CliError::bad_input(format!(
                "{}: the trace's context lacks `{k}`",
                path.display()
            ))
        })
    };
    let scenario = Scenario::load(Path::new(&get("file")?))?;
    let job = Job {
        case: trace.context.get("case").cloned(),
        variant: get("variant")?,
        expected: Expected::Holds,
    };
    Ok((scenario, job))
}

/// Replays and prints the final observations.
pub fn run(path: &Path) -> CliResult {
    let trace = load_trace(path)?;
    let (scenario, job) = scenario_of(&trace, path)?;
    match scenario.replay(&job, &trace)? {
        Ok(observations) => {
            println!(
                "replayed {} steps of {} ({}): no divergence",
                trace.steps.len(),
                scenario.name,
                job.variant
            );
            for (k, v) in observations {
                println!("  {k} = {v}");
            }
            Ok(EXIT_OK)
        }
        Err(e) => Err(CliError::bad_input(format!("{}: {e}", path.display()))),
    }
}
