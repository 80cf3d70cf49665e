//! `vmrace merge FILES...`: combines the `check --format json --no-timing --shard I/N` outputs
//! of every shard into the lines the unsharded run prints, in the same order, byte for byte.
//!
//! Every line carries `job` (its index in the fixed scenario × case × variant order) and `of`
//! (the number of jobs); merge sorts by `job`, refuses duplicates, gaps and mixed `of`, and
//! prints the lines unchanged. Exit code as `check`: 1 if a line has `ok: false` (and was not
//! cut), else 3 if one has `must_complete_cut: true`, else 0; 2 for bad input.

use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_INCOMPLETE, EXIT_OK};
use crate::outln;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Merges the files' lines; returns them in job order with the exit code.
pub fn merge(files: &[PathBuf]) -> Result<(Vec<String>, i32), CliError> {
    if files.is_empty() {
        return Err(CliError::bad_input("merge: give the shards' JSON files"));
    }
    let mut lines: BTreeMap<u64, String> = BTreeMap::new();
    let mut total: Option<u64> = None;
    let (mut drift, mut cut) = (false, false);
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::bad_input(format!("{}: cannot read: {e}", file.display())))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{}:{}", file.display(), n + 1);
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                CliError::bad_input(format!(
                    "{at}: not a JSON line of `check --format json`: {e}"
                ))
            })?;
            let field = |k: &str| {
                value.get(k).and_then(|v| v.as_u64()).ok_or_else(|| {
                    CliError::bad_input(format!(
                        "{at}: no `{k}` number (produce shards with `check --format json`)"
                    ))
                })
            };
            let (job, of) = (field("job")?, field("of")?);
            if *total.get_or_insert(of) != of {
                return Err(CliError::bad_input(format!(
                    "{at}: `of` is {of} but earlier lines say {}: shards of different runs",
                    total.unwrap_or_default()
                )));
            }
            let this_cut = value.get("must_complete_cut").and_then(|v| v.as_bool()) == Some(true);
            drift |= !this_cut && value.get("ok").and_then(|v| v.as_bool()) == Some(false);
            cut |= this_cut;
            if lines.insert(job, line.to_string()).is_some() {
                return Err(CliError::bad_input(format!(
                    "{at}: job {job} appears twice"
                )));
            }
        }
    }
    let total = total.unwrap_or_default();
    if let Some(missing) = (0..total).find(|k| !lines.contains_key(k)) {
        return Err(CliError::bad_input(format!(
            "job {missing} of {total} is in none of the files: a shard is missing"
        )));
    }
    let code = if drift {
        EXIT_DRIFT
    } else if cut {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    };
    Ok((lines.into_values().collect(), code))
}

/// Prints the merged lines.
pub fn run(files: &[PathBuf]) -> CliResult {
    let (lines, code) = merge(files)?;
    for line in lines {
        outln!("{line}")?;
    }
    Ok(code)
}
