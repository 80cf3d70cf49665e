//! Shared test support: small random actor systems (a [`Model`] with exact footprints), proptest
//! strategies that generate them, an independent reference explorer, and report comparisons.
//!
//! A system has 2–4 actors, each running a short program (2–5 steps) over 1–3 shared integer
//! variables (values modulo `m`), an optional bounded FIFO channel and one private local: reads,
//! writes of constants or the local, guarded (blocking) awaits, two-way nondeterministic writes,
//! increments, sends and receives. A program may end in a jump back to an earlier step (with or
//! without the choice of exiting), which puts cycles into the state graph; some systems also get
//! a spinner, a local loop that makes the reduction's cycle proviso necessary. Each actor mostly
//! uses its own "home" variable, so that actors are often independent. Every step declares
//! exactly the shared objects it reads (including its guard) and writes; an actor's future
//! footprint is the union over what it may still execute. Symmetric systems run identical
//! copies of one program over shared globals and declare `canonical` (actor blocks sorted).
//!
//! Properties are random predicates over the shared variables and the channel (`always`,
//! `at_end`, `sometimes`, optionally `eventually`), mostly with their read sets declared; the
//! outcome of a terminal state is the whole state (so outcomes are the terminal states) or only
//! its shared part. A system is done when every actor is at its end, so a blocked actor makes a
//! deadlock.

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;
use sim::search::Path;
use sim::{
    fingerprint, ActorId, Footprint, Model, ObjectId, Options, Property, Reduction, Report,
    StepInfo, Strategy as Search, Trace, ViolationKind,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Most shared variables a system has.
pub const MAX_VARS: usize = 3;
/// The object id of the channel (variables use `0..MAX_VARS`).
pub const CHAN: ObjectId = MAX_VARS as ObjectId;

/// One step of a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `local := x[v]`.
    Read(u8),
    /// `x[v] := k`.
    Write(u8, u8),
    /// `x[v] := local`.
    WriteLocal(u8),
    /// Blocks until `x[v] == k`.
    Await(u8, u8),
    /// `x[v] := a` or `x[v] := b` (two actions; `a != b`).
    Choose(u8, u8, u8),
    /// `x[v] := (x[v] + 1) mod m`.
    Incr(u8),
    /// Pushes `k` onto the channel; blocks while it is full.
    Send(u8),
    /// Pushes `local`; blocks while the channel is full.
    SendLocal,
    /// Pops the channel into `local`; blocks while it is empty.
    Recv,
    /// `local := (local + 1) mod m`: touches nothing shared.
    Local,
}

impl Op {
    fn footprint(self) -> Footprint {
        let f = Footprint::NONE;
        match self {
            Op::Read(v) | Op::Await(v, _) => f.read(v),
            Op::Write(v, _) | Op::WriteLocal(v) | Op::Choose(v, _, _) | Op::Incr(v) => f.write(v),
            Op::Send(_) | Op::SendLocal | Op::Recv => f.write(CHAN),
            Op::Local => f,
        }
    }

    fn label(self) -> String {
        match self {
            Op::Read(v) => format!("l:=x{v}"),
            Op::Write(v, k) => format!("x{v}:={k}"),
            Op::WriteLocal(v) => format!("x{v}:=l"),
            Op::Await(v, k) => format!("await x{v}=={k}"),
            Op::Choose(v, a, b) => format!("x{v}:={a}|{b}"),
            Op::Incr(v) => format!("x{v}++"),
            Op::Send(k) => format!("send {k}"),
            Op::SendLocal => "send l".to_string(),
            Op::Recv => "recv".to_string(),
            Op::Local => "l++".to_string(),
        }
    }
}

/// One actor's program: its steps, then (when `loop_to` is set) a jump back to `loop_to`, or,
/// when `exits`, a choice between that jump and exiting. A loop without exit never finishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub ops: Vec<Op>,
    pub loop_to: Option<u8>,
    pub exits: bool,
}

impl Program {
    /// The pc at which the actor is done.
    pub fn end(&self) -> u8 {
        self.ops.len() as u8 + u8::from(self.loop_to.is_some())
    }

