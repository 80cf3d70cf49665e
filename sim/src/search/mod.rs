//! Search strategies over a [`Model`]'s state graph, behind one options struct and one entry
//! point ([`explore`]). Each strategy is its own file; reductions are composed in, not tangled.

mod bfs;
mod check;
mod dfs;
mod fpset;
mod live;
pub use live::{Live, LiveSnapshot};
mod liveness;
mod random;
pub use random::{DEFAULT_WALK_CAP, MAX_PCT_DEPTH};
mod report;
mod visited;

pub use report::{Cut, Outcome, Path, Report, Violation, ViolationKind};
pub use visited::{ShardedSet, WorkQueue};

use crate::model::Model;
use serde::Serialize;
use std::time::Instant;

/// How to walk the state graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Exhaustive, level by level: shortest counterexamples, parallel with `jobs > 1`.
    Bfs,
    /// Exhaustive depth-first: little memory, fast first violation, lassos for cycles.
    Dfs,
    /// `runs` uniformly random walks.
    Random {
        /// Number of walks.
        runs: u64,
    },
    /// Probabilistic concurrency testing (Burckhardt et al.) with bug depth `depth`.
    Pct {
        /// Number of runs.
        runs: u64,
        /// Bug depth d (d-1 priority change points), in `1..=`[`MAX_PCT_DEPTH`] (clamped).
        depth: u32,
    },
    /// A bounded BFS, then random walks, then PCT, merging what they find. Each member keeps
    /// at most `max_states` distinct states of its own; `max_seconds` bounds them together.
    Portfolio {
        /// Runs for each randomised member.
        runs: u64,
    },
}

/// Whether to apply partial-order reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// Explore every interleaving.
    None,
    /// Persistent sets from declared footprints (see [`crate::reduction`]).
    Por,
}

/// Every knob of a search, read in one place.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// The strategy.
    pub strategy: Strategy,
    /// Partial-order reduction.
    pub reduction: Reduction,
    /// Hash states by [`Model::canonical`] (symmetry reduction).
    pub symmetry: bool,
    /// Worker threads (BFS only); results are identical for every value.
    pub jobs: usize,
    /// Do not expand states deeper than this (random walks: take no more steps).
    pub max_depth: Option<usize>,
    /// Stop after this many distinct states (every strategy).
    pub max_states: Option<u64>,
    /// Stop after this many seconds, for the whole search including its `eventually` pass
    /// (machine-dependent: the report says so when it cuts).
    pub max_seconds: Option<f64>,
    /// Bound on preemptive context switches (DFS only).
    pub max_preemptions: Option<u32>,
    /// Stop once a violation is known (BFS finishes the level, so the result stays deterministic).
    pub stop_at_first: bool,
    /// Keep parent links so that every violation and outcome gets a witness path.
    pub record_paths: bool,
    /// Seed for randomised strategies.
    pub seed: u64,
    /// `Some((i, n))`: explore only the subtrees under the initial states' enabled actions whose
    /// index in the enabled list is ≡ `i` (mod `n`) (BFS and DFS; the initial states themselves
    /// are checked by every shard). The union over `i` in `0..n` of the distinct terminal states,
    /// outcomes and violations equals the unsharded run's; per-shard state counts overlap.
    /// The `eventually` (liveness) pass is not sharded.
    pub root_shard: Option<(usize, usize)>,
    /// Where BFS and DFS publish their progress while they run (for a progress display).
    #[serde(skip)]
    pub live: Option<std::sync::Arc<Live>>,
}

impl Options {
    /// Whether the action at `index` of an initial state's enabled list belongs to this shard.
    pub fn in_root_shard(&self, index: usize) -> bool {
        self.root_shard
            .is_none_or(|(i, n)| n == 0 || index % n == i)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strategy: Strategy::Bfs,
            reduction: Reduction::None,
            symmetry: false,
            jobs: 1,
            max_depth: None,
            max_states: None,
            max_seconds: None,
            max_preemptions: None,
            stop_at_first: false,
            record_paths: true,
            seed: 0,
            root_shard: None,
            live: None,
        }
    }
}

/// The bug depth of a portfolio's PCT member.
pub const PORTFOLIO_PCT_DEPTH: u32 = 3;

/// Explores `model` as `options` say and checks its properties.
pub fn explore<M: Model>(model: &M, options: &Options) -> Report<M> {
    let started = Instant::now();
    let mut report = match options.strategy {
        Strategy::Bfs => bfs::run(model, options),
        Strategy::Dfs => dfs::run(model, options),
        Strategy::Random { runs } => random::run(model, options, runs, None, started),
        Strategy::Pct { runs, depth } => random::run(model, options, runs, Some(depth), started),
        Strategy::Portfolio { runs } => portfolio(model, options, runs, started),
    };
    if matches!(options.strategy, Strategy::Bfs | Strategy::Dfs) {
        liveness::check_eventually(model, options, started, &mut report);
    }
    report.finish(model);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn portfolio<M: Model>(model: &M, options: &Options, runs: u64, started: Instant) -> Report<M> {
    let mut report = bfs::run(model, options);
    if report.complete {
        // The exhaustive member decides alone, so it must check `eventually` properties as BFS
        // does; an incomplete portfolio claims nothing about them.
        liveness::check_eventually(model, options, started, &mut report);
        return report;
    }
    let walks = random::run(model, options, runs, None, started);
    let pct = random::run(model, options, runs, Some(PORTFOLIO_PCT_DEPTH), started);
    report.absorb(walks);
    report.absorb(pct);
    report
}
