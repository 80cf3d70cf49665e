//! The parallel BFS explorer under shuttle's random and PCT schedulers: with feature `shuttle`,
//! the engine's threads and atomics are shuttle's, so each iteration runs the whole search
//! (frontier chunks claimed from the `WorkQueue`, shards merged by their owners) under another
//! thread interleaving. Every such run, with 2 and 3 jobs, with and without reduction and
//! symmetry, must give exactly the report (counts, outcomes, violations, witness paths) of the
//! sequential run. Models: a fixed random system from `support` and a tap-churn-like model of
//! VMs racing on tap names, both with BFS levels wider than one 64-state work chunk.
//!
//! Run with `cargo test -p sim --features shuttle --test shuttle_explorer`.

#![cfg(feature = "shuttle")]

mod support;

use serde::Serialize;
use sim::{
    explore, ActorId, Footprint, Model, Options, Property, Reduction, Report, StepInfo,
    Strategy as Search,
};
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Iterations per scheduler and configuration.
const ITERATIONS: usize = 100;

/// Everything a report says except wall-clock time, as text (works for any model).
fn digest<M: Model>(r: &Report<M>) -> String {
    let mut out = format!(
        "states {} transitions {} terminal {} violating {} depth {} complete {} cuts {:?} \
         vacuous {:?}\n",
        r.states,
        r.transitions,
        r.terminal,
        r.violating_terminal,
        r.max_depth,
        r.complete,
        r.cuts,
        r.vacuous
    );
    for (name, o) in &r.outcomes {
        writeln!(
            out,
            "outcome {name}: {} {:x} {:?}",
            o.count, o.fingerprint, o.path
        )
        .unwrap();
    }
    for v in &r.violations {
        writeln!(
            out,
            "violation {} {:?} {:x} {:?} {:?}",
            v.property, v.kind, v.fingerprint, v.path, v.lasso_start
        )
        .unwrap();
    }
    out
}

/// The sequential (jobs = 1) report. With feature `shuttle` the engine's atomics only work
/// inside a shuttle execution, so it runs in one: with one job no thread is spawned and there is
/// exactly one schedule, the plain sequential computation.
fn sequential<M: Model + Send + 'static>(model: Arc<M>, options: &Options) -> String {
    let out = Arc::new(Mutex::new(None));
    let (o, options) = (
        out.clone(),
        Options {
            jobs: 1,
            ..options.clone()
        },
    );
    shuttle::check_dfs(
        move || *o.lock().unwrap() = Some(digest(&explore(&*model, &options))),
        None,
    );
    let digest = out.lock().unwrap().take().expect("the sequential run ran");
    digest
}

/// The number of states in the widest BFS level (without reduction), computed directly.
fn widest_level<M: Model>(model: &M) -> usize {
    let mut seen: HashSet<M::State> = model.init_states().into_iter().collect();
    let mut level: Vec<M::State> = seen.iter().cloned().collect();
    let mut widest = level.len();
    while !level.is_empty() {
        let mut next = Vec::new();
        for s in &level {
            let mut actions = Vec::new();
            model.actions(s, &mut actions);
            for a in &actions {
                let n = model.next_state(s, a);
                if seen.insert(n.clone()) {
                    next.push(n);
                }
            }
        }
        widest = widest.max(next.len());
        level = next;
    }
    widest
}

/// Runs `options` with 2 and 3 jobs under shuttle's random and PCT schedulers and compares each
/// run with the sequential report.
fn check<M: Model + Send + 'static>(model: M, options: Options) {
    // Several 64-state chunks per level, so that workers really share levels.
    assert!(widest_level(&model) > 3 * 64, "levels too narrow to share");
    let model = Arc::new(model);
    let expected = Arc::new(sequential(model.clone(), &options));
    assert!(expected.contains("complete true"), "{expected}");
    for jobs in [2, 3] {
        let options = Options {
            jobs,
            ..options.clone()
        };
        let run = {
            let (model, expected, options) = (model.clone(), expected.clone(), options.clone());
            move || {
                let got = digest(&explore(&*model, &options));
                assert_eq!(got, *expected, "{options:?}");
            }
        };
        shuttle::check_random(run.clone(), ITERATIONS);
        shuttle::check_pct(run, ITERATIONS, 3);
    }
}

fn bfs(reduction: Reduction, symmetry: bool) -> Options {
    Options {
        strategy: Search::Bfs,
        reduction,
        symmetry,
        ..Options::default()
    }
}

