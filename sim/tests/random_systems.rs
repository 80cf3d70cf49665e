//! The explorer's correctness argument, checked on random small actor systems (see `support`):
//!
//! * the unreduced BFS and DFS agree with an independent reference explorer (states, terminal
//!   states, outcomes, verdicts);
//! * (a) partial-order reduction, in BFS and DFS, finds exactly the terminal states, outcome
//!   counts and violated/vacuous properties of the unreduced search, never with more states;
//! * (b) BFS reports are identical, witnesses included, for `jobs` 1 and 4, with and without
//!   reduction and symmetry;
//! * (d) symmetry reduction preserves outcomes up to permutation and verdicts, with fewer states;
//! * (f) DFS with a large preemption bound equals unbounded DFS; small bounds report the cut;
//! * (g) depth- and state-bounded searches never claim completeness when the bound cut, and a
//!   bounded search that claims completeness equals the unbounded one;
//! * (i) random walks and PCT are deterministic in their seed, sound (they only report what
//!   exists), and PCT's miss probability is in (0, 1].

// These run the engine on real threads; under loom or shuttle its atomics only work inside
// those checkers' executions (see loom_queue.rs and shuttle_explorer.rs).
#![cfg(not(any(loom, feature = "shuttle")))]

mod support;

use proptest::prelude::*;
use sim::{explore, Cut, Options, Reduction, Strategy as Search};
use support::*;

/// Systems with more reachable states than this are skipped (about 1% of them).
const LIMIT: usize = 20_000;

const ALL: Shape = Shape {
    loops: true,
    eventually: true,
};

/// The unreduced searches agree with the reference explorer, and reduction (POR, and POR
/// with symmetry against symmetry alone) preserves terminal states and every verdict.
fn por_preserves_terminal_states_and_verdicts_holds(sys: Sys) -> Result<(), TestCaseError> {
    let Some(r) = reference(&sys.asymmetric(), LIMIT) else {
        return Ok(());
    };
    for strategy in [Search::Bfs, Search::Dfs] {
        let none = explore(&sys, &opts(strategy, Reduction::None, false, 1));
        prop_assert!(none.complete);
        prop_assert_eq!(none.states, r.states.len() as u64);
        prop_assert_eq!(none.terminal, r.terminal.len() as u64);
        prop_assert_eq!(&outcome_counts(&none), &r.outcomes);
        prop_assert_eq!(&violated(&none), &r.violated);
        prop_assert_eq!(&none.vacuous, &r.vacuous);
        let bad_terminal = r
            .terminal
            .iter()
            .filter(|s| {
                !sim::Model::is_done(&sys, s) || sys.at_end.iter().any(|p| !p.pred.holds(s))
            })
            .count();
        prop_assert_eq!(none.violating_terminal, bad_terminal as u64);

        let por = explore(&sys, &opts(strategy, Reduction::Por, false, 1));
        prop_assert!(por.complete);
        prop_assert!(
            por.states <= none.states,
            "POR {} > none {}",
            por.states,
            none.states
        );
        prop_assert_eq!(por.terminal, none.terminal);
        prop_assert_eq!(por.violating_terminal, none.violating_terminal);
        prop_assert_eq!(outcome_counts(&por), outcome_counts(&none));
        prop_assert_eq!(violated(&por), violated(&none));
        prop_assert_eq!(&por.vacuous, &none.vacuous);

        if sys.symmetric {
            let sym = explore(&sys, &opts(strategy, Reduction::None, true, 1));
            let both = explore(&sys, &opts(strategy, Reduction::Por, true, 1));
            prop_assert!(both.complete);
            prop_assert!(both.states <= sym.states);
            prop_assert_eq!(both.terminal, sym.terminal);
            prop_assert_eq!(outcome_counts(&both), outcome_counts(&sym));
            prop_assert_eq!(violated(&both), violated(&sym));
            prop_assert_eq!(&both.vacuous, &sym.vacuous);
        }
    }
    Ok(())
}

/// BFS is deterministic by construction: one thread or four, the report is the same down to
/// witness fingerprints and paths.
fn bfs_reports_do_not_depend_on_jobs_holds(sys: Sys) -> Result<(), TestCaseError> {
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
            let one = explore(&sys, &opts(Search::Bfs, reduction, symmetry, 1));
            let four = explore(&sys, &opts(Search::Bfs, reduction, symmetry, 4));
            prop_assert_eq!(
                summary(&one),
                summary(&four),
                "{:?} symmetry={}",
                reduction,
                symmetry
            );
        }
    }
    Ok(())
}