    /// Everything the actor may still touch from `pc` on.
    fn future(&self, pc: u8) -> Footprint {
        let pc = pc as usize;
        if pc > self.ops.len() || (pc == self.ops.len() && self.loop_to.is_none()) {
            return Footprint::NONE;
        }
        let from = match self.loop_to {
            Some(t) => pc.min(t as usize),
            None => pc,
        };
        self.ops[from.min(self.ops.len())..]
            .iter()
            .fold(Footprint::NONE, |f, op| f.union(op.footprint()))
    }
}

/// A predicate over the shared variables and the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pred {
    VarEq(u8, u8),
    VarNe(u8, u8),
    /// Not (`x[a] == i` and `x[b] == j`).
    NotBoth(u8, u8, u8, u8),
    /// `x[a] + x[b] != k`.
    SumNe(u8, u8, u8),
    /// The channel holds at most `n` messages.
    ChanAtMost(u8),
}

impl Pred {
    pub fn holds(self, s: &St) -> bool {
        let x = |v: u8| s.vars[v as usize];
        match self {
            Pred::VarEq(v, k) => x(v) == k,
            Pred::VarNe(v, k) => x(v) != k,
            Pred::NotBoth(a, i, b, j) => !(x(a) == i && x(b) == j),
            Pred::SumNe(a, b, k) => x(a) + x(b) != k,
            Pred::ChanAtMost(n) => s.chan.len() <= n as usize,
        }
    }

    /// The objects the predicate reads.
    pub fn reads(self) -> Footprint {
        let f = Footprint::NONE;
        match self {
            Pred::VarEq(v, _) | Pred::VarNe(v, _) => f.read(v),
            Pred::NotBoth(a, _, b, _) | Pred::SumNe(a, b, _) => f.read(a).read(b),
            Pred::ChanAtMost(_) => f.read(CHAN),
        }
    }
}

/// A generated property: its predicate and whether its read set is declared (otherwise the
/// conservative default, everything, is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropSpec {
    pub pred: Pred,
    pub declared: bool,
}

/// What `outcome` returns for a terminal state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeMode {
    /// The whole state: outcomes are then exactly the terminal states.
    Full,
    /// Only the shared variables and the channel: several terminal states per outcome.
    Shared,
}

/// A small random actor system.
#[derive(Clone, Debug)]
pub struct Sys {
    /// Values are taken modulo `m`.
    pub m: u8,
    /// Number of shared variables.
    pub vars: usize,
    /// Channel capacity; 0 means no channel.
    pub cap: usize,
    /// The initial values of the variables, one vector per initial state.
    pub inits: Vec<Vec<u8>>,
    /// One program per actor.
    pub programs: Vec<Program>,
    pub always: Vec<PropSpec>,
    pub at_end: Vec<PropSpec>,
    pub sometimes: Vec<PropSpec>,
    pub eventually: Vec<PropSpec>,
    pub outcome: OutcomeMode,
    /// Every actor runs the same program: `canonical` sorts the actors' local blocks.
    pub symmetric: bool,
}

/// One actor's locals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Loc {
    pub pc: u8,
    pub local: u8,
}

/// The whole state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct St {
    pub vars: Vec<u8>,
    pub chan: Vec<u8>,
    pub actors: Vec<Loc>,
}

/// An action: the actor, the pc of its step, and its choice (0 unless the step is a two-way
/// choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Act {
    pub actor: u8,
    pub pc: u8,
    pub choice: u8,
}

/// What a step at `pc` of `program` is.
enum At {
    Op(Op),
    /// Jump back to the pc (and, when the flag is set, the alternative of exiting).
    LoopOrExit(u8, bool),
    Done,
}

impl Sys {
    fn at(&self, actor: usize, pc: u8) -> At {
        let p = &self.programs[actor];
        match p.ops.get(pc as usize) {
            Some(&op) => At::Op(op),
            None if pc as usize == p.ops.len() => match p.loop_to {
                Some(t) => At::LoopOrExit(t, p.exits),
                None => At::Done,
            },
            None => At::Done,
        }
    }

