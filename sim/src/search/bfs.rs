//! Level-synchronous breadth-first search, parallel and deterministic.
//!
//! Each level runs in two phases. Expand: threads claim chunks of the frontier from a
//! [`WorkQueue`], check properties and compute successors against the visited table, which is
//! read-only during this phase (so it holds exactly the levels up to the current one). Merge:
//! each thread owns a disjoint set of shards and inserts the candidates of those shards, keeping
//! the smallest parent link per new state. Every decision is a function of the completed levels,
//! so distinct states, outcomes and violations are identical for any number of threads.

use super::check::{Checker, Findings};
use super::report::{Cut, Path, Report};
use super::visited::{Shard, ShardedSet, WorkQueue, SHARDS};
use super::{Options, Reduction};
use crate::fingerprint::fingerprint;
use crate::model::Model;
use crate::reduction::{Reducer, Scratch, Selection};
use crate::sync::{scope, AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// How a state was first reached: the parent's fingerprint and the index of the action in the
/// parent's enabled list (for initial states: parent 0 and the initial-state index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Parent {
    pub fp: u64,
    pub action: u32,
}

struct Entry<S> {
    state: S,
    fp: u64,
}

struct Candidate<S> {
    fp: u64,
    state: S,
    parent: Parent,
}

struct Worker<M: Model> {
    findings: Findings<M>,
    scratch: Scratch,
    buckets: Vec<Vec<Candidate<M::State>>>,
    depth_cut: bool,
}

struct Search<'m, M: Model> {
    model: &'m M,
    options: &'m Options,
    checker: Checker<'m, M>,
    reducer: Option<Reducer>,
    started: Instant,
    out_of_time: AtomicBool,
    /// Candidates produced in the current level (an upper bound on its new states).
    candidates: AtomicUsize,
    /// Distinct states of the completed levels.
    known: AtomicUsize,
    /// A worker stopped this level early because of the states budget.
    budget_hit: AtomicBool,
}

/// Runs the search.
pub(super) fn run<M: Model>(model: &M, options: &Options) -> Report<M> {
    let checker = Checker::new(model);
    let reducer =
        (options.reduction == Reduction::Por).then(|| Reducer::new(model, checker.visible()));
    let search = Search {
        model,
        options,
        reducer,
        started: Instant::now(),
        out_of_time: AtomicBool::new(false),
        candidates: AtomicUsize::new(0),
        known: AtomicUsize::new(0),
        budget_hit: AtomicBool::new(false),
        checker,
    };
    search.run()
}

