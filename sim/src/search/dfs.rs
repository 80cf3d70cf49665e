//! Exhaustive depth-first search with an explicit stack: little memory, the fastest route to a
//! first violation, optional preemption bounding, and the stack proviso for reduction.

use super::check::{Checker, Findings};
use super::report::{Cut, Path, Report};
use super::visited::ShardedSet;
use super::{Options, Reduction};
use crate::fingerprint::fingerprint;
use crate::model::{ActorId, Model};
use crate::reduction::{Reducer, Selection};
use std::collections::HashMap;
use std::time::Instant;

struct Frame<M: Model> {
    state: M::State,
    key: u64,
    actions: Vec<M::Action>,
    chosen: Vec<usize>,
    next: usize,
    via: Option<M::Action>,
    last_actor: Option<ActorId>,
    preemptions: u32,
}

struct Dfs<'m, M: Model> {
    model: &'m M,
    options: &'m Options,
    checker: Checker<'m, M>,
    reducer: Option<Reducer>,
    report: Report<M>,
    findings: Findings<M>,
    visited: ShardedSet,
    on_stack: HashMap<u64, usize>,
    stack: Vec<Frame<M>>,
    init: usize,
    outcome_paths: HashMap<String, (usize, u64, Path<M>)>,
    started: Instant,
}

/// Runs the search.
pub(super) fn run<M: Model>(model: &M, options: &Options) -> Report<M> {
    let checker = Checker::new(model);
    let reducer =
        (options.reduction == Reduction::Por).then(|| Reducer::new(model, checker.visible()));
    let mut dfs = Dfs {
        model,
        options,
        report: Report::new(checker.count()),
        findings: Findings::new(checker.count()),
        checker,
        reducer,
        visited: ShardedSet::default(),
        on_stack: HashMap::new(),
        stack: Vec::new(),
        init: 0,
        outcome_paths: HashMap::new(),
        started: Instant::now(),
    };
    dfs.search();
    dfs.finish()
}