    /// The outcome string of a state as [`OutcomeMode::Full`] writes it: `vars|chan|a;b;c`.
    pub fn full_string(s: &St) -> String {
        let actors: Vec<String> = s
            .actors
            .iter()
            .map(|l| format!("{}.{}", l.pc, l.local))
            .collect();
        format!("{:?}|{:?}|{}", s.vars, s.chan, actors.join(";"))
    }

    /// The state with its actor blocks sorted (the symmetry representative).
    pub fn sorted(s: &St) -> St {
        let mut c = s.clone();
        c.actors.sort();
        c
    }

    /// Every enabled action and its successor.
    pub fn successors(&self, s: &St) -> Vec<(Act, St)> {
        let mut acts = Vec::new();
        self.actions(s, &mut acts);
        acts.iter().map(|a| (*a, self.next_state(s, a))).collect()
    }

    /// The model with symmetry turned off (same transition system, no `canonical`).
    pub fn asymmetric(&self) -> Sys {
        Sys {
            symmetric: false,
            ..self.clone()
        }
    }
}

impl Model for Sys {
    type State = St;
    type Action = Act;

    fn name(&self) -> String {
        "random-system".to_string()
    }

    fn version(&self) -> u32 {
        3
    }

    fn actors(&self) -> Vec<String> {
        (0..self.programs.len()).map(|i| format!("p{i}")).collect()
    }

    fn init_states(&self) -> Vec<St> {
        self.inits
            .iter()
            .map(|vars| St {
                vars: vars.clone(),
                chan: Vec::new(),
                actors: vec![Loc { pc: 0, local: 0 }; self.programs.len()],
            })
            .collect()
    }

    fn actions(&self, s: &St, out: &mut Vec<Act>) {
        for (i, loc) in s.actors.iter().enumerate() {
            let actor = i as u8;
            let pc = loc.pc;
            let one = Act {
                actor,
                pc,
                choice: 0,
            };
            match self.at(i, loc.pc) {
                At::Op(Op::Await(v, k)) if s.vars[v as usize] != k => {}
                At::Op(Op::Send(_) | Op::SendLocal) if s.chan.len() >= self.cap => {}
                At::Op(Op::Recv) if s.chan.is_empty() => {}
                At::Op(Op::Choose(..)) | At::LoopOrExit(_, true) => {
                    out.push(one);
                    out.push(Act {
                        actor,
                        pc,
                        choice: 1,
                    });
                }
                At::Op(_) | At::LoopOrExit(_, false) => out.push(one),
                At::Done => {}
            }
        }
    }

    fn next_state(&self, s: &St, a: &Act) -> St {
        let mut n = s.clone();
        let i = a.actor as usize;
        let loc = &mut n.actors[i];
        assert_eq!(loc.pc, a.pc, "action {a:?} taken at another pc");
        match self.at(i, loc.pc) {
            At::Op(op) => {
                loc.pc += 1;
                match op {
                    Op::Read(v) => loc.local = n.vars[v as usize],
                    Op::Write(v, k) => n.vars[v as usize] = k,
                    Op::WriteLocal(v) => n.vars[v as usize] = loc.local,
                    Op::Await(..) => {}
                    Op::Choose(v, x, y) => n.vars[v as usize] = if a.choice == 0 { x } else { y },
                    Op::Incr(v) => n.vars[v as usize] = (n.vars[v as usize] + 1) % self.m,
                    Op::Send(k) => n.chan.push(k),
                    Op::SendLocal => n.chan.push(loc.local),
                    Op::Recv => loc.local = n.chan.remove(0),
                    Op::Local => loc.local = (loc.local + 1) % self.m,
                }
            }
            At::LoopOrExit(t, _) => {
                loc.pc = if a.choice == 0 { t } else { loc.pc + 1 };
            }
            At::Done => panic!("no step for a finished actor"),
        }
        n
    }

    fn step_info(&self, a: &Act) -> StepInfo {
        let label = match self.at(a.actor as usize, a.pc) {
            At::Op(op) => format!("{}:{}", a.pc, op.label()),
            At::LoopOrExit(t, true) => format!("{}:loop to {t} or exit", a.pc),
            At::LoopOrExit(t, false) => format!("{}:loop to {t}", a.pc),
            At::Done => format!("{}:done", a.pc),
        };
        StepInfo {
            actor: a.actor as ActorId,
            label,
            upstream: None,
        }
    }

