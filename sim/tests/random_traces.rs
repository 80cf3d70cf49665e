//! Witnesses on random small actor systems (see `support`):
//!
//! * (c) every witness a search returns (each outcome's and each violation's path, for BFS with
//!   1 and 4 jobs, DFS, reduction, symmetry, random walks and PCT) becomes a trace that survives
//!   a YAML round trip and replays to a state with the reported fingerprint and the reported
//!   property status; a mutated trace (a step removed, an action payload changed, the model
//!   version bumped, the format changed, ...) is refused with the right [`ReplayError`] variant,
//!   naming the right step, and never panics;
//! * (e) `minimise::drop_needless_preemptions` never adds context switches, keeps the same steps,
//!   and its result still executes and still witnesses what the original witnessed.

// These run the engine on real threads; under loom or shuttle its atomics only work inside
// those checkers' executions (see loom_queue.rs and shuttle_explorer.rs).
#![cfg(not(any(loom, feature = "shuttle")))]

mod support;

use proptest::prelude::*;
use sim::minimise::{context_switches, drop_needless_preemptions, execute};
use sim::search::Path;
use sim::{
    explore, Model, Options, Reduction, ReplayError, Report, Strategy as Search, Trace,
    ViolationKind,
};
use support::*;

const LIMIT: usize = 20_000;

const ALL: Shape = Shape {
    loops: true,
    eventually: true,
};

/// What a witness must show at its last state.
#[derive(Clone, Debug)]
enum Claim {
    Outcome(String),
    Violation(String, ViolationKind, Option<usize>),
}

/// Does `states` (a replayed witness) show `claim`? Under symmetry, outcomes are named after
/// the representative of the last state.
fn shows(sys: &Sys, symmetry: bool, claim: &Claim, states: &[St]) -> Result<(), String> {
    let last = states.last().expect("initial state");
    let terminal = sys.successors(last).is_empty();
    let ok = match claim {
        Claim::Outcome(name) => {
            let named = if symmetry {
                Sys::sorted(last)
            } else {
                last.clone()
            };
            terminal && sys.outcome(&named).as_deref() == Some(name.as_str())
        }
        Claim::Violation(name, kind, lasso) => {
            let pred = |list: &[PropSpec], prefix: &str| {
                let i: usize = name[prefix.len()..].parse().expect("property index");
                list[i].pred
            };
            match kind {
                ViolationKind::Always => !pred(&sys.always, "always").holds(last),
                ViolationKind::AtEnd => terminal && !pred(&sys.at_end, "at_end").holds(last),
                ViolationKind::Deadlock => terminal && !sys.is_done(last),
                ViolationKind::Eventually => {
                    let p = pred(&sys.eventually, "eventually");
                    let never = states.iter().all(|s| !p.holds(s));
                    match lasso {
                        Some(start) => {
                            never && states[*start] == *last && *start < states.len() - 1
                        }
                        None => never && terminal,
                    }
                }
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the witness does not show {claim:?}; it ends in {last:?}"
        ))
    }
}

/// Every witness of a report, with what it claims and the fingerprint it claims to reach.
fn witnesses(r: &Report<Sys>) -> Vec<(Claim, u64, Path<Sys>)> {
    let mut out = Vec::new();
    for (name, o) in &r.outcomes {
        let path = o.path.clone().expect("outcome witness recorded");
        out.push((Claim::Outcome(name.clone()), o.fingerprint, path));
    }
    for v in &r.violations {
        let path = v.path.clone().expect("violation witness recorded");
        out.push((
            Claim::Violation(v.property.clone(), v.kind, v.lasso_start),
            v.fingerprint,
            path,
        ));
    }
    out
}

/// Checks that every witness replays, through YAML, to what it claims.
fn check_witnesses(sys: &Sys, options: &Options) -> Result<(), TestCaseError> {
    let r = explore(sys, options);
    for (claim, fp, path) in witnesses(&r) {
        let states = replay_through_yaml(sys, &path)
            .map_err(|e| TestCaseError::fail(format!("{options:?}: {claim:?}: {e}")))?;
        let executed = run_path(sys, &path);
        prop_assert_eq!(executed.as_ref(), Some(&states));
        // Eventually violations come from an exact search over concrete states.
        let symmetric =
            options.symmetry && !matches!(claim, Claim::Violation(_, ViolationKind::Eventually, _));
        prop_assert_eq!(
            reported_fp(sys, symmetric, states.last().expect("initial state")),
            fp,
            "{:?}: {:?} reaches another state",
            options,
            claim
        );
        shows(sys, options.symmetry, &claim, &states)
            .map_err(|e| TestCaseError::fail(format!("{options:?}: {e}")))?;
    }
    Ok(())
}