/// A generated system of at most 6000 states with a level wider than three work chunks (the
/// first such seed).
fn generated(shape_symmetric: bool) -> support::Sys {
    let shape = support::Shape {
        loops: true,
        eventually: true,
    };
    for seed in 0..=255u8 {
        let sys = if shape_symmetric {
            support::fixed(support::symmetric_system(shape), seed)
        } else {
            support::fixed(support::system(shape), seed)
        };
        if support::reference(&sys.asymmetric(), 6_000).is_none() {
            continue;
        }
        if widest_level(&sys) > 3 * 64 {
            return sys;
        }
    }
    panic!("no generated system of the wanted size");
}

#[test]
fn generated_system_under_shuttle() {
    check(generated(false), bfs(Reduction::None, false));
    check(generated(false), bfs(Reduction::Por, false));
}

#[test]
fn symmetric_generated_system_under_shuttle() {
    check(generated(true), bfs(Reduction::Por, true));
}

#[test]
fn tap_churn_under_shuttle() {
    check(TapChurn { vms: 3 }, bfs(Reduction::None, false));
    check(TapChurn { vms: 3 }, bfs(Reduction::Por, false));
}

// ---------------------------------------------------------------------------------------------
// A tap-churn-like model: each VM creates a tap (the kernel picks the lowest free name), adds
// it to the switch, kills QEMU (the tap vanishes), deletes the port by name, then starts again.
// A stale delete can remove the port of another VM that reused the name.

const KERNEL: u8 = 0;
const SWITCH: u8 = 1;
const PROGRAM: [Op; 6] = [
    Op::CreateTap,
    Op::AddPort,
    Op::KillQemu,
    Op::DelPort,
    Op::CreateTap,
    Op::AddPort,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum Op {
    CreateTap,
    AddPort,
    KillQemu,
    DelPort,
}

struct TapChurn {
    vms: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
struct Net {
    kernel: u32,
    switch: u32,
    pc: Vec<u8>,
    tap: Vec<u8>,
}

impl Model for TapChurn {
    type State = Net;
    type Action = u8;

    fn name(&self) -> String {
        "tap-churn-like".into()
    }

    fn actors(&self) -> Vec<String> {
        (0..self.vms).map(|i| format!("vm{i}")).collect()
    }

    fn init_states(&self) -> Vec<Net> {
        vec![Net {
            kernel: 0,
            switch: 0,
            pc: vec![0; self.vms],
            tap: vec![0; self.vms],
        }]
    }

    fn actions(&self, s: &Net, out: &mut Vec<u8>) {
        out.extend((0..self.vms as u8).filter(|&i| (s.pc[i as usize] as usize) < PROGRAM.len()));
    }

    fn next_state(&self, s: &Net, &vm: &u8) -> Net {
        let mut n = s.clone();
        let i = vm as usize;
        let bit = 1u32 << n.tap[i];
        match PROGRAM[n.pc[i] as usize] {
            Op::CreateTap => {
                n.tap[i] = (!n.kernel).trailing_zeros() as u8;
                n.kernel |= 1 << n.tap[i];
            }
            Op::AddPort => n.switch |= bit,
            Op::KillQemu => n.kernel &= !bit,
            Op::DelPort => n.switch &= !bit,
        }
        n.pc[i] += 1;
        n
    }

    fn step_info(&self, &vm: &u8) -> StepInfo {
        StepInfo {
            actor: vm as ActorId,
            label: "step".into(),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::at_end("every VM's tap is a port", |m: &Self, s: &Net| {
                (0..m.vms).all(|i| s.switch & (1 << s.tap[i]) != 0)
            }),
            Property::always("ports are taps or stale", |_: &Self, s: &Net| {
                s.switch.count_ones() <= 3
            })
            .reading(Footprint::NONE.read(SWITCH)),
        ]
    }

    fn footprint(&self, s: &Net, &vm: &u8) -> Footprint {
        match PROGRAM[s.pc[vm as usize] as usize] {
            Op::CreateTap | Op::KillQemu => Footprint::NONE.write(KERNEL),
            Op::AddPort | Op::DelPort => Footprint::NONE.write(SWITCH),
        }
    }

    fn future_footprint(&self, s: &Net, vm: ActorId) -> Footprint {
        PROGRAM[s.pc[vm as usize] as usize..]
            .iter()
            .fold(Footprint::NONE, |f, op| {
                f.union(match op {
                    Op::CreateTap | Op::KillQemu => Footprint::NONE.write(KERNEL),
                    Op::AddPort | Op::DelPort => Footprint::NONE.write(SWITCH),
                })
            })
    }

    fn is_done(&self, s: &Net) -> bool {
        s.pc.iter().all(|&pc| pc as usize == PROGRAM.len())
    }

    fn outcome(&self, s: &Net) -> Option<String> {
        Some(format!("switch={:b}", s.switch))
    }
}