    fn actor_of(&self, a: &Act) -> ActorId {
        a.actor as ActorId
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut props = Vec::new();
        let declare = |p: Property<Sys>, spec: &PropSpec| {
            if spec.declared {
                p.reading(spec.pred.reads())
            } else {
                p
            }
        };
        for (i, spec) in self.always.iter().enumerate() {
            let pred = spec.pred;
            let p = Property::always(&format!("always{i}"), move |_: &Sys, s: &St| pred.holds(s));
            props.push(declare(p, spec));
        }
        for (i, spec) in self.at_end.iter().enumerate() {
            let pred = spec.pred;
            let p = Property::at_end(&format!("at_end{i}"), move |_: &Sys, s: &St| pred.holds(s));
            props.push(declare(p, spec));
        }
        for (i, spec) in self.sometimes.iter().enumerate() {
            let pred = spec.pred;
            let p = Property::sometimes(&format!("sometimes{i}"), move |_: &Sys, s: &St| {
                pred.holds(s)
            });
            props.push(declare(p, spec));
        }
        for (i, spec) in self.eventually.iter().enumerate() {
            let pred = spec.pred;
            let p = Property::eventually(&format!("eventually{i}"), move |_: &Sys, s: &St| {
                pred.holds(s)
            });
            props.push(declare(p, spec));
        }
        props
    }

    fn footprint(&self, s: &St, a: &Act) -> Footprint {
        let i = a.actor as usize;
        match self.at(i, s.actors[i].pc) {
            At::Op(op) => op.footprint(),
            At::LoopOrExit(..) | At::Done => Footprint::NONE,
        }
    }

    fn future_footprint(&self, s: &St, actor: ActorId) -> Footprint {
        let i = actor as usize;
        self.programs[i].future(s.actors[i].pc)
    }

    fn is_done(&self, s: &St) -> bool {
        s.actors
            .iter()
            .zip(&self.programs)
            .all(|(l, p)| l.pc == p.end())
    }

    fn outcome(&self, s: &St) -> Option<String> {
        Some(match self.outcome {
            OutcomeMode::Full => Sys::full_string(s),
            OutcomeMode::Shared => format!("{:?}|{:?}", s.vars, s.chan),
        })
    }

    fn canonical(&self, s: &St) -> Option<St> {
        self.symmetric.then(|| Sys::sorted(s))
    }
}

// ---------------------------------------------------------------------------------------------
// Generation.

/// Shape parameters of generated systems.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Whether some programs loop.
    pub loops: bool,
    /// Whether to add `eventually` properties.
    pub eventually: bool,
}

/// One step. With a `home` variable, three in four steps use it (so that actors with different
/// homes are often independent and the reduction has something to reduce).
fn op(vars: u8, home: Option<u8>, m: u8, chan: bool) -> BoxedStrategy<Op> {
    let v = match home {
        Some(h) => prop_oneof![3 => Just(h), 1 => 0..vars].boxed(),
        None => (0..vars).boxed(),
    };
    let k = 0..m;
    let shared = prop_oneof![
        3 => v.clone().prop_map(Op::Read),
        3 => (v.clone(), k.clone()).prop_map(|(v, k)| Op::Write(v, k)),
        2 => v.clone().prop_map(Op::WriteLocal),
        2 => (v.clone(), k.clone()).prop_map(|(v, k)| Op::Await(v, k)),
        2 => (v.clone(), k.clone(), 1..m).prop_map(move |(v, a, d)| Op::Choose(v, a, (a + d) % m)),
        3 => v.prop_map(Op::Incr),
        1 => Just(Op::Local),
    ];
    if chan {
        prop_oneof![
            8 => shared,
            1 => k.prop_map(Op::Send),
            1 => Just(Op::SendLocal),
            2 => Just(Op::Recv),
        ]
        .boxed()
    } else {
        shared.boxed()
    }
}