/// Mutations of a replayable trace and the error each must give.
fn check_mutations(sys: &Sys, trace: &Trace, pick: usize) -> Result<(), TestCaseError> {
    let n = trace.steps.len();
    prop_assert!(trace.replay(sys).is_ok());

    let mut t = trace.clone();
    t.format = "something-else".to_string();
    prop_assert_eq!(
        t.replay(sys),
        Err(ReplayError::Foreign("something-else".to_string()))
    );
    prop_assert!(Trace::from_yaml(&t.to_yaml()).is_err());

    let mut t = trace.clone();
    t.format_version += 1;
    prop_assert_eq!(
        t.replay(sys),
        Err(ReplayError::FormatVersion {
            found: t.format_version
        })
    );

    let mut t = trace.clone();
    t.model = "another-model".to_string();
    let refused = matches!(t.replay(sys), Err(ReplayError::Model { .. }));
    prop_assert!(refused);

    let mut t = trace.clone();
    t.model_version += 1;
    prop_assert_eq!(
        t.replay(sys),
        Err(ReplayError::ModelVersion {
            model: sys.name(),
            found: sys.version() + 1,
            expected: sys.version(),
        })
    );

    let mut t = trace.clone();
    t.init = sys.init_states().len();
    let refused = matches!(t.replay(sys), Err(ReplayError::Init { .. }));
    prop_assert!(refused);

    let mut t = trace.clone();
    t.init_fingerprint = "0000000000000000".to_string();
    let refused = matches!(t.replay(sys), Err(ReplayError::Init { .. }));
    prop_assert!(refused);

    // An edited initial state (same fingerprint) is refused: reports render `init_state`.
    let mut t = trace.clone();
    t.init_state = serde_json::json!({"edited": true});
    let refused = matches!(t.replay(sys), Err(ReplayError::Init { .. }));
    prop_assert!(refused, "an edited init_state replayed");

    prop_assert!(Trace::from_yaml("format: [unclosed").is_err());
    prop_assert!(Trace::from_yaml("just a string").is_err());
    let yaml = trace.to_yaml();
    // A truncated file is refused or replays to an error or a prefix, but never panics.
    if let Ok(t) = Trace::from_yaml(&yaml[..yaml.len() / 2]) {
        let _ = t.replay(sys);
    }

    if n == 0 {
        return Ok(());
    }
    let k = pick % n;
    let diverges_at = |r: Result<Vec<St>, ReplayError>, step: usize| match r {
        Err(ReplayError::Diverged { step: s, .. }) if s == step => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "expected divergence at step {step}, got {other:?}"
        ))),
    };

    // An action payload changed: the other branch of a two-way step, or a choice that no step has.
    let mut t = trace.clone();
    let action = &mut t.steps[k].action;
    let choice = action["choice"].as_u64().expect("choice");
    let two_way = sys
        .successors(&run_path_prefix(sys, trace, k))
        .iter()
        .filter(|(a, _)| a.actor as usize == actor_index(&trace.steps[k].actor))
        .count()
        == 2;
    action["choice"] = if two_way {
        (1 - choice).into()
    } else {
        9.into()
    };
    let r = t.replay(sys);
    if let Err(ReplayError::Diverged { reason, .. }) = &r {
        // The message never says the step is not enabled while listing it as enabled.
        let named = format!("{}: {}", trace.steps[k].actor, trace.steps[k].label);
        prop_assert!(
            !(reason.contains("not enabled") && reason.contains(&named)),
            "contradictory divergence: {}",
            reason
        );
    }
    diverges_at(r, k + 1)?;

    // A recorded change edited (reports render `changes`).
    let mut t = trace.clone();
    if let Some(c) = t.steps[k].changes.first_mut() {
        c.after = serde_json::json!("edited");
        diverges_at(t.replay(sys), k + 1)?;
    }

    // The recorded fingerprint changed.
    let mut t = trace.clone();
    t.steps[k].fingerprint = "ffffffffffffffff".to_string();
    diverges_at(t.replay(sys), k + 1)?;

    // A step removed: the last one leaves a valid prefix; any other makes the next one diverge.
    let mut t = trace.clone();
    t.steps.remove(k);
    if k == n - 1 {
        let states = t
            .replay(sys)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(states.len(), n);
    } else {
        diverges_at(t.replay(sys), k + 1)?;
    }
    Ok(())
}

fn actor_index(name: &str) -> usize {
    name[1..].parse().expect("actor names are p<i>")
}

