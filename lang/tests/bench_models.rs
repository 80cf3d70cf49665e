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
    lang::load(path, text, &params(p)).unwrap_or_else(|e| panic!("{}", e[0]))
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