fn program(
    vars: u8,
    home: Option<u8>,
    m: u8,
    chan: bool,
    len: std::ops::RangeInclusive<usize>,
    loops: bool,
) -> BoxedStrategy<Program> {
    prop::collection::vec(op(vars, home, m, chan), len)
        .prop_flat_map(move |ops| {
            let n = ops.len() as u8;
            let loop_to = if loops {
                prop_oneof![2 => Just(None), 1 => (0..n).prop_map(Some)].boxed()
            } else {
                Just(None).boxed()
            };
            (Just(ops), loop_to, prop::bool::weighted(0.7))
        })
        .prop_map(|(ops, loop_to, exits)| Program {
            ops,
            loop_to,
            exits,
        })
        .boxed()
}

fn pred(vars: u8, m: u8, chan: bool) -> BoxedStrategy<Pred> {
    let v = 0..vars;
    let k = 0..m;
    let base = prop_oneof![
        2 => (v.clone(), k.clone()).prop_map(|(v, k)| Pred::VarEq(v, k)),
        2 => (v.clone(), k.clone()).prop_map(|(v, k)| Pred::VarNe(v, k)),
        2 => (v.clone(), k.clone(), v.clone(), k.clone())
            .prop_map(|(a, i, b, j)| Pred::NotBoth(a, i, b, j)),
        1 => (v.clone(), v, 0..2 * m).prop_map(|(a, b, k)| Pred::SumNe(a, b, k)),
    ];
    if chan {
        prop_oneof![5 => base, 1 => (0u8..2).prop_map(Pred::ChanAtMost)].boxed()
    } else {
        base.boxed()
    }
}

fn spec(vars: u8, m: u8, chan: bool) -> BoxedStrategy<PropSpec> {
    (pred(vars, m, chan), prop::bool::weighted(0.8))
        .prop_map(|(pred, declared)| PropSpec { pred, declared })
        .boxed()
}

fn specs(
    vars: u8,
    m: u8,
    chan: bool,
    n: std::ops::RangeInclusive<usize>,
) -> BoxedStrategy<Vec<PropSpec>> {
    prop::collection::vec(spec(vars, m, chan), n).boxed()
}

/// The shared part of a system: `(m, vars, cap, inits)`.
fn globals() -> impl Strategy<Value = (u8, usize, usize, Vec<Vec<u8>>)> {
    (
        2u8..=3,
        1usize..=MAX_VARS,
        prop_oneof![3 => Just(0usize), 1 => 1usize..=2],
    )
        .prop_flat_map(|(m, vars, cap)| {
            let init = prop::collection::vec(0..m, vars);
            let inits = prop_oneof![
                4 => prop::collection::vec(init.clone(), 1),
                1 => prop::collection::vec(init, 2),
            ];
            (Just(m), Just(vars), Just(cap), inits)
        })
}

fn assemble(
    (m, vars, cap, inits): (u8, usize, usize, Vec<Vec<u8>>),
    programs: Vec<Program>,
    props: (Vec<PropSpec>, Vec<PropSpec>, Vec<PropSpec>, Vec<PropSpec>),
    outcome: OutcomeMode,
    symmetric: bool,
) -> Sys {
    Sys {
        m,
        vars,
        cap,
        inits,
        programs,
        always: props.0,
        at_end: props.1,
        sometimes: props.2,
        eventually: props.3,
        outcome,
        symmetric,
    }
}

fn properties(
    vars: u8,
    m: u8,
    chan: bool,
    eventually: bool,
) -> impl Strategy<Value = (Vec<PropSpec>, Vec<PropSpec>, Vec<PropSpec>, Vec<PropSpec>)> {
    let ev = if eventually { 1..=1 } else { 0..=0 };
    (
        specs(vars, m, chan, 0..=2),
        specs(vars, m, chan, 0..=1),
        specs(vars, m, chan, 0..=2),
        specs(vars, m, chan, ev),
    )
}

fn outcome_mode() -> impl Strategy<Value = OutcomeMode> {
    prop_oneof![3 => Just(OutcomeMode::Full), 1 => Just(OutcomeMode::Shared)]
}

