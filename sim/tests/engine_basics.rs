//! Hand-written examples whose answers are known exactly: a two-actor lost update (an `always`
//! violation whose BFS witness is a shortest path, exact outcome counts, a vacuous `sometimes`),
//! lock-order deadlock, `eventually` with and without a lasso, the first-violation cut, and one
//! regression test per engine bug found by the random-system suites.

// These run the engine on real threads; under loom or shuttle its atomics only work inside
// those checkers' executions (see loom_queue.rs and shuttle_explorer.rs).
#![cfg(not(any(loom, feature = "shuttle")))]

mod support;

use serde::Serialize;
use sim::minimise::{context_switches, drop_needless_preemptions, execute};
use sim::{
    explore, fingerprint, ActorId, Cut, Footprint, Model, Options, Property, Reduction, StepInfo,
    Strategy, Trace, ViolationKind,
};

const X: u8 = 0;
const FINISHED: u8 = 1;

/// Two actors each do `local := x; x := local + 1` (and count themselves in a ghost `finished`).
struct LostUpdate;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
struct Counter {
    x: u8,
    finished: u8,
    pc: [u8; 2],
    local: [u8; 2],
}

impl Model for LostUpdate {
    type State = Counter;
    type Action = u8;

    fn name(&self) -> String {
        "lost-update".into()
    }

    fn actors(&self) -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn init_states(&self) -> Vec<Counter> {
        vec![Counter {
            x: 0,
            finished: 0,
            pc: [0; 2],
            local: [0; 2],
        }]
    }

    fn actions(&self, s: &Counter, out: &mut Vec<u8>) {
        out.extend((0..2u8).filter(|&i| s.pc[i as usize] < 2));
    }

    fn next_state(&self, s: &Counter, &i: &u8) -> Counter {
        let mut n = s.clone();
        let i = i as usize;
        if n.pc[i] == 0 {
            n.local[i] = n.x;
        } else {
            n.x = n.local[i] + 1;
            n.finished += 1;
        }
        n.pc[i] += 1;
        n
    }

    fn step_info(&self, &i: &u8) -> StepInfo {
        StepInfo {
            actor: i as ActorId,
            label: "step".into(),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let both = Footprint::NONE.read(X).read(FINISHED);
        vec![
            Property::always("no lost update", |_: &Self, s: &Counter| s.x == s.finished)
                .reading(both),
            Property::at_end("x is 2", |_: &Self, s: &Counter| s.x == 2).reading(both),
            Property::sometimes("x reaches 2", |_: &Self, s: &Counter| s.x == 2)
                .reading(Footprint::NONE.read(X)),
            Property::sometimes("x reaches 3", |_: &Self, s: &Counter| s.x == 3)
                .reading(Footprint::NONE.read(X)),
        ]
    }

    fn footprint(&self, s: &Counter, &i: &u8) -> Footprint {
        if s.pc[i as usize] == 0 {
            Footprint::NONE.read(X)
        } else {
            Footprint::NONE.write(X).write(FINISHED)
        }
    }

    fn future_footprint(&self, s: &Counter, actor: ActorId) -> Footprint {
        if s.pc[actor as usize] < 2 {
            Footprint::NONE.write(X).write(FINISHED)
        } else {
            Footprint::NONE
        }
    }

    fn is_done(&self, s: &Counter) -> bool {
        s.pc == [2, 2]
    }

    fn outcome(&self, s: &Counter) -> Option<String> {
        Some(format!("x={}", s.x))
    }
}

fn exhaustive() -> Vec<Options> {
    let mut all = Vec::new();
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        for reduction in [Reduction::None, Reduction::Por] {
            for jobs in [1, 3] {
                all.push(Options {
                    strategy,
                    reduction,
                    jobs,
                    ..Options::default()
                });
            }
        }
    }
    all
}

