//! `vmrace bench`: runs benchmark configurations and prints JSON lines or a table.

use crate::bench;
use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_OK};
use crate::{errln, out, outln};
use sim::Reduction;

/// Runs the configuration given, or the default suite; exit 1 if a count differs from the
/// reference.
pub fn run(
    model: Option<String>,
    params: Option<String>,
    reduction: Reduction,
    jobs: usize,
    json: bool,
    stop_at_first: bool,
    implementation: bench::Implementation,
) -> CliResult {
    if jobs == 0 {
        return Err(CliError::bad_input("--jobs must be at least 1"));
    }
    let configs = match (model, params) {
        (Some(model), Some(params)) => vec![bench::Config {
            model,
            params,
            reduction,
            jobs,
            stop_at_first,
            implementation,
        }],
        _ => bench::default_suite(jobs, implementation),
    };
    let mut rows = Vec::new();
    let mut mismatch = false;
    for config in &configs {
        let m = bench::run(config)?;
        mismatch |= m.reference_match == Some(false);
        if json {
            outln!("{}", serde_json::to_string(&m).expect("JSON"))?;
        } else {
            crate::out::write_stderr(format_args!("."));
        }
        rows.push(m);
    }
    if !json {
        errln!();
        out!("{}", bench::table(&rows))?;
    }
    Ok(if mismatch { EXIT_DRIFT } else { EXIT_OK })
}