/// A spinner: a short loop of steps that touch nothing another actor writes (purely local
/// steps, or a read), usually with no exit. Next to visible steps of other actors it is what
/// makes the reduction's cycle proviso necessary: without it, a reduced graph could cycle in
/// the spinner forever and never take the other actors' steps.
fn spinner(vars: u8) -> BoxedStrategy<Program> {
    (
        prop_oneof![
            Just(vec![Op::Local]),
            Just(vec![Op::Local, Op::Local]),
            (0..vars).prop_map(|v| vec![Op::Read(v), Op::Local]),
        ],
        prop::bool::weighted(0.3),
    )
        .prop_map(|(ops, exits)| Program {
            ops,
            loop_to: Some(0),
            exits,
        })
        .boxed()
}

/// Systems of 2–4 distinct actors; with `shape.loops`, a quarter of the systems of 2–3 actors
/// get a spinner as well.
pub fn system(shape: Shape) -> impl Strategy<Value = Sys> {
    (globals(), 2usize..=4, prop::bool::weighted(0.25)).prop_flat_map(move |(g, actors, spin)| {
        let (m, vars, cap, _) = g.clone();
        let chan = cap > 0;
        // Keep the state spaces small: shorter programs when there are more actors.
        let len = if actors == 4 { 2..=3 } else { 2..=5 };
        let programs: Vec<_> = (0..actors)
            .map(|i| {
                let home = Some((i % vars) as u8);
                program(vars as u8, home, m, chan, len.clone(), shape.loops)
            })
            .collect();
        let spinners = if shape.loops && spin && actors < 4 {
            prop::collection::vec(spinner(vars as u8), 1).boxed()
        } else {
            Just(Vec::new()).boxed()
        };
        (
            Just(g),
            (programs, spinners),
            properties(vars as u8, m, chan, shape.eventually),
            outcome_mode(),
        )
            .prop_map(|(g, (mut programs, spinners), props, outcome)| {
                programs.extend(spinners);
                assemble(g, programs, props, outcome, false)
            })
    })
}

/// Systems of 2–3 identical actors over shared globals, with symmetry declared.
pub fn symmetric_system(shape: Shape) -> impl Strategy<Value = Sys> {
    (globals(), 2usize..=3).prop_flat_map(move |(g, copies)| {
        let (m, vars, cap, _) = g.clone();
        let chan = cap > 0;
        let len = if copies == 3 { 2..=4 } else { 2..=5 };
        (
            Just(g),
            program(vars as u8, None, m, chan, len, shape.loops),
            properties(vars as u8, m, chan, shape.eventually),
            outcome_mode(),
        )
            .prop_map(move |(g, p, props, outcome)| {
                assemble(g, vec![p; copies], props, outcome, true)
            })
    })
}

/// Any system: mostly asymmetric ones, some symmetric.
pub fn any_system(shape: Shape) -> impl Strategy<Value = Sys> {
    prop_oneof![3 => system(shape), 1 => symmetric_system(shape)]
}

/// A fixed system drawn from `strategy` with a fixed seed (for tests that want one system).
pub fn fixed<S: Strategy>(strategy: S, seed: u8) -> S::Value {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    strategy
        .new_tree(&mut runner)
        .expect("strategy generates")
        .current()
}

/// Number of proptest cases: `PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default)
}

/// A proptest configuration with `cases(default)` cases and no regression files.
pub fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Searching and comparing.

/// Options for an exhaustive search.
pub fn opts(strategy: Search, reduction: Reduction, symmetry: bool, jobs: usize) -> Options {
    Options {
        strategy,
        reduction,
        symmetry,
        jobs,
        ..Options::default()
    }
}

/// An outcome as [`Summary`] compares it: name, count, witness fingerprint, witness path.
pub type OutcomeRow = (String, u64, u64, Option<Path<Sys>>);
/// A violation as [`Summary`] compares it: property, kind, fingerprint, path, lasso start.
pub type ViolationRow = (String, ViolationKind, u64, Option<Path<Sys>>, Option<usize>);

/// Everything a report says except wall-clock time, in comparable form.
#[derive(Debug, PartialEq)]
pub struct Summary {
    pub states: u64,
    pub transitions: u64,
    pub terminal: u64,
    pub violating_terminal: u64,
    pub max_depth: usize,
    pub complete: bool,
    pub cuts: Vec<sim::Cut>,
    pub vacuous: Vec<String>,
    pub outcomes: Vec<OutcomeRow>,
    pub violations: Vec<ViolationRow>,
    pub miss_probability: Option<u64>,
}

