//! Every strategy honours every bound (`max_states`, `max_depth`, `max_seconds`, including 0),
//! a cut search never judges a `sometimes` property vacuous, and a PCT depth too large to draw
//! change points for is clamped instead of allocated.

// These run the engine on real threads; under loom or shuttle its atomics only work inside
// those checkers' executions (see loom_queue.rs and shuttle_explorer.rs).
#![cfg(not(any(loom, feature = "shuttle")))]

use sim::{explore, ActorId, Cut, Model, Options, Property, StepInfo, Strategy, MAX_PCT_DEPTH};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Three actors, each counting its own counter up to `n`: (n+1)^3 states, one terminal state.
/// `eventually_checks` counts how often the `eventually` predicate is evaluated.
struct Counters {
    n: u16,
    eventually_checks: Arc<AtomicU64>,
}

impl Counters {
    fn new(n: u16) -> Self {
        Counters {
            n,
            eventually_checks: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Model for Counters {
    type State = [u16; 3];
    type Action = u8;

    fn name(&self) -> String {
        "counters".into()
    }
    fn actors(&self) -> Vec<String> {
        (0..3).map(|i| format!("c{i}")).collect()
    }
    fn init_states(&self) -> Vec<[u16; 3]> {
        vec![[0; 3]]
    }
    fn actions(&self, s: &[u16; 3], out: &mut Vec<u8>) {
        out.extend((0..3u8).filter(|&i| s[i as usize] < self.n));
    }
    fn next_state(&self, s: &[u16; 3], &i: &u8) -> [u16; 3] {
        let mut next = *s;
        next[i as usize] += 1;
        next
    }
    fn step_info(&self, &i: &u8) -> StepInfo {
        StepInfo {
            actor: i as ActorId,
            label: "count".into(),
            upstream: None,
        }
    }
    fn properties(&self) -> Vec<Property<Self>> {
        let checks = self.eventually_checks.clone();
        vec![
            Property::sometimes("a counter passes n", |m: &Self, s: &[u16; 3]| {
                s.iter().any(|&c| c > m.n)
            }),
            Property::eventually("all counters reach n", move |m: &Self, s: &[u16; 3]| {
                checks.fetch_add(1, Ordering::Relaxed);
                s.iter().all(|&c| c == m.n)
            }),
        ]
    }
}

fn strategies(runs: u64) -> [Strategy; 5] {
    [
        Strategy::Bfs,
        Strategy::Dfs,
        Strategy::Random { runs },
        Strategy::Pct { runs, depth: 3 },
        Strategy::Portfolio { runs },
    ]
}

#[test]
fn a_complete_search_reports_an_unreachable_sometimes_as_vacuous() {
    for strategy in [
        Strategy::Bfs,
        Strategy::Dfs,
        Strategy::Portfolio { runs: 5 },
    ] {
        let options = Options {
            strategy,
            ..Options::default()
        };
        let r = explore(&Counters::new(3), &options);
        assert!(r.complete, "{strategy:?}");
        assert_eq!(r.vacuous, ["a counter passes n"], "{strategy:?}");
    }
}

#[test]
fn a_cut_search_names_its_bound_and_judges_nothing_vacuous() {
    let bounds: [(Options, Cut); 5] = [
        (
            Options {
                max_states: Some(0),
                ..Options::default()
            },
            Cut::States(0),
        ),
        (
            Options {
                max_states: Some(5),
                ..Options::default()
            },
            Cut::States(5),
        ),
        (
            Options {
                max_depth: Some(0),
                ..Options::default()
            },
            Cut::Depth(0),
        ),
        (
            Options {
                max_depth: Some(2),
                ..Options::default()
            },
            Cut::Depth(2),
        ),
        (
            Options {
                max_seconds: Some(0.0),
                ..Options::default()
            },
            Cut::Seconds("0".into()),
        ),
    ];
    for strategy in strategies(50) {
        for (bound, cut) in &bounds {
            let options = Options {
                strategy,
                ..bound.clone()
            };
            let r = explore(&Counters::new(3), &options);
            assert!(!r.complete, "{options:?}");
            assert!(r.cuts.contains(cut), "{options:?}: {:?}", r.cuts);
            assert!(r.vacuous.is_empty(), "{options:?}: {:?}", r.vacuous);
            // (BFS may overshoot the states budget by a chunk's successors: docs/ci.md.)
            let walks = matches!(strategy, Strategy::Random { .. } | Strategy::Pct { .. });
            if let (true, Cut::States(max)) = (walks, cut) {
                assert!(
                    r.states <= (*max).max(1),
                    "{options:?}: {} states",
                    r.states
                );
            }
        }
    }
}

#[test]
fn walks_stop_at_the_time_bound_however_many_runs_are_asked() {
    for strategy in [
        Strategy::Random { runs: u64::MAX },
        Strategy::Pct {
            runs: u64::MAX,
            depth: 2,
        },
    ] {
        let options = Options {
            strategy,
            max_seconds: Some(0.2),
            ..Options::default()
        };
        let started = Instant::now();
        let r = explore(&Counters::new(3), &options);
        assert!(started.elapsed() < Duration::from_secs(30), "{strategy:?}");
        assert!(r.cuts.contains(&Cut::Seconds("0.2".into())), "{:?}", r.cuts);
        let sampled = r.cuts.iter().find_map(|c| match c {
            Cut::Sampled(n) => Some(*n),
            _ => None,
        });
        assert!(
            sampled.is_some_and(|n| n > 0 && n < u64::MAX),
            "{:?}",
            r.cuts
        );
    }
    // The portfolio's walks share the time bound with its BFS (cut here by depth).
    let options = Options {
        strategy: Strategy::Portfolio { runs: u64::MAX },
        max_depth: Some(1),
        max_seconds: Some(0.2),
        ..Options::default()
    };
    let r = explore(&Counters::new(3), &options);
    assert!(r.cuts.contains(&Cut::Seconds("0.2".into())), "{:?}", r.cuts);
}

#[test]
fn the_eventually_pass_honours_the_time_bound() {
    // 101^3 states; out of time at once, the `eventually` pass must not walk them all.
    let model = Counters::new(100);
    let options = Options {
        max_seconds: Some(0.0),
        ..Options::default()
    };
    let r = explore(&model, &options);
    assert!(r.cuts.contains(&Cut::Seconds("0".into())), "{:?}", r.cuts);
    let checks = model.eventually_checks.load(Ordering::Relaxed);
    assert!(
        checks < 100,
        "{checks} predicate checks after the time ran out"
    );
}

#[test]
fn the_eventually_pass_honours_the_depth_bound() {
    // 101^3 states; within depth 3 there are 20 of them.
    let model = Counters::new(100);
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        let options = Options {
            strategy,
            max_depth: Some(3),
            ..Options::default()
        };
        let r = explore(&model, &options);
        assert!(r.cuts.contains(&Cut::Depth(3)), "{:?}", r.cuts);
    }
    let checks = model.eventually_checks.load(Ordering::Relaxed);
    assert!(checks < 1000, "{checks} predicate checks within depth 3");
}

#[test]
fn a_huge_pct_depth_is_clamped_not_allocated() {
    let pct = |depth: u32| {
        let options = Options {
            strategy: Strategy::Pct { runs: 3, depth },
            ..Options::default()
        };
        explore(&Counters::new(2), &options)
    };
    let huge = pct(u32::MAX);
    assert!(huge.cuts.contains(&Cut::Sampled(3)), "{:?}", huge.cuts);
    let p = huge
        .miss_probability
        .expect("PCT bounds its miss probability");
    assert!((0.0..=1.0).contains(&p), "{p}");
    // Clamped: the same walks as at the largest depth.
    let largest = pct(MAX_PCT_DEPTH);
    assert_eq!(huge.states, largest.states);
    assert_eq!(huge.miss_probability, largest.miss_probability);
    assert_eq!(
        huge.outcomes.keys().collect::<Vec<_>>(),
        largest.outcomes.keys().collect::<Vec<_>>()
    );
}
