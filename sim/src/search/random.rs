//! Randomised search for spaces too big to exhaust: uniform random walks, and PCT
//! (Burckhardt et al., ASPLOS 2010), which finds any bug of depth d with probability at least
//! 1 / (n · k^(d-1)) per run for n actors and k steps.

use super::check::{Checker, Findings};
use super::fpset::FingerprintSet;
use super::report::{Cut, Path, Report};
use super::Options;
use crate::fingerprint::fingerprint;
use crate::model::Model;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Longest random walk when no depth bound is given.
pub const DEFAULT_WALK_CAP: usize = 10_000;

/// Largest PCT bug depth: a depth d draws d-1 change points per run among a walk's steps, and a
/// walk has at most [`DEFAULT_WALK_CAP`] steps unless a depth bound says otherwise. Larger
/// depths are clamped to it (scenario files refuse them).
pub const MAX_PCT_DEPTH: u32 = DEFAULT_WALK_CAP as u32;

/// Runs up to `runs` walks; `pct` is the bug depth for PCT, `None` for uniform walks. Stops early
/// (and says so in the report's cuts) once `options.max_states` distinct states are known, once
/// `options.max_seconds` have passed since `started`, or at the first violation with
/// `options.stop_at_first`.
pub(super) fn run<M: Model>(
    model: &M,
    options: &Options,
    runs: u64,
    pct: Option<u32>,
    started: Instant,
) -> Report<M> {
    let checker = Checker::new(model);
    let mut report = Report::new(checker.count());
    let mut findings = Findings::new(checker.count());
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut visited = FingerprintSet::default();
    let mut terminal_seen = FingerprintSet::default();
    let cap = options.max_depth.unwrap_or(DEFAULT_WALK_CAP);
    let actors = model.actors().len().max(1);
    let inits = model.init_states();
    let mut longest = 1usize;
    // Per outcome, the witness the report keeps: the shallowest, ties by fingerprint.
    let mut outcome_paths: std::collections::BTreeMap<String, (usize, u64, Path<M>)> =
        std::collections::BTreeMap::new();
    let mut done = 0;
    'runs: while done < runs {
        let init = rng.random_range(0..inits.len());
        let mut state = inits[init].clone();
        let mut path = Path::<M> {
            init,
            actions: Vec::new(),
        };
        let mut scheduler = pct.map(|d| Pct::new(&mut rng, actors, d, longest));
        let mut actions = Vec::new();
        loop {
            let fp = fingerprint(&state);
            let depth = path.actions.len();
            visited.insert(fp);
            checker.state(&state, fp, depth, &mut findings);
            actions.clear();
            model.actions(&state, &mut actions);
            if actions.is_empty() && terminal_seen.insert(fp) {
                checker.terminal(&state, fp, depth, &mut findings);
                if let Some(name) = model.outcome(&state) {
                    let better = outcome_paths
                        .get(&name)
                        .is_none_or(|(d, f, _)| (depth, fp) < (*d, *f));
                    if better {
                        outcome_paths.insert(name, (depth, fp, path.clone()));
                    }
                }
            }
            for v in findings.violations.iter_mut().filter(|v| v.path.is_none()) {
                v.path = Some(path.clone());
            }
            if let Some(cut) = stop(options, visited.len(), started, &findings) {
                report.cut(cut);
                break 'runs;
            }
            if actions.is_empty() {
                break;
            }
            if depth >= cap {
                report.cut(Cut::Depth(cap));
                break;
            }
            let action = match &mut scheduler {
                Some(pct) => pct.choose(model, &actions, depth, &mut rng),
                None => actions.choose(&mut rng).expect("non-empty").clone(),
            };
            findings.transitions += 1;
            state = model.next_state(&state, &action);
            path.actions.push(action);
        }
        longest = longest.max(path.actions.len());
        done += 1;
    }
    findings.merge_into(&mut report);
    for (name, (_, _, path)) in outcome_paths {
        if let Some(o) = report.outcomes.get_mut(&name) {
            o.path = Some(path);
        }
    }
    report.states = visited.len() as u64;
    report.cut(Cut::Sampled(done));
    if let Some(d) = pct {
        let p = 1.0 / (actors as f64 * (longest as f64).powi(pct_depth(d) as i32 - 1));
        report.miss_probability = Some((1.0 - p).powf(done as f64));
    }
    report
}

/// The bound that stops the walks now, if any: checked after every state a walk reaches.
fn stop<M: Model>(
    options: &Options,
    states: usize,
    started: Instant,
    findings: &Findings<M>,
) -> Option<Cut> {
    if let Some(max) = options.max_states.filter(|&max| states as u64 >= max) {
        return Some(Cut::States(max));
    }
    if let Some(max) = options
        .max_seconds
        .filter(|&max| started.elapsed().as_secs_f64() > max)
    {
        return Some(Cut::Seconds(format!("{max}")));
    }
    (options.stop_at_first && !findings.violations.is_empty()).then_some(Cut::FirstViolation)
}

/// A PCT bug depth within `1..=MAX_PCT_DEPTH`.
fn pct_depth(depth: u32) -> u32 {
    depth.clamp(1, MAX_PCT_DEPTH)
}

/// PCT's scheduler state for one run: a priority per actor and d-1 change points.
struct Pct {
    priority: Vec<u64>,
    change_points: Vec<usize>,
}

impl Pct {
    fn new(rng: &mut ChaCha8Rng, actors: usize, depth: u32, steps: usize) -> Self {
        let depth = pct_depth(depth);
        let d = depth as u64;
        let mut priority: Vec<u64> = (0..actors as u64).map(|i| d + i).collect();
        for i in (1..priority.len()).rev() {
            let j = rng.random_range(0..=i);
            priority.swap(i, j);
        }
        let change_points = (1..depth)
            .map(|_| rng.random_range(0..steps.max(1)))
            .collect();
        Pct {
            priority,
            change_points,
        }
    }

    fn choose<M: Model>(
        &mut self,
        model: &M,
        actions: &[M::Action],
        step: usize,
        rng: &mut ChaCha8Rng,
    ) -> M::Action {
        let actor_of = |a: &M::Action| model.actor_of(a) as usize;
        let best = actions
            .iter()
            .map(|a| self.priority[actor_of(a)])
            .max()
            .expect("non-empty");
        let candidates: Vec<&M::Action> = actions
            .iter()
            .filter(|a| self.priority[actor_of(a)] == best)
            .collect();
        let chosen = (*candidates.choose(rng).expect("non-empty")).clone();
        if let Some(i) = self.change_points.iter().position(|&c| c == step) {
            self.priority[actor_of(&chosen)] = i as u64;
        }
        chosen
    }
}