/// The comparable content of a report.
pub fn summary(r: &Report<Sys>) -> Summary {
    Summary {
        states: r.states,
        transitions: r.transitions,
        terminal: r.terminal,
        violating_terminal: r.violating_terminal,
        max_depth: r.max_depth,
        complete: r.complete,
        cuts: r.cuts.clone(),
        vacuous: r.vacuous.clone(),
        outcomes: r
            .outcomes
            .iter()
            .map(|(k, o)| (k.clone(), o.count, o.fingerprint, o.path.clone()))
            .collect(),
        violations: r
            .violations
            .iter()
            .map(|v| {
                (
                    v.property.clone(),
                    v.kind,
                    v.fingerprint,
                    v.path.clone(),
                    v.lasso_start,
                )
            })
            .collect(),
        miss_probability: r.miss_probability.map(f64::to_bits),
    }
}

/// Names of the violated properties (`deadlock` included).
pub fn violated(r: &Report<Sys>) -> BTreeSet<String> {
    r.violations.iter().map(|v| v.property.clone()).collect()
}

/// Outcome names with their counts.
pub fn outcome_counts(r: &Report<Sys>) -> BTreeMap<String, u64> {
    r.outcomes
        .iter()
        .map(|(k, o)| (k.clone(), o.count))
        .collect()
}

/// Outcome names.
pub fn outcome_names(r: &Report<Sys>) -> BTreeSet<String> {
    r.outcomes.keys().cloned().collect()
}

/// An outcome string of [`OutcomeMode::Full`] with its actor blocks sorted.
pub fn canonical_outcome(name: &str) -> String {
    let mut parts: Vec<&str> = name.splitn(3, '|').collect();
    if parts.len() < 3 {
        return name.to_string();
    }
    let mut actors: Vec<&str> = parts[2].split(';').collect();
    actors.sort_by_key(|a| {
        let (pc, local) = a.split_once('.').expect("pc.local");
        (
            pc.parse::<u8>().expect("pc"),
            local.parse::<u8>().expect("local"),
        )
    });
    let joined = actors.join(";");
    parts[2] = &joined;
    parts.join("|")
}

// ---------------------------------------------------------------------------------------------
// An independent reference explorer: plain BFS over concrete states, no reduction.

/// What the reference explorer computes.
#[derive(Debug)]
pub struct Reference {
    /// Every reachable state.
    pub states: HashSet<St>,
    /// Every terminal state.
    pub terminal: Vec<St>,
    /// Outcome names with the number of terminal states each.
    pub outcomes: BTreeMap<String, u64>,
    /// Names of violated properties (`deadlock` included).
    pub violated: BTreeSet<String>,
    /// `sometimes` properties that never hold.
    pub vacuous: Vec<String>,
}

/// Explores `sys` exhaustively with no help from the engine, or `None` past `limit` states.
pub fn reference(sys: &Sys, limit: usize) -> Option<Reference> {
    let mut states: HashSet<St> = HashSet::new();
    let mut queue: VecDeque<St> = VecDeque::new();
    for s in sys.init_states() {
        if states.insert(s.clone()) {
            queue.push_back(s);
        }
    }
    let mut terminal = Vec::new();
    while let Some(s) = queue.pop_front() {
        let succ = sys.successors(&s);
        if succ.is_empty() {
            terminal.push(s.clone());
        }
        for (_, n) in succ {
            if states.insert(n.clone()) {
                if states.len() > limit {
                    return None;
                }
                queue.push_back(n);
            }
        }
    }
    let mut violated = BTreeSet::new();
    for (i, spec) in sys.always.iter().enumerate() {
        if states.iter().any(|s| !spec.pred.holds(s)) {
            violated.insert(format!("always{i}"));
        }
    }
    for (i, spec) in sys.at_end.iter().enumerate() {
        if terminal.iter().any(|s| !spec.pred.holds(s)) {
            violated.insert(format!("at_end{i}"));
        }
    }
    if terminal.iter().any(|s| !sys.is_done(s)) {
        violated.insert("deadlock".to_string());
    }
    for (i, spec) in sys.eventually.iter().enumerate() {
        if eventually_fails(sys, spec.pred) {
            violated.insert(format!("eventually{i}"));
        }
    }
    let vacuous = sys
        .sometimes
        .iter()
        .enumerate()
        .filter(|(_, spec)| !states.iter().any(|s| spec.pred.holds(s)))
        .map(|(i, _)| format!("sometimes{i}"))
        .collect();
    let mut outcomes = BTreeMap::new();
    for s in &terminal {
        *outcomes
            .entry(sys.outcome(s).expect("every state has an outcome"))
            .or_insert(0) += 1;
    }
    Some(Reference {
        states,
        terminal,
        outcomes,
        violated,
        vacuous,
    })
}

