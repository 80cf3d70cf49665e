//! The CI gate around `vmrace check`: sharding (`--shard I/N`, from 1), JUnit XML (`--junit`),
//! regression fixtures (`--save-traces`, `--traces`) and `vmrace merge`. See `docs/ci.md`.

pub mod fixtures;
pub mod junit;
pub mod merge;

use crate::error::CliError;
use std::path::PathBuf;

/// One shard of the work: `--shard I/N` counts from 1, as Playwright, Jest, Vitest and nextest
/// do; job `k` (0-based, in the fixed scenario × case × variant order) belongs to shard
/// `k mod N + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's position, `0..count` (`I - 1`).
    pub index: usize,
    /// The number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with `1 <= I <= N`.
    pub fn parse(text: &str) -> Result<Shard, CliError> {
        let bad = || {
            CliError::bad_input(format!(
                "--shard: expected I/N with 1 <= I <= N, counting from 1 (e.g. 1/3 … 3/3), \
                 found `{text}`"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let number: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if number == 0 || number > count {
            return Err(bad());
        }
        Ok(Shard {
            index: number - 1,
            count,
        })
    }

    /// Whether job `k` is this shard's.
    pub fn owns(&self, k: usize) -> bool {
        k % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    /// `I/N`, as given on the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
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