/// Symmetry reduction keeps the outcomes up to a permutation of the actors and every
/// verdict, and never explores more states; it explores exactly one state per orbit.
fn symmetry_preserves_outcomes_up_to_permutation_holds(sys: Sys) -> Result<(), TestCaseError> {
    let plain = sys.asymmetric();
    let Some(r) = reference(&plain, LIMIT) else {
        return Ok(());
    };
    let orbits: std::collections::HashSet<St> = r.states.iter().map(Sys::sorted).collect();
    for strategy in [Search::Bfs, Search::Dfs] {
        let none = explore(&sys, &opts(strategy, Reduction::None, false, 1));
        let sym = explore(&sys, &opts(strategy, Reduction::None, true, 1));
        prop_assert!(sym.complete);
        prop_assert!(sym.states <= none.states);
        prop_assert_eq!(sym.states, orbits.len() as u64);
        let canon =
            |names: std::collections::BTreeSet<String>| -> std::collections::BTreeSet<String> {
                names.iter().map(|n| canonical_outcome(n)).collect()
            };
        prop_assert_eq!(canon(outcome_names(&sym)), canon(outcome_names(&none)));
        prop_assert_eq!(violated(&sym), violated(&none));
        prop_assert_eq!(&sym.vacuous, &none.vacuous);
    }
    Ok(())
}

/// Preemption bounding: a bound no path reaches changes nothing; a small bound either cuts
/// (and says so) or equals the unbounded search; whatever it finds exists.
fn preemption_bounds_holds(sys: Sys, bound: u32) -> Result<(), TestCaseError> {
    let Some(r) = reference(&sys.asymmetric(), LIMIT) else {
        return Ok(());
    };
    // On a cyclic graph the preemption count grows around cycles, and each (state, last
    // actor) pair may be re-explored once per smaller count found later, up to the bound:
    // a bound of 1000 costs up to 1000 times the unbounded search. Keep those systems small.
    let cyclic = sys.programs.iter().any(|p| p.loop_to.is_some());
    let large_too = !cyclic || r.states.len() <= 500;
    let symmetry = sys.symmetric;
    for reduction in [Reduction::None, Reduction::Por] {
        let base = opts(Search::Dfs, reduction, symmetry, 1);
        let free = explore(&sys, &base);
        if large_too {
            let large = explore(
                &sys,
                &Options {
                    max_preemptions: Some(1_000),
                    ..base.clone()
                },
            );
            prop_assert!(large.complete);
            prop_assert!(large.cuts.is_empty());
            if reduction == Reduction::None {
                // (Under reduction the stack proviso sees (state, last actor) pairs, so which
                // states get fully expanded, and hence the state count, may differ.)
                prop_assert_eq!(large.states, free.states);
            }
            prop_assert_eq!(large.terminal, free.terminal);
            prop_assert_eq!(large.violating_terminal, free.violating_terminal);
            prop_assert_eq!(outcome_counts(&large), outcome_counts(&free));
            prop_assert_eq!(violated(&large), violated(&free));
            prop_assert_eq!(&large.vacuous, &free.vacuous);
        }

        let small = explore(
            &sys,
            &Options {
                max_preemptions: Some(bound),
                ..base.clone()
            },
        );
        if reduction == Reduction::None {
            prop_assert!(small.states <= free.states);
        }
        prop_assert!(outcome_names(&small).is_subset(&outcome_names(&free)));
        prop_assert!(violated(&small).is_subset(&violated(&free)));
        if small.complete {
            prop_assert!(small.cuts.is_empty());
            prop_assert_eq!(outcome_counts(&small), outcome_counts(&free));
            prop_assert_eq!(violated(&small), violated(&free));
            if reduction == Reduction::None {
                prop_assert_eq!(small.states, free.states);
            }
        } else {
            prop_assert!(
                small.cuts.contains(&Cut::Preemptions(bound)),
                "cuts {:?}",
                small.cuts
            );
        }
    }
    Ok(())
}

