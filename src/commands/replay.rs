//! `vmrace replay TRACE`: re-executes a trace in simulation against the scenario it names (found
//! relative to the trace, and checked to be the one the trace was made from), and says whether
//! the trace's property is still violated at its end.

use crate::error::{CliError, CliResult, EXIT_OK};
use crate::outln;
use crate::scenario::verify::{self, PropertyStatus};
use sim::Trace;
use std::path::Path;

/// Loads a trace file, refusing anything that is not a vmrace trace.
pub fn load_trace(path: &Path) -> Result<Trace, CliError> {
    let text = crate::input::read_text(path, crate::input::Kind::Trace)?;
    parse_trace(path, &text)
}

/// Parses trace `text` read from `path` (named in errors); never panics, whatever the text.
pub fn parse_trace(path: &Path, text: &str) -> Result<Trace, CliError> {
    Trace::from_yaml(text).map_err(|e| CliError::bad_input(format!("{}: {e}", path.display())))
}

/// Replays and prints the final observations and the property's status.
pub fn run(path: &Path) -> CliResult {
    let trace = load_trace(path)?;
    let v = verify::verify(&trace, path)?;
    outln!(
        "replayed {} steps of {} ({}): no divergence",
        trace.steps.len(),
        v.scenario.name,
        v.job.variant
    )?;
    if let Some(p) = &trace.property {
        match v.status {
            PropertyStatus::Violated => outln!("property `{p}`: still violated at the end")?,
            _ => outln!("property `{p}`: NOT violated at the end of this trace")?,
        }
    }
    for (k, value) in v.observations {
        outln!("  {k} = {value}")?;
    }
    Ok(EXIT_OK)
}
