//! `vmrace merge FILES...`: combines the `check --format json --no-timing --shard I/N` outputs
//! of every shard into the lines the unsharded run prints, in the same order, byte for byte.
//!
//! Every line carries `job` (its index in the fixed scenario × case × variant order) and `of`
//! (the number of jobs); merge sorts by `job`, refuses duplicates, gaps, mixed `of`, a file with
//! no lines and lines that are not `check` lines (no `scenario`, `variant` or `ok`), and
//! prints the lines unchanged. Exit code as `check`: 1 if a line has `ok: false` (and was not
//! cut), else 3 if one has `must_complete_cut: true`, else 0; 2 for bad input.

use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_INCOMPLETE, EXIT_OK};
use crate::outln;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What merge reads of a `check --format json` line; a line without these keys is not one.
#[derive(Deserialize)]
struct ShardLine {
    job: u64,
    of: u64,
    scenario: String,
    variant: String,
    ok: bool,
    #[serde(default)]
    must_complete_cut: bool,
}

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
        let mut read = 0;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            read += 1;
            let at = format!("{}:{}", file.display(), n + 1);
            let shard: ShardLine = serde_json::from_str(line).map_err(|e| {
                CliError::bad_input(format!("{at}: not a line of `check --format json`: {e}"))
            })?;
            let (job, of) = (shard.job, shard.of);
            if job >= of {
                return Err(CliError::bad_input(format!(
                    "{at}: job {job} of {of}: not a line of `check --format json`"
                )));
            }
            if *total.get_or_insert(of) != of {
                return Err(CliError::bad_input(format!(
                    "{at}: `of` is {of} but earlier lines say {}: shards of different runs",
                    total.unwrap_or_default()
                )));
            }
            drift |= !shard.must_complete_cut && !shard.ok;
            cut |= shard.must_complete_cut;
            if lines.insert(job, line.to_string()).is_some() {
                return Err(CliError::bad_input(format!(
                    "{at}: job {job} ({} variant {}) appears twice",
                    shard.scenario, shard.variant
                )));
            }
        }
        if read == 0 {
            return Err(CliError::bad_input(format!(
                "{}: no JSON lines: not the output of `check --format json` (every shard of a \
                 run checks at least one job)",
                file.display()
            )));
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
