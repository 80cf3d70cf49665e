//! Exhaustive depth-first search with an explicit stack: little memory, the fastest route to a
//! first violation, optional preemption bounding, and the stack proviso for reduction.

use super::check::{Checker, Findings};
use super::fpset::FingerprintSet;
use super::report::{Cut, Path, Report};
use super::{Options, Reduction};
use crate::fingerprint::fingerprint;
use crate::model::{ActorId, Model};
use crate::reduction::{Reducer, Scratch, Selection};
use crate::search::visited::PassThrough;
use std::collections::HashMap;
use std::time::Instant;

/// A state on the stack. Its enabled actions and the successors of its choices live in the
/// search's arenas (`Dfs::actions`, `Dfs::fps` and `Dfs::states`) from the frame's offsets up to
/// the next frame's, so pushing and popping a frame allocates nothing.
struct Frame<M: Model> {
    state: M::State,
    key: u64,
    /// Offset of the enabled actions in `Dfs::actions`.
    actions: usize,
    /// The persistent set, when reduction chose a proper one; otherwise every action.
    ample: Option<Vec<usize>>,
    /// How many choices to take (0 for terminal states and states at the depth bound).
    end: usize,
    next: usize,
    /// Offset in `Dfs::fps` and `Dfs::states` of the successors of the choices, computed when
    /// the frame is pushed so that their visited-set lookups can be prefetched together.
    successors: usize,
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
    visited: FingerprintSet,
    on_stack: hashbrown::HashMap<u64, usize, PassThrough>,
    /// With a preemption bound: the fewest preemptions each (state, last actor) pair was
    /// explored with; a visit with as many or more is dominated and pruned.
    fewest: hashbrown::HashMap<u64, u32, PassThrough>,
    scratch: Scratch,
    stack: Vec<Frame<M>>,
    /// The stacked frames' enabled actions, frame after frame.
    actions: Vec<M::Action>,
    /// The stacked frames' successors' fingerprints, frame after frame.
    fps: Vec<u64>,
    /// The successors themselves, taken when explored (most are visited already and never are).
    states: Vec<Option<M::State>>,
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
        visited: FingerprintSet::default(),
        on_stack: hashbrown::HashMap::with_hasher(PassThrough),
        fewest: hashbrown::HashMap::with_hasher(PassThrough),
        scratch: Scratch::default(),
        stack: Vec::new(),
        actions: Vec::new(),
        fps: Vec::new(),
        states: Vec::new(),
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

    /// The stack key: the fingerprint, plus the last actor when preemptions are bounded (what
    /// counts as a preemption next depends on it).
    fn key(&self, fp: u64, last: Option<ActorId>) -> u64 {
        match self.options.max_preemptions {
            Some(_) => fingerprint(&(fp, last)),
            None => fp,
        }
    }

    /// Decides whether to explore a state reached with `last` and `preemptions`: `None` when an
    /// earlier visit covers this one, else its stack key and whether the state itself is new (it
    /// is then checked; a revisit with fewer preemptions is only expanded again, since the same
    /// state reached with fewer preemptions may go further).
    #[inline]
    fn visit(&mut self, fp: u64, last: Option<ActorId>, preemptions: u32) -> Option<(u64, bool)> {
        let key = self.key(fp, last);
        if self.options.max_preemptions.is_some() {
            match self.fewest.get(&key) {
                Some(&fewest) if fewest <= preemptions => return None,
                _ => {
                    self.fewest.insert(key, preemptions);
                }
            }
            Some((key, self.visited.insert(fp)))
        } else {
            self.visited.insert(fp).then_some((key, true))
        }
    }

    fn search(&mut self) {
        for (init, state) in self.model.init_states().into_iter().enumerate() {
            self.init = init;
            let state = self.canonical(state);
            let fp = fingerprint(&state);
            let Some((key, new)) = self.visit(fp, None, 0) else {
                continue;
            };
            self.push(state, fp, key, None, (None, 0), new);
            if self.stopping() || !self.run_stack() {
                return;
            }
        }
    }