/// Depth and state budgets: a bound that cut is reported; a run that claims completeness
/// is the unbounded run.
fn bounded_searches_never_claim_completeness_when_cut_holds(
    sys: Sys,
    depth: usize,
    budget: u64,
    por: bool,
) -> Result<(), TestCaseError> {
    if reference(&sys.asymmetric(), LIMIT).is_none() {
        return Ok(());
    }
    let reduction = if por { Reduction::Por } else { Reduction::None };
    for strategy in [Search::Bfs, Search::Dfs] {
        let base = opts(strategy, reduction, sys.symmetric, 1);
        let free = explore(&sys, &base);
        prop_assert!(free.complete);
        for (bounded, cut) in [
            (
                Options {
                    max_depth: Some(depth),
                    ..base.clone()
                },
                Cut::Depth(depth),
            ),
            (
                Options {
                    max_states: Some(budget),
                    ..base.clone()
                },
                Cut::States(budget),
            ),
        ] {
            let r = explore(&sys, &bounded);
            prop_assert_eq!(r.complete, r.cuts.is_empty());
            prop_assert!(
                r.cuts.iter().all(|c| *c == cut),
                "{:?} reported {:?}",
                cut,
                r.cuts
            );
            prop_assert!(outcome_names(&r).is_subset(&outcome_names(&free)));
            prop_assert!(violated(&r).is_subset(&violated(&free)));
            if r.states < free.states || outcome_names(&r) != outcome_names(&free) {
                prop_assert!(
                    !r.complete,
                    "{:?}: cut the search but claims completeness",
                    cut
                );
            }
            if strategy == Search::Bfs && matches!(cut, Cut::Depth(_)) && free.max_depth > depth {
                prop_assert!(
                    !r.complete,
                    "BFS below depth {} claims completeness",
                    free.max_depth
                );
            }
            if matches!(cut, Cut::States(_)) && free.states > budget {
                prop_assert!(
                    !r.complete,
                    "{} states > budget {} yet complete",
                    free.states,
                    budget
                );
            }
            if r.complete {
                prop_assert_eq!(r.states, free.states);
                prop_assert_eq!(outcome_counts(&r), outcome_counts(&free));
                prop_assert_eq!(violated(&r), violated(&free));
                prop_assert_eq!(&r.vacuous, &free.vacuous);
            }
        }
    }
    Ok(())
}

/// Random walks and PCT: the same seed gives the same report; what they find exists; PCT's
/// miss probability is a probability of missing, in (0, 1].
fn randomised_searches_are_deterministic_and_sound_holds(
    sys: Sys,
    seed: u64,
    runs: u64,
    depth: u32,
) -> Result<(), TestCaseError> {
    let Some(r) = reference(&sys.asymmetric(), LIMIT) else {
        return Ok(());
    };
    for strategy in [
        Search::Random { runs },
        Search::Pct { runs, depth },
        Search::Portfolio { runs },
    ] {
        let options = Options {
            strategy,
            seed,
            max_states: matches!(strategy, Search::Portfolio { .. }).then_some(5),
            // Walks through a spinner that never exits would otherwise run 10 000 steps each.
            max_depth: Some(100),
            ..Options::default()
        };
        let a = explore(&sys, &options);
        let b = explore(&sys, &options);
        prop_assert_eq!(summary(&a), summary(&b));
        prop_assert!(a.states <= r.states.len() as u64);
        prop_assert!(outcome_names(&a).iter().all(|o| r.outcomes.contains_key(o)));
        for (name, o) in &a.outcomes {
            prop_assert!(o.count <= r.outcomes[name]);
        }
        prop_assert!(
            violated(&a).is_subset(&r.violated),
            "{:?} reports {:?}",
            strategy,
            violated(&a)
        );
        match strategy {
            Search::Pct { .. } => {
                let p = a.miss_probability.expect("PCT states its miss probability");
                prop_assert!(p > 0.0 && p <= 1.0, "miss probability {}", p);
                prop_assert!(!a.complete);
                prop_assert!(a.cuts.contains(&Cut::Sampled(runs)));
            }
            Search::Random { .. } => {
                prop_assert_eq!(a.miss_probability, None);
                prop_assert!(!a.complete);
                prop_assert!(a.cuts.contains(&Cut::Sampled(runs)));
            }
            _ => {
                if a.complete {
                    prop_assert_eq!(&outcome_counts(&a), &r.outcomes);
                    prop_assert_eq!(&violated(&a), &r.violated);
                }
            }
        }
    }
    Ok(())
}

// Each property is a plain function above (so rustfmt and the compiler see it whole); the
// proptest block only draws its inputs.
proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn por_preserves_terminal_states_and_verdicts(sys in any_system(ALL)) {
        por_preserves_terminal_states_and_verdicts_holds(sys)?;
    }

    #[test]
    fn bfs_reports_do_not_depend_on_jobs(sys in any_system(ALL)) {
        bfs_reports_do_not_depend_on_jobs_holds(sys)?;
    }

    #[test]
    fn symmetry_preserves_outcomes_up_to_permutation(sys in symmetric_system(ALL)) {
        symmetry_preserves_outcomes_up_to_permutation_holds(sys)?;
    }

    #[test]
    fn preemption_bounds(sys in any_system(ALL), bound in 0u32..3) {
        preemption_bounds_holds(sys, bound)?;
    }

    #[test]
    fn bounded_searches_never_claim_completeness_when_cut(
        sys in any_system(ALL),
        depth in 0usize..8,
        budget in 1u64..60,
        por in any::<bool>(),
    ) {
        bounded_searches_never_claim_completeness_when_cut_holds(sys, depth, budget, por)?;
    }

    #[test]
    fn randomised_searches_are_deterministic_and_sound(
        sys in any_system(ALL),
        seed in any::<u64>(),
        runs in 1u64..40,
        depth in 1u32..4,
    ) {
        randomised_searches_are_deterministic_and_sound_holds(sys, seed, runs, depth)?;
    }
}
