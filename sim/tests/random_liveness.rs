//! (h) `eventually` properties on random small actor systems (see `support`): the explorer
//! reports a violation exactly when an independent check finds a path that never reaches the
//! property (a terminal state or a cycle through states where it fails); a cycle is reported as
//! a lasso whose steps from `lasso_start` on return to the state at `lasso_start`, and every
//! witness replays (through YAML) on states where the property fails. The generator is checked
//! to produce lassos, terminal counterexamples and satisfied properties alike.

// These run the engine on real threads; under loom or shuttle its atomics only work inside
// those checkers' executions (see loom_queue.rs and shuttle_explorer.rs).
#![cfg(not(any(loom, feature = "shuttle")))]

mod support;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sim::{explore, Options, Reduction, Strategy as Search, Trace, ViolationKind};
use support::*;

const LIMIT: usize = 20_000;

const LIVE: Shape = Shape {
    loops: true,
    eventually: true,
};

/// What the explorer said about `eventually0`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Holds,
    Terminal,
    Lasso,
}

/// Runs `options` on `sys`, checks the `eventually0` witness in depth and returns the verdict.
fn verdict(sys: &Sys, options: &Options) -> Result<Verdict, TestCaseError> {
    let r = explore(sys, options);
    prop_assert!(r.complete);
    let Some(v) = r.violations.iter().find(|v| v.property == "eventually0") else {
        return Ok(Verdict::Holds);
    };
    prop_assert_eq!(v.kind, ViolationKind::Eventually);
    let p = sys.eventually[0].pred;
    let path = v.path.clone().expect("witness recorded");
    let states = replay_through_yaml(sys, &path).map_err(TestCaseError::fail)?;
    let last = states.last().expect("initial state");
    prop_assert_eq!(sim::fingerprint(last), v.fingerprint);
    prop_assert!(
        states.iter().all(|s| !p.holds(s)),
        "the property holds on the witness"
    );
    match v.lasso_start {
        Some(start) => {
            prop_assert!(start < path.actions.len(), "empty cycle");
            prop_assert_eq!(
                &states[start],
                last,
                "the lasso does not return to its start"
            );
            // The cycle can be taken again from where it closes.
            let mut again = path.clone();
            again.actions.extend_from_slice(&path.actions[start..]);
            let twice = run_path(sys, &again).expect("the cycle repeats");
            prop_assert_eq!(twice.last(), Some(last));
            let mut trace = Trace::from_path(sys, &path);
            trace.lasso_start = Some(start);
            let back = Trace::from_yaml(&trace.to_yaml()).map_err(TestCaseError::fail)?;
            prop_assert_eq!(back.lasso_start, Some(start));
            Ok(Verdict::Lasso)
        }
        None => {
            prop_assert!(
                sys.successors(last).is_empty(),
                "a non-lasso witness must end"
            );
            Ok(Verdict::Terminal)
        }
    }
}

fn eventually_matches_the_reference_holds(sys: Sys) -> Result<(), TestCaseError> {
    if reference(&sys.asymmetric(), LIMIT).is_none() {
        return Ok(());
    }
    let fails = eventually_fails(&sys, sys.eventually[0].pred);
    let mut verdicts = Vec::new();
    for strategy in [Search::Bfs, Search::Dfs] {
        for reduction in [Reduction::None, Reduction::Por] {
            let options = Options {
                strategy,
                reduction,
                symmetry: sys.symmetric,
                ..Options::default()
            };
            let v = verdict(&sys, &options)?;
            prop_assert_eq!(v != Verdict::Holds, fails, "{:?}: {:?}", options, v);
            verdicts.push(v);
        }
    }
    let parallel = Options {
        jobs: 3,
        ..Options::default()
    };
    verdicts.push(verdict(&sys, &parallel)?);
    // The exact search does not depend on the strategy or reduction around it.
    prop_assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "{:?}", verdicts);
    Ok(())
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn eventually_matches_the_reference(sys in any_system(LIVE)) {
        eventually_matches_the_reference_holds(sys)?;
    }
}

/// The generator is not vacuous: among fixed-seed systems, all three verdicts occur often.
#[test]
fn generator_produces_every_verdict() {
    let mut runner = TestRunner::deterministic();
    let strategy = any_system(LIVE);
    let mut counts = [0usize; 3];
    for _ in 0..200 {
        let sys = strategy.new_tree(&mut runner).expect("generates").current();
        if reference(&sys, LIMIT).is_none() {
            continue;
        }
        let v = verdict(&sys, &Options::default()).expect("checks pass");
        counts[v as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c >= 10), "verdict counts {counts:?}");
}