/// The state before step `k` of `trace`.
fn run_path_prefix(sys: &Sys, trace: &Trace, k: usize) -> St {
    trace.replay(sys).expect("replays")[k].clone()
}

/// (c) Witnesses of every strategy replay, through YAML, to the reported state and status.
fn witnesses_replay_holds(sys: Sys, seed: u64) -> Result<(), TestCaseError> {
    if reference(&sys.asymmetric(), LIMIT).is_none() {
        return Ok(());
    }
    let symmetries: &[bool] = if sys.symmetric {
        &[false, true]
    } else {
        &[false]
    };
    for &symmetry in symmetries {
        for reduction in [Reduction::None, Reduction::Por] {
            check_witnesses(&sys, &opts(Search::Bfs, reduction, symmetry, 1))?;
            check_witnesses(&sys, &opts(Search::Bfs, reduction, symmetry, 4))?;
            check_witnesses(&sys, &opts(Search::Dfs, reduction, symmetry, 1))?;
            check_witnesses(
                &sys,
                &Options {
                    max_preemptions: Some(1),
                    ..opts(Search::Dfs, reduction, symmetry, 1)
                },
            )?;
        }
    }
    for strategy in [
        Search::Random { runs: 20 },
        Search::Pct { runs: 20, depth: 2 },
    ] {
        let options = Options {
            strategy,
            seed,
            max_depth: Some(100),
            ..Options::default()
        };
        check_witnesses(&sys, &options)?;
    }
    Ok(())
}

/// (c) Mutated traces fail with the right error, at the right step.
fn mutated_traces_are_refused_holds(sys: Sys, pick: usize) -> Result<(), TestCaseError> {
    if reference(&sys.asymmetric(), LIMIT).is_none() {
        return Ok(());
    }
    let r = explore(&sys, &opts(Search::Bfs, Reduction::None, false, 1));
    for (_, _, path) in witnesses(&r) {
        check_mutations(&sys, &Trace::from_path(&sys, &path), pick)?;
    }
    Ok(())
}

/// (e) Minimisation keeps a witness a witness, with no more context switches.
fn minimised_witnesses_still_witness_holds(sys: Sys) -> Result<(), TestCaseError> {
    if reference(&sys.asymmetric(), LIMIT).is_none() {
        return Ok(());
    }
    for options in [
        opts(Search::Bfs, Reduction::None, false, 1),
        opts(Search::Dfs, Reduction::None, false, 1),
        opts(Search::Dfs, Reduction::Por, false, 1),
    ] {
        let r = explore(&sys, &options);
        for (claim, _, path) in witnesses(&r) {
            if matches!(claim, Claim::Violation(_, ViolationKind::Eventually, _)) {
                continue; // a lasso is not a final-state property
            }
            if path.actions.len() > 40 {
                continue; // minimisation is quadratic per pass: meant for BFS-short paths
            }
            let witnesses_claim = |end: &St| {
                let mut states = run_path(&sys, &path).expect("witness executes");
                *states.last_mut().expect("initial state") = end.clone();
                shows(&sys, false, &claim, &states).is_ok()
            };
            prop_assert!(execute(&sys, &path).is_some_and(|end| witnesses_claim(&end)));
            let shorter = drop_needless_preemptions(&sys, &path, witnesses_claim);
            prop_assert!(context_switches(&sys, &shorter) <= context_switches(&sys, &path));
            prop_assert_eq!(shorter.init, path.init);
            let mut a = shorter.actions.clone();
            let mut b = path.actions.clone();
            let key = |x: &Act| (x.actor, x.pc, x.choice);
            a.sort_by_key(key);
            b.sort_by_key(key);
            prop_assert_eq!(a, b, "minimisation only reorders steps");
            let end = execute(&sys, &shorter);
            prop_assert!(
                end.as_ref().is_some_and(witnesses_claim),
                "{:?} lost by minimisation",
                claim
            );
            let states = replay_through_yaml(&sys, &shorter).map_err(TestCaseError::fail)?;
            prop_assert_eq!(states.last(), end.as_ref());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn witnesses_replay(sys in any_system(ALL), seed in any::<u64>()) {
        witnesses_replay_holds(sys, seed)?;
    }

    #[test]
    fn mutated_traces_are_refused(sys in any_system(ALL), pick in any::<usize>()) {
        mutated_traces_are_refused_holds(sys, pick)?;
    }

    #[test]
    fn minimised_witnesses_still_witness(sys in any_system(ALL)) {
        minimised_witnesses_still_witness_holds(sys)?;
    }
}
