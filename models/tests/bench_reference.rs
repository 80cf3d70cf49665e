//! The benchmark models reproduce the reference state counts exactly with reductions off, with
//! BFS and DFS, on one thread and on several.

use models::bench::{Cleanup, Naming, RebootStorm, TapChurn};
use sim::{explore, Model, Options, Reduction, Strategy};

struct Row {
    model: String,
    params: String,
    counts: [u64; 4],
}

fn reference() -> Vec<Row> {
    let text = include_str!("../../bench/reference-counts.tsv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Row {
                model: f[0].to_string(),
                params: f[1].to_string(),
                counts: [2, 3, 4, 5].map(|i| f[i].parse().expect("a count")),
            }
        })
        .collect()
}

fn param<'a>(params: &'a str, key: &str) -> &'a str {
    params
        .split(',')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .expect("parameter present")
}

fn counts<M: Model>(model: &M, strategy: Strategy, jobs: usize) -> [u64; 4] {
    let options = Options {
        strategy,
        jobs,
        reduction: Reduction::None,
        record_paths: false,
        ..Options::default()
    };
    let r = explore(model, &options);
    assert!(r.complete);
    [r.states, r.transitions, r.terminal, r.violating_terminal]
}

/// Configurations small enough for a debug-build test (the rest is `vmrace bench`'s job).
const SMALL: u64 = 200_000;

#[test]
fn small_reference_configurations_match_exactly() {
    let mut checked = 0;
    for row in reference().into_iter().filter(|r| r.counts[0] <= SMALL) {
        let got = match row.model.as_str() {
            "tap-churn" => {
                let naming = match param(&row.params, "naming") {
                    "lowest-free" => Naming::LowestFree,
                    _ => Naming::Monotonic,
                };
                let cleanup = match param(&row.params, "cleanup") {
                    "buggy" => Cleanup::Buggy,
                    "exists-check" => Cleanup::ExistsCheck,
                    _ => Cleanup::Atomic,
                };
                let m = TapChurn::new(
                    param(&row.params, "N").parse().unwrap(),
                    param(&row.params, "C").parse().unwrap(),
                    naming,
                    cleanup,
                )
                .unwrap();
                assert_eq!(m.params(), row.params);
                let bfs = counts(&m, Strategy::Bfs, 1);
                assert_eq!(bfs, counts(&m, Strategy::Dfs, 1), "{} dfs", row.params);
                assert_eq!(bfs, counts(&m, Strategy::Bfs, 3), "{} jobs 3", row.params);
                bfs
            }
            _ => {
                let m = RebootStorm::new(
                    param(&row.params, "N").parse().unwrap(),
                    param(&row.params, "fix") == "true",
                )
                .unwrap();
                assert_eq!(m.params(), row.params);
                counts(&m, Strategy::Bfs, 2)
            }
        };
        assert_eq!(got, row.counts, "{} {}", row.model, row.params);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} configurations checked");
}