    /// Drives the stack until it is empty; false when a budget or the first violation stopped it.
    fn run_stack(&mut self) -> bool {
        // Without reduction or a preemption bound, a step matters only when its successor is
        // new, so runs of visited successors are skipped in a tight loop.
        let plain = self.options.max_preemptions.is_none() && !self.track_stack();
        while let Some(top) = self.stack.last_mut() {
            if plain {
                let (base, start) = (top.successors, top.next);
                let fps = &self.fps[base + start..base + top.end];
                let new = fps.iter().position(|&fp| self.visited.insert(fp));
                let taken = new.map_or(fps.len(), |j| j + 1);
                top.next += taken;
                self.findings.transitions += taken as u64;
                if let Some(j) = new {
                    let k = start + j;
                    let i = top.actions + top.ample.as_ref().map_or(k, |a| a[k]);
                    let context = (self.model.actor_of(&self.actions[i]), top.preemptions);
                    let fp = self.fps[base + k];
                    let next = self.states[base + k].take().expect("taken once");
                    if self.descend(next, fp, fp, i, context, true) {
                        return false;
                    }
                    continue;
                }
            }
            if top.next >= top.end {
                let done = self.stack.pop().expect("non-empty stack");
                if self.track_stack() {
                    self.on_stack.remove(&done.key);
                }
                self.actions.truncate(done.actions);
                self.fps.truncate(done.successors);
                self.states.truncate(done.successors);
                continue;
            }
            let k = top.next;
            let i = top.actions + top.ample.as_ref().map_or(k, |a| a[k]);
            top.next += 1;
            let successor = top.successors + k;
            let fp = self.fps[successor];
            let actor = self.model.actor_of(&self.actions[i]);
            let Some(preemptions) = self.preemptions_after(actor) else {
                continue;
            };
            self.findings.transitions += 1;
            let mut next = None;
            if self.track_stack() && self.on_stack.contains_key(&self.key(fp, Some(actor))) {
                // Stack proviso (Spin's C3): an ample step closing a cycle forces the state to
                // be expanded fully (steps already taken are found visited again).
                let top = self.stack.last_mut().expect("non-empty stack");
                if top.ample.take().is_some() {
                    top.end = self.actions.len() - top.actions;
                    top.next = 0;
                    next = self.states[successor].take();
                    self.compute_successors();
                }
            }
            let Some((key, new)) = self.visit(fp, Some(actor), preemptions) else {
                continue;
            };
            let next = next
                .or_else(|| self.states[successor].take())
                .expect("each successor is taken once");
            if self.descend(next, fp, key, i, (actor, preemptions), new) {
                return false;
            }
        }
        true
    }

    /// Pushes `state`, reached from the top frame by action `i` in scheduling context
    /// `(actor, preemptions)`; true when the search must stop.
    fn descend(
        &mut self,
        state: M::State,
        fp: u64,
        key: u64,
        i: usize,
        (actor, preemptions): (ActorId, u32),
        new: bool,
    ) -> bool {
        let action = self.actions[i].clone();
        self.push(
            state,
            fp,
            key,
            Some(action),
            (Some(actor), preemptions),
            new,
        );
        self.stopping()
    }

