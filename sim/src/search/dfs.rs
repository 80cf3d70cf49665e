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
    /// Offset of the enabled actions in `Dfs::actions`, and their number.
    actions: usize,
    enabled: usize,
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
    /// The top frame's choice whose expansion was computed ahead (see `look_ahead`).
    ahead: Option<Ahead>,
    /// The visited set's size from which to look ahead ([`LOOK_AHEAD_FROM`]).
    look_ahead_from: usize,
    init: usize,
    outcome_paths: HashMap<String, (usize, u64, Path<M>)>,
    started: Instant,
}

/// The visited set's size from which `look_ahead` pays (about 4 MiB of table): below it, lookups
/// mostly hit the cache and there is no wait to fill.
const LOOK_AHEAD_FROM: usize = 1 << 18;

/// How often (in visited states) the DFS publishes its [`Live`](super::Live) figures.
const LIVE_EVERY: usize = 4096;

/// A child of the top frame expanded ahead of its visit: its enabled actions and its successors
/// sit at the ends of the arenas, right where pushing it would put them.
struct Ahead {
    /// Which of the top frame's choices leads to it.
    choice: usize,
    /// Its number of enabled actions.
    enabled: usize,
}

/// How the search reaches a state from the top frame.
#[derive(Clone, Copy)]
struct Arrival {
    /// The action's index in `Dfs::actions`.
    action: usize,
    /// Which of the frame's choices it is, where `look_ahead` may have expanded it.
    choice: Option<usize>,
    /// Who steps, and the preemptions so far including this step.
    actor: ActorId,
    preemptions: u32,
}

/// Runs the search.
pub(super) fn run<M: Model>(model: &M, options: &Options) -> Report<M> {
    run_with(model, options, LOOK_AHEAD_FROM)
}

