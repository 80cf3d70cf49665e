//! The benchmark models written in the language (`models/lang/`) reproduce the reference counts
//! exactly with reductions off, and the language tap-churn agrees with the hand-written Rust one
//! state for state.

use sim::{explore, Model, Options, Reduction, Strategy};

const TAP_CHURN: &str = include_str!("../../models/lang/tap-churn.yaml");
const REBOOT_STORM: &str = include_str!("../../models/lang/reboot-storm.yaml");
const REFERENCE: &str = include_str!("../../bench/reference-counts.tsv");

/// Configurations a debug-build test can afford.
const SMALL: u64 = 200_000;

/// `N=2,naming=lowest-free` as parameters (enum constants are identifiers: `-` becomes `_`).
fn params(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.replace('-', "_"))
        })
        .collect()
}

fn load(model: &str, p: &str) -> lang::Program {
    let (path, text) = match model {
        "tap-churn" => ("models/lang/tap-churn.yaml", TAP_CHURN),
        _ => ("models/lang/reboot-storm.yaml", REBOOT_STORM),
    };
    let config = lang::Config {
        params: params(p),
        patches: Vec::new(),
    };
    lang::load(path, text, &config).unwrap_or_else(|e| panic!("{}", e[0]))
}

fn counts<M: Model>(model: &M, strategy: Strategy, reduction: Reduction) -> [u64; 4] {
    let options = Options {
        strategy,
        reduction,
        record_paths: false,
        ..Options::default()
    };
    let r = explore(model, &options);
    assert!(r.complete);
    [r.states, r.transitions, r.terminal, r.violating_terminal]
}

#[test]
fn small_reference_configurations_match_exactly() {
    let mut checked = 0;
    for line in REFERENCE.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let expected: [u64; 4] = [2, 3, 4, 5].map(|i| f[i].parse().expect("a count"));
        if expected[0] > SMALL {
            continue;
        }
        let m = load(f[0], f[1]);
        assert_eq!(
            counts(&m, Strategy::Bfs, Reduction::None),
            expected,
            "{} {}",
            f[0],
            f[1]
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} configurations checked");
}

/// Enabled steps by (actor name, label) with their successors.
fn successors<M: Model>(model: &M, state: &M::State) -> Vec<((String, String), M::State)> {
    let actors = model.actors();
    let mut enabled = Vec::new();
    model.actions(state, &mut enabled);
    let mut out: Vec<_> = enabled
        .iter()
        .map(|a| {
            let info = model.step_info(a);
            (
                (actors[info.actor as usize].clone(), info.label),
                model.next_state(state, a),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Walks both models in lockstep from their initial states: in every pair of corresponding
/// states the same actors can take the same labelled steps, and the correspondence is a
/// bijection (as many distinct states on each side as pairs).
#[test]
fn language_tap_churn_agrees_with_the_rust_one_state_for_state() {
    use models::bench::{Cleanup, Naming, TapChurn};
    use std::collections::{HashMap, HashSet, VecDeque};
    for (n, c) in [(1, 2), (2, 1), (2, 2), (3, 1)] {
        for (naming, nv) in [
            (Naming::LowestFree, "lowest-free"),
            (Naming::Monotonic, "monotonic"),
        ] {
            for (cleanup, cv) in [
                (Cleanup::Buggy, "buggy"),
                (Cleanup::ExistsCheck, "exists-check"),
                (Cleanup::Atomic, "atomic"),
            ] {
                let rust = TapChurn::new(n, c, naming, cleanup).unwrap();
                let p = format!("N={n},C={c},naming={nv},cleanup={cv}");
                let lang = load("tap-churn", &p);
                assert_eq!(rust.actors(), lang.actors());
                let mut pairs = HashSet::new();
                let mut rust_of: HashMap<lang::State, _> = HashMap::new();
                let mut lang_of = HashMap::new();
                let start = (rust.init_states()[0], lang.init_states()[0].clone());
                let mut todo = VecDeque::from([start]);
                while let Some((r, l)) = todo.pop_front() {
                    if !pairs.insert((r, l.clone())) {
                        continue;
                    }
                    assert_eq!(*rust_of.entry(l.clone()).or_insert(r), r, "{p}");
                    assert_eq!(*lang_of.entry(r).or_insert(l.clone()), l, "{p}");
                    let rs = successors(&rust, &r);
                    let ls = successors(&lang, &l);
                    let rust_names: Vec<_> = rs.iter().map(|(k, _)| k.clone()).collect();
                    let lang_names: Vec<_> = ls.iter().map(|(k, _)| k.clone()).collect();
                    assert_eq!(rust_names, lang_names, "{p}");
                    if rs.is_empty() {
                        assert!(lang.is_done(&l), "{p}: a terminal state is a deadlock");
                        assert_eq!(rust.outcome(&r), lang.outcome(&l), "{p}");
                    }
                    todo.extend(rs.into_iter().zip(ls).map(|((_, r), (_, l))| (r, l)));
                }
                assert_eq!(pairs.len(), rust_of.len(), "{p}");
                assert_eq!(pairs.len(), lang_of.len(), "{p}");
                let rust_counts = counts(&rust, Strategy::Bfs, Reduction::None);
                assert_eq!(rust_counts[0], pairs.len() as u64, "{p}");
                assert_eq!(
                    rust_counts,
                    counts(&lang, Strategy::Bfs, Reduction::None),
                    "{p}"
                );
            }
        }
    }
}

fn verdicts<M: Model>(
    model: &M,
    reduction: Reduction,
) -> (u64, u64, u64, Vec<(String, u64)>, Vec<String>) {
    let r = explore(
        model,
        &Options {
            reduction,
            ..Options::default()
        },
    );
    assert!(r.complete);
    let outcomes = r
        .outcomes
        .iter()
        .map(|(k, o)| (k.clone(), o.count))
        .collect();
    let violated = r.violations.iter().map(|v| v.property.clone()).collect();
    (
        r.states,
        r.terminal,
        r.violating_terminal,
        outcomes,
        violated,
    )
}

/// Partial-order reduction with the derived footprints keeps every terminal state, outcome and
/// violation of the unreduced search, and does reduce the independent domains of reboot-storm.
#[test]
fn reduction_with_derived_footprints_keeps_terminal_states_and_verdicts() {
    let configs = [
        ("tap-churn", "N=2,C=1,naming=lowest-free,cleanup=buggy"),
        (
            "tap-churn",
            "N=3,C=1,naming=lowest-free,cleanup=exists-check",
        ),
        ("tap-churn", "N=3,C=1,naming=monotonic,cleanup=atomic"),
        ("tap-churn", "N=2,C=2,naming=lowest-free,cleanup=atomic"),
        ("reboot-storm", "N=2,fix=false"),
        ("reboot-storm", "N=3,fix=true"),
    ];
    for (model, p) in configs {
        let m = load(model, p);
        let none = verdicts(&m, Reduction::None);
        let por = verdicts(&m, Reduction::Por);
        assert!(por.0 <= none.0, "{model} {p}");
        assert_eq!(
            (por.1, por.2, &por.3, &por.4),
            (none.1, none.2, &none.3, &none.4),
            "{model} {p}"
        );
        if model == "reboot-storm" {
            assert!(por.0 * 2 < none.0, "{model} {p}: {} vs {}", por.0, none.0);
        }
    }
}