#[test]
fn lost_update_is_found_with_a_shortest_witness() {
    let r = explore(&LostUpdate, &Options::default());
    assert!(r.complete);
    let v = &r.violations[0];
    assert_eq!(v.property, "no lost update");
    assert_eq!(v.kind, ViolationKind::Always);
    // Both reads must precede the second write: four steps, no fewer.
    let path = v.path.clone().expect("witness");
    assert_eq!(path.actions.len(), 4);
    let states = Trace::from_path(&LostUpdate, &path)
        .replay(&LostUpdate)
        .expect("replays");
    let end = states.last().expect("initial state");
    assert_eq!((end.x, end.finished), (1, 2));
    assert_eq!(fingerprint(end), v.fingerprint);
    assert!(states[..4].iter().all(|s| s.x == s.finished));

    // Minimisation: a lost update needs two switches (a reads, b reads and writes, a writes).
    let lost = |s: &Counter| s.x != s.finished;
    let short = drop_needless_preemptions(&LostUpdate, &path, lost);
    assert!(context_switches(&LostUpdate, &path) <= 3);
    assert_eq!(context_switches(&LostUpdate, &short), 2);
    assert!(execute(&LostUpdate, &short).is_some_and(|s| lost(&s)));
}

#[test]
fn lost_update_verdicts_and_outcome_counts() {
    for options in exhaustive() {
        let r = explore(&LostUpdate, &options);
        assert!(r.complete, "{options:?}");
        let names: Vec<&str> = r.violations.iter().map(|v| v.property.as_str()).collect();
        assert_eq!(names, ["no lost update", "x is 2"], "{options:?}");
        assert_eq!(r.vacuous, ["x reaches 3"], "{options:?}");
        // Terminal states: (x, local a, local b) = (2, 0, 1), (2, 1, 0) and (1, 0, 0).
        let counts: Vec<(&str, u64)> = r
            .outcomes
            .iter()
            .map(|(k, o)| (k.as_str(), o.count))
            .collect();
        assert_eq!(counts, [("x=1", 1), ("x=2", 2)], "{options:?}");
        assert_eq!(r.terminal, 3);
        assert_eq!(r.violating_terminal, 1);
        // By program counters: (0,0) 1, (1,0) 1, (0,1) 1, (2,0) 1, (0,2) 1, (1,1) 1,
        // (2,1) 2 (b read before or after a's write), (1,2) 2, (2,2) 3.
        if options.reduction == Reduction::None {
            assert_eq!(r.states, 13, "{options:?}");
        } else {
            assert!(r.states <= 13);
        }
    }
}

#[test]
fn stop_at_first_cuts_and_says_so() {
    // The lost update shows only in terminal states, so BFS finishes its last level anyway.
    let whole = Options {
        stop_at_first: true,
        ..Options::default()
    };
    let r = explore(&LostUpdate, &whole);
    assert!(r.violated() && r.complete && r.cuts.is_empty());
    // The deadlock is at depth 2, with more states beyond it.
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        let options = Options {
            strategy,
            ..whole.clone()
        };
        let r = explore(&Locks { opposite: true }, &options);
        assert!(r.violated());
        assert!(!r.complete);
        assert_eq!(r.cuts, [Cut::FirstViolation]);
    }
}

/// Two actors take two locks, in the same order or in opposite orders.
struct Locks {
    opposite: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
struct LockState {
    owner: [Option<u8>; 2],
    pc: [u8; 2],
}

impl Locks {
    /// The lock actor `i` takes at `pc` (0 or 1); pc 2 releases both.
    fn lock(&self, i: usize, pc: u8) -> usize {
        let first = if self.opposite { i } else { 0 };
        if pc == 0 {
            first
        } else {
            1 - first
        }
    }
}

impl Model for Locks {
    type State = LockState;
    type Action = u8;

    fn name(&self) -> String {
        "locks".into()
    }

    fn actors(&self) -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn init_states(&self) -> Vec<LockState> {
        vec![LockState {
            owner: [None; 2],
            pc: [0; 2],
        }]
    }