impl<M: Model> Dfs<'_, M> {
    fn canonical(&self, s: M::State) -> M::State {
        if self.options.symmetry {
            self.model.canonical(&s).unwrap_or(s)
        } else {
            s
        }
    }

    /// The visited-set key: the fingerprint, plus the scheduling context when preemptions are
    /// bounded (the same state reached with fewer preemptions may go further).
    fn key(&self, fp: u64, last: Option<ActorId>, preemptions: u32) -> u64 {
        match self.options.max_preemptions {
            Some(_) => fingerprint(&(fp, last, preemptions)),
            None => fp,
        }
    }

    fn search(&mut self) {
        for (init, state) in self.model.init_states().into_iter().enumerate() {
            self.init = init;
            let state = self.canonical(state);
            let fp = fingerprint(&state);
            let key = self.key(fp, None, 0);
            if !self.visited.insert(key, ()) {
                continue;
            }
            self.push(state, fp, key, None, None, 0);
            if self.stopping() || !self.run_stack() {
                return;
            }
        }
    }

    /// Drives the stack until it is empty; false when a budget or the first violation stopped it.
    fn run_stack(&mut self) -> bool {
        while let Some(top) = self.stack.last_mut() {
            if top.next >= top.chosen.len() {
                let done = self.stack.pop().expect("non-empty stack");
                self.on_stack.remove(&done.key);
                continue;
            }
            let i = top.chosen[top.next];
            top.next += 1;
            let action = top.actions[i].clone();
            let actor = self.model.step_info(&action).actor;
            let Some(preemptions) = self.preemptions_after(actor) else {
                continue;
            };
            self.findings.transitions += 1;
            let top = self.stack.last().expect("non-empty stack");
            let next = self.canonical(self.model.next_state(&top.state, &action));
            let fp = fingerprint(&next);
            let key = self.key(fp, Some(actor), preemptions);
            if !self.visited.insert(key, ()) {
                continue;
            }
            self.push(next, fp, key, Some(action), Some(actor), preemptions);
            if self.stopping() {
                return false;
            }
        }
        true
    }

    /// The preemption count after `actor` steps from the top frame, or `None` when that exceeds
    /// the bound.
    fn preemptions_after(&mut self, actor: ActorId) -> Option<u32> {
        let top = self.stack.last().expect("non-empty stack");
        let (Some(bound), Some(last)) = (self.options.max_preemptions, top.last_actor) else {
            return Some(top.preemptions);
        };
        let last_enabled = top
            .actions
            .iter()
            .any(|a| self.model.step_info(a).actor == last);
        if last == actor || !last_enabled {
            return Some(top.preemptions);
        }
        if top.preemptions + 1 > bound {
            self.report.cut(Cut::Preemptions(bound));
            return None;
        }
        Some(top.preemptions + 1)
    }

    fn stopping(&mut self) -> bool {
        if let Some(max) = self.options.max_states {
            if self.visited.len() as u64 >= max {
                self.report.cut(Cut::States(max));
                return true;
            }
        }
        if let Some(max) = self.options.max_seconds {
            if self.started.elapsed().as_secs_f64() > max {
                self.report.cut(Cut::Seconds(format!("{max}")));
                return true;
            }
        }
        if self.options.stop_at_first && !self.findings.violations.is_empty() {
            self.report.cut(Cut::FirstViolation);
            return true;
        }
        false
    }

    fn push(
        &mut self,
        state: M::State,
        fp: u64,
        key: u64,
        via: Option<M::Action>,
        last_actor: Option<ActorId>,
        preemptions: u32,
    ) {
        let depth = self.stack.len();
        self.report.max_depth = self.report.max_depth.max(depth);
        let mut actions = Vec::new();
        self.model.actions(&state, &mut actions);
        self.on_stack.insert(key, depth);
        self.stack.push(Frame {
            state,
            key,
            actions,
            chosen: Vec::new(),
            next: 0,
            via,
            last_actor,
            preemptions,
        });
        let before = self.findings.violations.len();
        let top = self.stack.last().expect("just pushed");
        self.checker
            .state(&top.state, fp, depth, &mut self.findings);
        if top.actions.is_empty() {
            self.checker
                .terminal(&top.state, fp, depth, &mut self.findings);
            self.record_outcome(fp, depth);
        } else if self.options.max_depth.is_some_and(|max| depth >= max) {
            self.report.cut(Cut::Depth(depth));
        } else {
            let chosen = self.select();
            self.stack.last_mut().expect("just pushed").chosen = chosen;
        }
        if self.findings.violations.len() > before
            || self.findings.violations.iter().any(|v| v.path.is_none())
        {
            let path = self.current_path();
            for v in self
                .findings
                .violations
                .iter_mut()
                .filter(|v| v.path.is_none())
            {
                v.path = Some(path.clone());
            }
        }
    }

    fn select(&self) -> Vec<usize> {
        let top = self.stack.last().expect("non-empty stack");
        let all = || (0..top.actions.len()).collect();
        let Some(reducer) = &self.reducer else {
            return all();
        };
        match reducer.select(self.model, &top.state, &top.actions) {
            Selection::All => all(),
            Selection::Ample(ample) => {
                // Stack proviso (Spin's C3): an ample step closing a cycle forces full expansion.
                let closes = ample.iter().any(|&i| {
                    let a = &top.actions[i];
                    let next = self.canonical(self.model.next_state(&top.state, a));
                    let actor = self.model.step_info(a).actor;
                    let key = self.key(fingerprint(&next), Some(actor), top.preemptions);
                    self.on_stack.contains_key(&key)
                });
                if closes {
                    all()
                } else {
                    ample
                }
            }
        }
    }

    fn current_path(&self) -> Path<M> {
        Path {
            init: self.init,
            actions: self.stack.iter().filter_map(|f| f.via.clone()).collect(),
        }
    }

    fn record_outcome(&mut self, fp: u64, depth: usize) {
        let top = self.stack.last().expect("non-empty stack");
        let Some(name) = self.model.outcome(&top.state) else {
            return;
        };
        let better = self
            .outcome_paths
            .get(&name)
            .is_none_or(|(d, f, _)| (depth, fp) < (*d, *f));
        if better && self.options.record_paths {
            let path = self.current_path();
            self.outcome_paths.insert(name, (depth, fp, path));
        }
    }

    fn finish(mut self) -> Report<M> {
        self.report.states = self.visited.len() as u64;
        let mut report = self.report;
        self.findings.merge_into(&mut report);
        for (name, (_, _, path)) in self.outcome_paths {
            if let Some(o) = report.outcomes.get_mut(&name) {
                o.path = Some(path);
            }
        }
        report
    }
}