    /// The preemption count after `actor` steps from the top frame, or `None` when that exceeds
    /// the bound.
    fn preemptions_after(&mut self, actor: ActorId) -> Option<u32> {
        let top = self.stack.last().expect("non-empty stack");
        let (Some(bound), Some(last)) = (self.options.max_preemptions, top.last_actor) else {
            return Some(top.preemptions);
        };
        let last_enabled = self.actions[top.actions..]
            .iter()
            .any(|a| self.model.actor_of(a) == last);
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

    /// Pushes a state reached by `via` in scheduling context `(last_actor, preemptions)`;
    /// properties are checked only when the state is `new`.
    fn push(
        &mut self,
        state: M::State,
        fp: u64,
        key: u64,
        via: Option<M::Action>,
        (last_actor, preemptions): (Option<ActorId>, u32),
        new: bool,
    ) {
        let depth = self.stack.len();
        self.report.max_depth = self.report.max_depth.max(depth);
        let actions = self.actions.len();
        self.model.actions(&state, &mut self.actions);
        let enabled = self.actions.len() - actions;
        if self.track_stack() {
            self.on_stack.insert(key, depth);
        }
        self.stack.push(Frame {
            state,
            key,
            actions,
            ample: None,
            end: 0,
            next: 0,
            successors: self.fps.len(),
            via,
            last_actor,
            preemptions,
        });
        // Successors first, so that their visited-set lookups are under way during the checks.
        let depth_cut = enabled > 0 && self.options.max_depth.is_some_and(|max| depth >= max);
        if enabled > 0 && !depth_cut {
            let mut ample = self.select();
            if depth == 0 && self.options.root_shard.is_some() {
                let all: Vec<usize> = ample.unwrap_or_else(|| (0..enabled).collect());
                ample = Some(
                    all.into_iter()
                        .filter(|&i| self.options.in_root_shard(i))
                        .collect(),
                );
            }
            let top = self.stack.last_mut().expect("just pushed");
            top.end = ample.as_ref().map_or(enabled, Vec::len);
            top.ample = ample;
            self.compute_successors();
        }
        let recorded = self.findings.recorded;
        let top = self.stack.last().expect("just pushed");
        if new {
            self.checker
                .state(&top.state, fp, depth, &mut self.findings);
        }
        if enabled == 0 {
            if new {
                self.checker
                    .terminal(&top.state, fp, depth, &mut self.findings);
                self.record_outcome(fp, depth);
            }
        } else if depth_cut {
            self.report.cut(Cut::Depth(depth));
        }
        if self.findings.recorded != recorded {
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

    /// Fills the top frame's successors for its choices and prefetches their visited-set slots
    /// (when the visited key is the fingerprint itself, i.e. without preemption bounding).
    fn compute_successors(&mut self) {
        let top = self.stack.last().expect("non-empty stack");
        let actions = &self.actions[top.actions..];
        self.fps.truncate(top.successors);
        self.states.truncate(top.successors);
        for k in 0..top.end {
            let i = top.ample.as_ref().map_or(k, |a| a[k]);
            let next = self.model.next_state(&top.state, &actions[i]);
            let next = if self.options.symmetry {
                self.model.canonical(&next).unwrap_or(next)
            } else {
                next
            };
            let fp = fingerprint(&next);
            self.visited.prefetch(fp);
            self.fps.push(fp);
            self.states.push(Some(next));
        }
    }

    /// The on-stack map is only needed for the reduction's cycle proviso.
    fn track_stack(&self) -> bool {
        self.reducer.is_some()
    }

    /// The proper persistent set to explore, or `None` for every action. The cycle proviso is
    /// checked lazily, as each ample step is explored (see `run_stack`).
    fn select(&mut self) -> Option<Vec<usize>> {
        let top = self.stack.last().expect("non-empty stack");
        let reducer = self.reducer.as_ref()?;
        let actions = &self.actions[top.actions..];
        match reducer.select(self.model, &top.state, actions, &mut self.scratch) {
            Selection::All => None,
            Selection::Ample(ample) => Some(ample),
        }
    }

    /// The path to the top of the stack, as steps a replay can follow from the concrete
    /// initial state (with symmetry reduction, each step is re-chosen from the concrete state).
    fn current_path(&self) -> Path<M> {
        if !self.options.symmetry {
            return Path {
                init: self.init,
                actions: self.stack.iter().filter_map(|f| f.via.clone()).collect(),
            };
        }
        let mut concrete = self.model.init_states()[self.init].clone();
        let mut actions = Vec::with_capacity(self.stack.len());
        let mut enabled = Vec::new();
        for frame in &self.stack[1..] {
            let target = fingerprint(&frame.state);
            enabled.clear();
            self.model.actions(&concrete, &mut enabled);
            let action = enabled
                .iter()
                .find(|a| {
                    fingerprint(&self.canonical(self.model.next_state(&concrete, a))) == target
                })
                .expect("a symmetric step exists in the concrete state")
                .clone();
            concrete = self.model.next_state(&concrete, &action);
            actions.push(action);
        }
        Path {
            init: self.init,
            actions,
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