    fn actions(&self, s: &LockState, out: &mut Vec<u8>) {
        for i in 0..2 {
            let pc = s.pc[i];
            let enabled = match pc {
                0 | 1 => s.owner[self.lock(i, pc)].is_none(),
                2 => true,
                _ => false,
            };
            if enabled {
                out.push(i as u8);
            }
        }
    }

    fn next_state(&self, s: &LockState, &i: &u8) -> LockState {
        let mut n = s.clone();
        let a = i as usize;
        match n.pc[a] {
            pc @ (0 | 1) => n.owner[self.lock(a, pc)] = Some(i),
            _ => n.owner = [None; 2],
        }
        n.pc[a] += 1;
        n
    }

    fn step_info(&self, &i: &u8) -> StepInfo {
        StepInfo {
            actor: i as ActorId,
            label: "step".into(),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        Vec::new()
    }

    fn is_done(&self, s: &LockState) -> bool {
        s.pc == [3, 3]
    }
}

#[test]
fn lock_order_deadlock() {
    for options in exhaustive() {
        let r = explore(&Locks { opposite: true }, &options);
        assert!(r.complete);
        assert_eq!(r.violations.len(), 1, "{options:?}");
        let v = &r.violations[0];
        assert_eq!(
            (v.property.as_str(), v.kind),
            ("deadlock", ViolationKind::Deadlock)
        );
        let path = v.path.clone().expect("witness");
        let model = Locks { opposite: true };
        let end = execute(&model, &path).expect("executes");
        let mut enabled = Vec::new();
        model.actions(&end, &mut enabled);
        assert!(enabled.is_empty() && !model.is_done(&end));
        assert_eq!(end.owner, [Some(0), Some(1)]);
        if options.strategy == Strategy::Bfs {
            assert_eq!(path.actions.len(), 2);
        }

        let ordered = explore(&Locks { opposite: false }, &options);
        assert!(
            ordered.complete && ordered.violations.is_empty(),
            "{options:?}"
        );
        assert_eq!(ordered.violating_terminal, 0);
    }
}

/// A spinner toggles a flag forever (or, when `can_stop`, stops in one step); a setter sets
/// `done` once.
struct Spin {
    can_stop: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
struct SpinState {
    flag: bool,
    stopped: bool,
    done: bool,
}

impl Model for Spin {
    type State = SpinState;
    type Action = (u8, u8);

    fn name(&self) -> String {
        "spin".into()
    }

    fn actors(&self) -> Vec<String> {
        vec!["spinner".into(), "setter".into()]
    }

    fn init_states(&self) -> Vec<SpinState> {
        vec![SpinState {
            flag: false,
            stopped: false,
            done: false,
        }]
    }

    fn actions(&self, s: &SpinState, out: &mut Vec<(u8, u8)>) {
        if !s.stopped {
            out.push((0, 0));
        }
        if !s.done {
            out.push((1, 0));
        }
    }

    fn next_state(&self, s: &SpinState, a: &(u8, u8)) -> SpinState {
        let mut n = s.clone();
        match a.0 {
            0 if self.can_stop => n.stopped = true,
            0 => n.flag = !n.flag,
            _ => n.done = true,
        }
        n
    }