/// Whether some path never reaches a state satisfying `p`: a terminal state or a cycle among
/// the states reachable from an initial state through states where `p` fails.
pub fn eventually_fails(sys: &Sys, p: Pred) -> bool {
    let mut seen: HashSet<St> = HashSet::new();
    let mut queue: VecDeque<St> = VecDeque::new();
    for s in sys.init_states() {
        if !p.holds(&s) && seen.insert(s.clone()) {
            queue.push_back(s);
        }
    }
    let mut edges: HashMap<St, Vec<St>> = HashMap::new();
    while let Some(s) = queue.pop_front() {
        let succ = sys.successors(&s);
        if succ.is_empty() {
            return true;
        }
        let mut out = Vec::new();
        for (_, n) in succ {
            if p.holds(&n) {
                continue;
            }
            if seen.insert(n.clone()) {
                queue.push_back(n.clone());
            }
            out.push(n);
        }
        edges.insert(s, out);
    }
    // Kahn: peel states with no successor left inside the subgraph; a remainder is a cycle.
    let mut remaining: HashMap<St, usize> =
        edges.iter().map(|(s, o)| (s.clone(), o.len())).collect();
    let mut preds: HashMap<St, Vec<St>> = HashMap::new();
    for (s, out) in &edges {
        for n in out {
            preds.entry(n.clone()).or_default().push(s.clone());
        }
    }
    let mut sinks: Vec<St> = remaining
        .iter()
        .filter(|(_, &d)| d == 0)
        .map(|(s, _)| s.clone())
        .collect();
    let mut removed = 0;
    while let Some(s) = sinks.pop() {
        removed += 1;
        for q in preds.get(&s).into_iter().flatten() {
            let d = remaining.get_mut(q).expect("known state");
            *d -= 1;
            if *d == 0 {
                sinks.push(q.clone());
            }
        }
    }
    removed < edges.len()
}

// ---------------------------------------------------------------------------------------------
// Witnesses.

/// Executes a path, returning every state (the initial one first), or `None` if a step is not
/// enabled where it is taken.
pub fn run_path(sys: &Sys, path: &Path<Sys>) -> Option<Vec<St>> {
    let mut states = vec![sys.init_states().get(path.init)?.clone()];
    for a in &path.actions {
        let s = states.last().expect("initial state");
        let mut enabled = Vec::new();
        sys.actions(s, &mut enabled);
        if !enabled.contains(a) {
            return None;
        }
        states.push(sys.next_state(s, a));
    }
    Some(states)
}

/// The fingerprint the engine reports for `s`: of its representative when symmetry is on.
pub fn reported_fp(sys: &Sys, symmetry: bool, s: &St) -> u64 {
    if symmetry {
        fingerprint(&sys.canonical(s).unwrap_or_else(|| s.clone()))
    } else {
        fingerprint(s)
    }
}

/// Turns `path` into a trace, through YAML and back, replays it, and returns the states.
pub fn replay_through_yaml(sys: &Sys, path: &Path<Sys>) -> Result<Vec<St>, String> {
    let trace = Trace::from_path(sys, path);
    let yaml = trace.to_yaml();
    let back = Trace::from_yaml(&yaml)?;
    if back != trace {
        return Err("the YAML round trip changed the trace".to_string());
    }
    back.replay(sys).map_err(|e| e.to_string())
}
