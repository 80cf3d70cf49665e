//! The CI gate around `vmrace check`: sharding (`--shard I/N`), JUnit XML (`--junit`),
//! regression fixtures (`--save-traces`, `--traces`) and `vmrace merge`. See `docs/ci.md`.

pub mod fixtures;
pub mod junit;
pub mod merge;

use crate::error::CliError;
use std::path::PathBuf;

/// One shard of the work: job `k` (in the fixed scenario × case × variant order) belongs to
/// shard `k mod n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's index, `0..n`.
    pub index: usize,
    /// The number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard, CliError> {
        let bad = || {
            CliError::bad_input(format!(
                "--shard: expected I/N with 0 <= I < N (e.g. 0/3), found `{text}`"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether job `k` is this shard's.
    pub fn owns(&self, k: usize) -> bool {
        k % self.count == self.index
    }
}

/// The gate flags of `vmrace check`.
#[derive(Clone, Debug, Default)]
pub struct GateOptions {
    /// Write JUnit XML here.
    pub junit: Option<PathBuf>,
    /// Run only this shard's jobs.
    pub shard: Option<Shard>,
    /// Leave `seconds` out of `--format json` lines (so shard outputs merge byte for byte).
    pub no_timing: bool,
    /// Keep every violating trace here.
    pub save_traces: Option<PathBuf>,
    /// Replay the stored traces here before the search.
    pub traces: Option<PathBuf>,
    /// Run everything twice (with another thread count) and compare hashes of the results.
    pub check_determinism: bool,
    /// Write an HTML and a Markdown report per violation/outcome witness here.
    pub report: Option<PathBuf>,
}