    fn step_info(&self, a: &(u8, u8)) -> StepInfo {
        StepInfo {
            actor: a.0 as ActorId,
            label: "step".into(),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("done", |_: &Self, s: &SpinState| {
            s.done
        })]
    }
}

#[test]
fn eventually_reports_a_lasso_that_replays() {
    for options in exhaustive() {
        let r = explore(&Spin { can_stop: false }, &options);
        let v = r
            .violations
            .iter()
            .find(|v| v.property == "done")
            .expect("the spinner can starve the setter");
        let start = v.lasso_start.expect("a cycle, not a terminal state");
        let path = v.path.clone().expect("witness");
        let mut trace = Trace::from_path(&Spin { can_stop: false }, &path);
        trace.lasso_start = Some(start);
        let trace = Trace::from_yaml(&trace.to_yaml()).expect("round trip");
        let states = trace.replay(&Spin { can_stop: false }).expect("replays");
        assert_eq!(states[start], *states.last().expect("states"));
        assert!(start < path.actions.len());
        assert!(states.iter().all(|s| !s.done));
        assert_eq!(fingerprint(states.last().expect("states")), v.fingerprint);
    }
}

#[test]
fn eventually_holds_when_every_path_reaches_it() {
    // The spinner stops at once, so every path ends with the setter having set `done`.
    for options in exhaustive() {
        let r = explore(&Spin { can_stop: true }, &options);
        assert!(r.complete);
        assert!(r.violations.is_empty(), "{options:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions for the engine bugs the random-system suites found.

/// Portfolio returned its exhaustive BFS member's report without checking `eventually`
/// properties, so a complete portfolio claimed a violated `eventually` held.
#[test]
fn complete_portfolio_checks_eventually() {
    let r = explore(
        &Spin { can_stop: false },
        &Options {
            strategy: Strategy::Portfolio { runs: 5 },
            ..Options::default()
        },
    );
    assert!(r.complete);
    assert!(r.violations.iter().any(|v| v.property == "done"));
}

/// With a preemption bound, DFS counted (state, last actor, preemptions) triples as states and
/// checked a terminal state once per triple, inflating `states`, `terminal` and outcome counts.
#[test]
fn preemption_bounded_dfs_counts_distinct_states() {
    let dfs = Options {
        strategy: Strategy::Dfs,
        ..Options::default()
    };
    let free = explore(&LostUpdate, &dfs);
    let bounded = explore(
        &LostUpdate,
        &Options {
            max_preemptions: Some(10),
            ..dfs
        },
    );
    assert!(bounded.complete);
    assert_eq!(bounded.states, free.states);
    assert_eq!(bounded.terminal, free.terminal);
    assert_eq!(bounded.outcomes["x=2"].count, 2);
}

/// Random walks kept the first walk to an outcome as its witness but the shallowest terminal
/// state's fingerprint, so the witness could end in another state than the report named.
#[test]
fn random_outcome_witness_reaches_the_reported_state() {
    for seed in 0..20 {
        let r = explore(
            &LostUpdate,
            &Options {
                strategy: Strategy::Random { runs: 30 },
                seed,
                ..Options::default()
            },
        );
        for o in r.outcomes.values() {
            let end = execute(&LostUpdate, o.path.as_ref().expect("witness")).expect("runs");
            assert_eq!(fingerprint(&end), o.fingerprint, "seed {seed}");
        }
    }
}

/// DFS with symmetry recorded steps taken from representatives, which a replay from the
/// concrete initial state cannot follow once actors are permuted.
#[test]
fn dfs_symmetry_witnesses_replay() {
    use support::{Op, OutcomeMode, Program, Sys};
    let program = Program {
        ops: vec![Op::Read(0), Op::Incr(0), Op::WriteLocal(0)],
        loop_to: None,
        exits: false,
    };
    let sys = Sys {
        m: 3,
        vars: 1,
        cap: 0,
        inits: vec![vec![0]],
        programs: vec![program; 3],
        always: Vec::new(),
        at_end: Vec::new(),
        sometimes: Vec::new(),
        eventually: Vec::new(),
        outcome: OutcomeMode::Full,
        symmetric: true,
    };
    let r = explore(
        &sys,
        &Options {
            strategy: Strategy::Dfs,
            symmetry: true,
            ..Options::default()
        },
    );
    assert!(r.outcomes.len() > 1);
    for o in r.outcomes.values() {
        let path = o.path.as_ref().expect("witness");
        let states = support::run_path(&sys, path).expect("the witness executes");
        let end = states.last().expect("states");
        assert_eq!(support::reported_fp(&sys, true, end), o.fingerprint);
        Trace::from_path(&sys, path).replay(&sys).expect("replays");
    }
}