/// `run`, looking ahead once the visited set holds `look_ahead_from` states.
fn run_with<M: Model>(model: &M, options: &Options, look_ahead_from: usize) -> Report<M> {
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
        ahead: None,
        look_ahead_from,
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
            self.push(state, fp, key, None, new);
            if self.stopping() || !self.run_stack() {
                return;
            }
        }
    }

    /// Drives the stack until it is empty; false when a budget or the first violation stopped it.
    fn run_stack(&mut self) -> bool {
        let plain = self.plain();
        while let Some(top) = self.stack.last_mut() {
            if plain {
                // A step matters only when its successor is new: runs of visited successors are
                // skipped in a tight loop.
                let (base, start) = (top.successors, top.next);
                let fps = &self.fps[base + start..base + top.end];
                let new = fps.iter().position(|&fp| self.visited.insert(fp));
                let taken = new.map_or(fps.len(), |j| j + 1);
                top.next += taken;
                self.findings.transitions += taken as u64;
                if let Some(j) = new {
                    let k = start + j;
                    let action = top.actions + top.ample.as_ref().map_or(k, |a| a[k]);
                    let arrival = Arrival {
                        action,
                        choice: Some(k),
                        actor: self.model.actor_of(&self.actions[action]),
                        preemptions: top.preemptions,
                    };
                    let fp = self.fps[base + k];
                    let next = self.states[base + k].take().expect("taken once");
                    self.push(next, fp, fp, Some(arrival), true);
                    if self.stopping() {
                        return false;
                    }
                    continue;
                }
            }
            if top.next >= top.end {
                let done = self.stack.pop().expect("non-empty stack");
                self.ahead = None;
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
                    top.end = top.enabled;
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
            let arrival = Arrival {
                action: i,
                choice: None,
                actor,
                preemptions,
            };
            self.push(next, fp, key, Some(arrival), new);
            if self.stopping() {
                return false;
            }
        }
        true
    }

    /// Whether steps have no effect beyond their successor: no reduction (whose stack proviso
    /// looks at the stack) and no preemption bound (whose count depends on the path).
    fn plain(&self) -> bool {
        self.options.max_preemptions.is_none() && !self.track_stack()
    }

    /// The preemption count after `actor` steps from the top frame, or `None` when that exceeds
    /// the bound.
    fn preemptions_after(&mut self, actor: ActorId) -> Option<u32> {
        let top = self.stack.last().expect("non-empty stack");
        let (Some(bound), Some(last)) = (self.options.max_preemptions, top.last_actor) else {
            return Some(top.preemptions);
        };
        let last_enabled = self.actions[top.actions..top.actions + top.enabled]
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
        if let Some(live) = &self.options.live {
            if self.visited.len().is_multiple_of(LIVE_EVERY) {
                let height = self.stack.len() as u64;
                live.publish(self.visited.len() as u64, height, height);
            }
        }
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

    /// Pushes a state reached from the top frame as `arrival` says (`None` for an initial
    /// state); properties are checked only when the state is `new`.
    fn push(&mut self, state: M::State, fp: u64, key: u64, arrival: Option<Arrival>, new: bool) {
        let depth = self.stack.len();
        self.report.max_depth = self.report.max_depth.max(depth);
        let via = arrival.map(|a| self.actions[a.action].clone());
        // The new frame's entries follow the top frame's, which end where those of a child
        // expanded ahead begin; that expansion is this state's own when the choices agree.
        let ahead = self.ahead.take();
        let beyond = ahead.as_ref().map_or(0, |a| a.enabled);
        let (actions, successors) = (self.actions.len() - beyond, self.fps.len() - beyond);
        let (enabled, expanded) = match ahead {
            Some(a) if Some(a.choice) == arrival.and_then(|a| a.choice) => (a.enabled, true),
            _ => {
                self.actions.truncate(actions);
                self.fps.truncate(successors);
                self.states.truncate(successors);
                self.model.actions(&state, &mut self.actions);
                (self.actions.len() - actions, false)
            }
        };
        if self.track_stack() {
            self.on_stack.insert(key, depth);
        }
        self.stack.push(Frame {
            state,
            key,
            actions,
            enabled,
            ample: None,
            end: 0,
            next: 0,
            successors,
            via,
            last_actor: arrival.map(|a| a.actor),
            preemptions: arrival.map_or(0, |a| a.preemptions),
        });
        // Successors first, so that their visited-set lookups are under way during the checks.
        let depth_cut = enabled > 0 && self.options.max_depth.is_some_and(|max| depth >= max);
        if expanded {
            debug_assert!(!depth_cut, "no look-ahead at the depth bound");
            self.stack.last_mut().expect("just pushed").end = enabled;
            self.look_ahead(depth);
        } else if enabled > 0 && !depth_cut {
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
            self.look_ahead(depth);
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
        let actions = &self.actions[top.actions..top.actions + top.enabled];
        self.fps.truncate(top.successors);
        self.states.truncate(top.successors);
        expand(
            self.model,
            self.options.symmetry,
            &self.visited,
            &top.state,
            (0..top.end).map(|k| &actions[top.ample.as_ref().map_or(k, |a| a[k])]),
            (&mut self.fps, &mut self.states),
        );
    }

    /// Expands ahead the top frame's child most likely to be pushed next, so that its
    /// successors' visited-set lookups are under way while the top frame's own ones complete
    /// (each push otherwise waits for one memory access). The guess: the first choice whose
    /// actor is not below the one that led here, since steps of lower actors usually commute
    /// with that step and so reach states the search has seen. Only for plain searches (no
    /// reduction, no preemption bound), where a pushed child's expansion depends on nothing else.
    fn look_ahead(&mut self, depth: usize) {
        if !self.plain()
            || self.visited.len() < self.look_ahead_from
            || self.options.max_depth.is_some_and(|max| depth + 1 >= max)
        {
            return;
        }
        let top = self.stack.last().expect("non-empty stack");
        if top.end == 0 {
            return;
        }
        let actions = &self.actions[top.actions..top.actions + top.enabled];
        let actor = |k: usize| {
            let i = top.ample.as_ref().map_or(k, |a| a[k]);
            self.model.actor_of(&actions[i])
        };
        let choice = match top.last_actor {
            Some(last) => (0..top.end).find(|&k| actor(k) >= last),
            None => Some(0),
        };
        let Some(slot) = choice.map(|k| top.successors + k) else {
            return;
        };
        // borrowed out of its slot for the expansion, not cloned
        let Some(state) = self.states[slot].take() else {
            return;
        };
        let start = self.actions.len();
        self.model.actions(&state, &mut self.actions);
        expand(
            self.model,
            self.options.symmetry,
            &self.visited,
            &state,
            self.actions[start..].iter(),
            (&mut self.fps, &mut self.states),
        );
        self.states[slot] = Some(state);
        self.ahead = choice.map(|choice| Ahead {
            choice,
            enabled: self.actions.len() - start,
        });
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
        let actions = &self.actions[top.actions..top.actions + top.enabled];
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

/// Appends the successors of `state` by `actions` and their fingerprints to the arenas, and
/// starts fetching their visited-set slots, so that the lookups overlap.
fn expand<'a, M: Model>(
    model: &M,
    symmetry: bool,
    visited: &FingerprintSet,
    state: &M::State,
    actions: impl Iterator<Item = &'a M::Action>,
    (fps, states): (&mut Vec<u64>, &mut Vec<Option<M::State>>),
) where
    M::Action: 'a,
{
    for action in actions {
        let next = model.next_state(state, action);
        let next = if symmetry {
            model.canonical(&next).unwrap_or(next)
        } else {
            next
        };
        let fp = fingerprint(&next);
        visited.prefetch(fp);
        fps.push(fp);
        states.push(Some(next));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Footprint, Property, StepInfo};
    use std::fmt::Write;

    /// Three actors of four steps each over a shared total that they add to and, at their
    /// second step, double (mod 7): steps commute in some states and not in others, so looking
    /// ahead guesses right and wrong.
    struct Churn;

    impl Model for Churn {
        type State = ([u8; 3], u8);
        type Action = usize;

        fn name(&self) -> String {
            "churn".into()
        }
        fn actors(&self) -> Vec<String> {
            (0..3).map(|i| format!("a{i}")).collect()
        }
        fn init_states(&self) -> Vec<Self::State> {
            vec![([0; 3], 0)]
        }
        fn actions(&self, (pcs, _): &Self::State, out: &mut Vec<usize>) {
            out.extend((0..3).filter(|&i| pcs[i] < 4));
        }
        fn next_state(&self, (pcs, total): &Self::State, &i: &usize) -> Self::State {
            let mut pcs = *pcs;
            pcs[i] += 1;
            let total = match pcs[i] {
                2 => total * 2 % 7,
                _ => (total + i as u8 + 1) % 7,
            };
            (pcs, total)
        }
        fn step_info(&self, &i: &usize) -> StepInfo {
            StepInfo {
                actor: i as ActorId,
                label: "step".into(),
                upstream: None,
            }
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("total is not 5", |_, s: &Self::State| s.1 != 5),
                Property::at_end("total is even", |_, s: &Self::State| s.1 % 2 == 0),
            ]
        }
        fn footprint(&self, _: &Self::State, _: &usize) -> Footprint {
            Footprint::ALL
        }
        fn outcome(&self, s: &Self::State) -> Option<String> {
            Some(format!("total {}", s.1))
        }
    }

    fn digest(r: &Report<Churn>) -> String {
        let mut out = format!(
            "{} {} {} {} {} {} {:?}\n",
            r.states,
            r.transitions,
            r.terminal,
            r.violating_terminal,
            r.max_depth,
            r.complete,
            r.cuts
        );
        for v in &r.violations {
            let _ = writeln!(
                out,
                "{} {:x} {} {:?}",
                v.property, v.fingerprint, v.depth, v.path
            );
        }
        for (name, o) in &r.outcomes {
            let _ = writeln!(
                out,
                "{name} {} {:x} {} {:?}",
                o.count, o.fingerprint, o.depth, o.path
            );
        }
        out
    }

    #[test]
    fn looking_ahead_changes_nothing_but_speed() {
        let cases = [
            Options::default(),
            Options {
                max_depth: Some(7),
                ..Options::default()
            },
            Options {
                max_states: Some(200),
                ..Options::default()
            },
            Options {
                stop_at_first: true,
                ..Options::default()
            },
            Options {
                root_shard: Some((1, 2)),
                ..Options::default()
            },
        ];
        for options in cases {
            let options = Options {
                strategy: super::super::Strategy::Dfs,
                ..options
            };
            let ahead = run_with(&Churn, &options, 0);
            let never = run_with(&Churn, &options, usize::MAX);
            assert!(ahead.states > 1);
            assert_eq!(digest(&ahead), digest(&never), "{options:?}");
        }
    }
}