impl<M: Model> Search<'_, M> {
    fn canonical_fp(&self, state: M::State) -> (M::State, u64) {
        let state = if self.options.symmetry {
            self.model.canonical(&state).unwrap_or(state)
        } else {
            state
        };
        let fp = fingerprint(&state);
        (state, fp)
    }

    fn run(&self) -> Report<M> {
        let mut report = Report::new(self.checker.count());
        let mut visited: ShardedSet<Parent> = ShardedSet::default();
        let mut frontier = Vec::new();
        for (i, init) in self.model.init_states().into_iter().enumerate() {
            let (state, fp) = self.canonical_fp(init);
            let parent = Parent {
                fp: 0,
                action: i as u32,
            };
            if visited.insert(fp, parent) {
                frontier.push(Entry { state, fp });
            }
        }
        let jobs = self.options.jobs.max(1);
        let mut depth = 0;
        while !frontier.is_empty() {
            report.max_depth = depth;
            self.known.store(visited.len(), Ordering::Relaxed);
            self.candidates.store(0, Ordering::Relaxed);
            let workers = self.expand_level(&frontier, depth, &visited, jobs);
            let mut per_shard: Vec<Vec<Vec<Candidate<M::State>>>> =
                (0..SHARDS).map(|_| Vec::with_capacity(jobs)).collect();
            let mut depth_cut = false;
            for worker in workers {
                worker.findings.merge_into(&mut report);
                depth_cut |= worker.depth_cut;
                for (shard, bucket) in worker.buckets.into_iter().enumerate() {
                    per_shard[shard].push(bucket);
                }
            }
            if depth_cut {
                report.cut(Cut::Depth(depth));
            }
            drop(std::mem::take(&mut frontier));
            frontier = merge_level(&mut visited, per_shard, jobs);
            depth += 1;
            if self.out_of_time.load(Ordering::Relaxed) {
                let limit = self.options.max_seconds.unwrap_or_default();
                report.cut(Cut::Seconds(format!("{limit}")));
                break;
            }
            if let Some(limit) = self.options.max_states {
                let stopped_early = self.budget_hit.load(Ordering::Relaxed);
                if stopped_early || (visited.len() as u64 >= limit && !frontier.is_empty()) {
                    report.cut(Cut::States(limit));
                    break;
                }
            }
            if self.options.stop_at_first && report.violated() && !frontier.is_empty() {
                report.cut(Cut::FirstViolation);
                break;
            }
        }
        report.states = visited.len() as u64;
        if self.options.record_paths {
            self.attach_paths(&mut report, &visited);
        }
        report
    }

    fn expand_level(
        &self,
        frontier: &[Entry<M::State>],
        depth: usize,
        visited: &ShardedSet<Parent>,
        jobs: usize,
    ) -> Vec<Worker<M>> {
        let queue = WorkQueue::new(frontier.len(), 64);
        let work = || {
            let mut worker = Worker {
                findings: Findings::new(self.checker.count()),
                scratch: Scratch::default(),
                buckets: (0..SHARDS).map(|_| Vec::new()).collect(),
                depth_cut: false,
            };
            let mut actions = Vec::new();
            while let Some(range) = queue.claim() {
                if self.time_is_up() || self.over_state_budget() {
                    break;
                }
                if let Some(live) = &self.options.live {
                    // Expanded so far: the levels before this one, then this level's claims.
                    let done = self.known.load(Ordering::Relaxed) - frontier.len() + range.end;
                    let left = frontier.len() - range.end;
                    live.publish(done as u64, depth as u64, left as u64);
                }
                for entry in &frontier[range] {
                    self.expand(entry, depth, visited, &mut actions, &mut worker);
                }
            }
            worker
        };
        if jobs == 1 {
            return vec![work()];
        }
        scope(|s| {
            let handles: Vec<_> = (0..jobs).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("search worker panicked"))
                .collect()
        })
    }

    /// The states budget, checked per chunk during a level: once the completed levels plus this
    /// level's candidates (an upper bound on its new states) reach `max_states`, workers stop
    /// claiming chunks. A run that never gets there is unaffected, so complete runs stay
    /// deterministic; a cut run reports `Cut::States` as before.
    fn over_state_budget(&self) -> bool {
        let over = self.options.max_states.is_some_and(|limit| {
            (self.known.load(Ordering::Relaxed) + self.candidates.load(Ordering::Relaxed)) as u64
                >= limit
        });
        if over {
            self.budget_hit.store(true, Ordering::Relaxed);
        }
        over
    }

    fn time_is_up(&self) -> bool {
        let Some(limit) = self.options.max_seconds else {
            return false;
        };
        if self.started.elapsed().as_secs_f64() > limit {
            self.out_of_time.store(true, Ordering::Relaxed);
        }
        self.out_of_time.load(Ordering::Relaxed)
    }

    fn expand(
        &self,
        entry: &Entry<M::State>,
        depth: usize,
        visited: &ShardedSet<Parent>,
        actions: &mut Vec<M::Action>,
        worker: &mut Worker<M>,
    ) {
        let state = &entry.state;
        self.checker
            .state(state, entry.fp, depth, &mut worker.findings);
        actions.clear();
        self.model.actions(state, actions);
        if actions.is_empty() {
            self.checker
                .terminal(state, entry.fp, depth, &mut worker.findings);
            return;
        }
        if self.options.max_depth.is_some_and(|max| depth >= max) {
            worker.depth_cut = true;
            return;
        }
        let selection = match &self.reducer {
            Some(reducer) => reducer.select(self.model, state, actions, &mut worker.scratch),
            None => Selection::All,
        };
        let chosen: Vec<usize> = match selection {
            Selection::All => (0..actions.len()).collect(),
            Selection::Ample(ample) => {
                // Level proviso: an ample step back into a completed level would let a cycle of
                // the reduced graph ignore other actors, so such a state is expanded fully.
                let closes = ample.iter().any(|&i| {
                    let (_, fp) = self.canonical_fp(self.model.next_state(state, &actions[i]));
                    visited.contains(fp)
                });
                if closes {
                    (0..actions.len()).collect()
                } else {
                    ample
                }
            }
        };
        for i in chosen {
            if depth == 0 && !self.options.in_root_shard(i) {
                continue;
            }
            let (next, fp) = self.canonical_fp(self.model.next_state(state, &actions[i]));
            worker.findings.transitions += 1;
            if !visited.contains(fp) {
                self.candidates.fetch_add(1, Ordering::Relaxed);
                worker.buckets[ShardedSet::<Parent>::shard_of(fp)].push(Candidate {
                    fp,
                    state: next,
                    parent: Parent {
                        fp: entry.fp,
                        action: i as u32,
                    },
                });
            }
        }
    }

    fn attach_paths(&self, report: &mut Report<M>, visited: &ShardedSet<Parent>) {
        for v in &mut report.violations {
            v.path = Some(self.path_to(v.fingerprint, visited));
        }
        let fps: Vec<(String, u64)> = report
            .outcomes
            .iter()
            .map(|(k, o)| (k.clone(), o.fingerprint))
            .collect();
        for (name, fp) in fps {
            let path = self.path_to(fp, visited);
            if let Some(o) = report.outcomes.get_mut(&name) {
                o.path = Some(path);
            }
        }
    }

    /// Rebuilds the concrete path to a state from parent links.
    fn path_to(&self, fp: u64, visited: &ShardedSet<Parent>) -> Path<M> {
        let mut links = Vec::new();
        let mut at = fp;
        loop {
            let parent = *visited.get(at).expect("state on a recorded path");
            if parent.fp == 0 {
                links.reverse();
                return self.concrete_path(parent.action as usize, &links);
            }
            links.push(parent.action);
            at = parent.fp;
        }
    }

    /// Turns a path of canonical states into one a replay can follow without canonicalising.
    fn concrete_path(&self, init: usize, links: &[u32]) -> Path<M> {
        let inits = self.model.init_states();
        let mut canonical = self.canonical_fp(inits[init].clone()).0;
        let mut concrete = inits[init].clone();
        let mut actions = Vec::new();
        let mut enabled = Vec::new();
        for &link in links {
            enabled.clear();
            self.model.actions(&canonical, &mut enabled);
            let (next_canonical, target) =
                self.canonical_fp(self.model.next_state(&canonical, &enabled[link as usize]));
            enabled.clear();
            self.model.actions(&concrete, &mut enabled);
            let action = enabled
                .iter()
                .find(|a| self.canonical_fp(self.model.next_state(&concrete, a)).1 == target)
                .expect("a symmetric step exists in the concrete state")
                .clone();
            concrete = self.model.next_state(&concrete, &action);
            actions.push(action);
            canonical = next_canonical;
        }
        Path { init, actions }
    }
}

/// The shards one merge thread owns, each with the candidate buckets for it.
type Owned<'a, S> = Vec<(&'a mut Shard<Parent>, Vec<Vec<Candidate<S>>>)>;

fn merge_level<S: Send>(
    visited: &mut ShardedSet<Parent>,
    per_shard: Vec<Vec<Vec<Candidate<S>>>>,
    jobs: usize,
) -> Vec<Entry<S>> {
    let mut owned: Vec<Owned<'_, S>> = (0..jobs).map(|_| Vec::new()).collect();
    for ((part, shards), _) in visited.partition_mut(jobs).into_iter().enumerate().zip(0..) {
        for (_, shard) in shards {
            owned[part].push((shard, Vec::new()));
        }
    }
    for (i, buckets) in per_shard.into_iter().enumerate() {
        let part = i % jobs;
        owned[part][i / jobs].1 = buckets;
    }
    let merge = |mine: Owned<'_, S>| {
        let mut fresh = Vec::new();
        for (shard, buckets) in mine {
            for candidate in buckets.into_iter().flatten() {
                match shard.entry(candidate.fp) {
                    hashbrown::hash_map::Entry::Vacant(v) => {
                        v.insert(candidate.parent);
                        fresh.push(Entry {
                            state: candidate.state,
                            fp: candidate.fp,
                        });
                    }
                    hashbrown::hash_map::Entry::Occupied(mut o) => {
                        if candidate.parent < *o.get() {
                            o.insert(candidate.parent);
                        }
                    }
                }
            }
        }
        fresh
    };
    if jobs == 1 {
        return owned.into_iter().flat_map(merge).collect();
    }
    scope(|s| {
        let handles: Vec<_> = owned
            .into_iter()
            .map(|mine| s.spawn(move || merge(mine)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("merge worker panicked"))
            .collect()
    })
}
