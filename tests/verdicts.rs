//! Verdicts a CI can trust: a cut search never claims a vacuous `sometimes` (it is incomplete,
//! exit 3, naming the bound); every strategy honours every bound; unknown or impossible values
//! are refused with file:line:column (exit 2) instead of being defaulted or accepted; `--shard
//! I/N` counts from 1.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vmrace(args: &[&str]) -> Output {
    within(args, Duration::from_secs(120))
}

/// Runs vmrace and fails the test if it takes longer than `limit` (a hang is a failure).
fn within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vmrace");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vmrace {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("verdicts")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `file:line:column` of the first character of the `nth` (0-based) occurrence of `needle`.
fn at(file: &str, text: &str, needle: &str, nth: usize) -> String {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} in the scenario"))
        .0;
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{file}:{line}:{column}")
}

/// Bad input: exit 2, the message placed at `place`, no panic.
fn assert_refused(o: &Output, place: &str, needle: &str) {
    let err = stderr(o);
    assert_eq!(code(o), 2, "{err}");
    assert!(err.contains(place), "expected `{place}` in: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Two VMs on OVS; `B.state` never takes the value `nowhere`, so a `sometimes` of it is vacuous.
const NET: &str = r#"title: "t"
source: [004_578cc153838e5308.txt]
model: network
setup:
  vms:
    - {name: A, backend: ovs, running: true, ops: [stop]}
    - {name: B, backend: ovs, ops: [start]}
variants:
  unconditional: {tap_cleanup: unconditional}
  monotonic-names: {tap_cleanup: monotonic-names}
properties:
  - name: B reaches nowhere
    sometimes: 'B.state == "nowhere"'
expect:
  unconditional: violated
  monotonic-names: violated
"#;

fn with_search(search: &str) -> String {
    format!("{NET}search: {{{search}}}\n")
}

#[test]
fn a_sometimes_property_is_vacuous_only_after_a_complete_search() {
    let dir = tmp("vacuous");
    // Complete: the unreachable `sometimes` is vacuous, a violation, as expected.
    let complete = write(&dir, "complete.yaml", NET);
    let o = vmrace(&["check", "--format", "json", &complete]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(lines(&o).iter().all(|l| l["got"] == "violated"));

    let cuts = [
        ("strategy: bfs, max_states: 0", "0 states"),
        ("strategy: bfs, max_states: 3", "3 states"),
        ("strategy: bfs, max_depth: 0", "depth 0"),
        ("strategy: bfs, max_depth: 2", "depth 2"),
        ("strategy: bfs, max_seconds: 0", "0 s"),
        ("strategy: dfs, max_states: 0", "0 states"),
        ("strategy: dfs, max_states: 3", "3 states"),
        ("strategy: dfs, max_depth: 0", "depth 0"),
        ("strategy: dfs, max_depth: 2", "depth 2"),
        ("strategy: dfs, max_seconds: 0", "0 s"),
        ("strategy: random, runs: 20", "20 sampled runs"),
        ("strategy: pct, runs: 20", "20 sampled runs"),
        ("strategy: portfolio, runs: 20, max_states: 3", "3 states"),
    ];
    for (search, bound) in cuts {
        let file = write(&dir, "cut.yaml", &with_search(search));
        let o = vmrace(&["check", "--format", "json", "--no-timing", &file]);
        assert_eq!(code(&o), 3, "{search}: {}", stderr(&o));
        for line in lines(&o) {
            let got = line["got"].as_str().expect("a verdict");
            assert!(got.starts_with("no violation within"), "{search}: {line}");
            assert!(got.contains(bound), "{search}: {line}");
            assert_eq!(line["ok"], false, "{search}: {line}");
            assert_eq!(line["complete"], false, "{search}: {line}");
            assert_eq!(line["must_complete_cut"], true, "{search}: {line}");
            let cuts = line["cuts"].as_array().expect("cuts");
            assert!(cuts.iter().any(|c| c == bound), "{search}: {line}");
        }
        let err = stderr(&o);
        assert!(err.contains("INCOMPLETE") && err.contains(bound), "{err}");
        assert!(!err.contains("DRIFT"), "{err}");
        // Table output names the bound too, and never says `violated`.
        let table = vmrace(&["check", &file]);
        assert_eq!(code(&table), 3);
        let out = String::from_utf8_lossy(&table.stdout);
        assert!(out.contains(&format!("INCOMPLETE (cut: {bound}")), "{out}");
        let verdict_violated = format!("{:<22} violated", "violated");
        assert!(!out.contains(&verdict_violated), "{out}");
    }

    // Without must_complete a cut search is a mismatch (exit 1), and still not `violated`.
    let loose = write(
        &dir,
        "loose.yaml",
        &with_search("max_states: 3, must_complete: false"),
    );
    let o = vmrace(&["check", "--format", "json", &loose]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(lines(&o)
        .iter()
        .all(|l| l["got"] == "no violation within 3 states"));
}

#[test]
fn random_pct_and_portfolio_stop_at_max_seconds() {
    let dir = tmp("seconds");
    for search in [
        "strategy: random, runs: 100000000, max_seconds: 1",
        "strategy: pct, runs: 100000000, max_seconds: 1",
        // The BFS member is cut by the depth bound; the walks then run into the time bound.
        "strategy: portfolio, runs: 100000000, max_depth: 2, max_seconds: 1",
    ] {
        let file = write(&dir, "slow.yaml", &with_search(search));
        let started = Instant::now();
        let o = within(
            &["check", "--format", "json", &file],
            Duration::from_secs(40),
        );
        assert_eq!(code(&o), 3, "{search}: {}", stderr(&o));
        // Two jobs of one second each, and a margin for a loaded machine.
        assert!(started.elapsed() < Duration::from_secs(20), "{search}");
        for line in lines(&o) {
            let cuts = line["cuts"].as_array().expect("cuts");
            assert!(cuts.iter().any(|c| c == "1 s"), "{search}: {line}");
        }
    }
}

#[test]
fn random_and_pct_stop_at_max_states_and_max_depth() {
    let dir = tmp("states");
    for strategy in ["random", "pct"] {
        let file = write(
            &dir,
            "small.yaml",
            &with_search(&format!("strategy: {strategy}, runs: 1000, max_states: 3")),
        );
        let o = vmrace(&["check", "--format", "json", &file]);
        assert_eq!(code(&o), 3, "{strategy}: {}", stderr(&o));
        for line in lines(&o) {
            assert!(line["states"].as_u64().expect("states") <= 3, "{line}");
            let cuts = line["cuts"].as_array().expect("cuts");
            assert!(cuts.iter().any(|c| c == "3 states"), "{line}");
        }
        let file = write(
            &dir,
            "shallow.yaml",
            &with_search(&format!("strategy: {strategy}, runs: 50, max_depth: 1")),
        );
        let o = vmrace(&["check", "--format", "json", &file]);
        assert_eq!(code(&o), 3, "{strategy}: {}", stderr(&o));
        for line in lines(&o) {
            let cuts = line["cuts"].as_array().expect("cuts");
            assert!(cuts.iter().any(|c| c == "depth 1"), "{line}");
        }
    }
}

#[test]
fn walk_sizes_are_checked_before_anything_is_allocated() {
    let dir = tmp("sizes");
    for (search, value, needle) in [
        ("strategy: pct, depth: 4000000000", "4000000000", "depth"),
        ("strategy: pct, depth: 0", "0}", "depth"),
        ("strategy: random, runs: 0", "0}", "runs"),
        ("strategy: pct, runs: -5", "-5", "runs"),
    ] {
        let text = with_search(search);
        let file = write(&dir, "size.yaml", &text);
        let o = within(&["check", &file], Duration::from_secs(60));
        assert_refused(&o, &at(&file, &text, value, 0), needle);
    }
}

#[test]
fn reduction_por_reduces_dpor_is_its_alias_and_unknown_values_are_refused() {
    let dir = tmp("reduction");
    let states = |reduction: &str| -> Vec<u64> {
        let text = NET
            .replace(
                "    sometimes: 'B.state == \"nowhere\"'",
                "    at_end: 'B.state != \"running\" || B.connected'",
            )
            .replace("monotonic-names: violated", "monotonic-names: holds");
        let text = format!("{text}search: {{reduction: {reduction}}}\n");
        let file = write(&dir, &format!("{reduction}.yaml"), &text);
        let o = vmrace(&["check", "--format", "json", &file]);
        assert_eq!(code(&o), 0, "{reduction}: {}", stderr(&o));
        lines(&o)
            .iter()
            .map(|l| l["states"].as_u64().expect("states"))
            .collect()
    };
    let (none, por, dpor) = (states("none"), states("por"), states("dpor"));
    assert!(
        por.iter().zip(&none).all(|(p, n)| p < n),
        "por {por:?}, none {none:?}"
    );
    assert_eq!(por, dpor);

    let unknown_model = NET.replace("model: network", "model: netwrk");
    let file = write(&dir, "model.yaml", &unknown_model);
    let o = vmrace(&["check", &file]);
    assert_refused(
        &o,
        &at(&file, &unknown_model, "netwrk", 0),
        "did you mean `network`?",
    );
    for (search, value, suggestion) in [
        ("reduction: porr", "porr", "did you mean `por`?"),
        ("strategy: bfz", "bfz", "did you mean `bfs`?"),
    ] {
        let text = with_search(search);
        let file = write(&dir, "typo.yaml", &text);
        let o = vmrace(&["check", &file]);
        assert_refused(&o, &at(&file, &text, value, 0), suggestion);
    }
}

#[test]
fn bounds_must_be_numbers_a_search_can_keep() {
    let dir = tmp("bounds");
    for (search, value) in [
        ("max_seconds: -1", "-1"),
        ("max_seconds: .nan", ".nan"),
        ("max_seconds: .inf", ".inf"),
        ("max_states: -1", "-1"),
        ("max_depth: -2", "-2"),
    ] {
        let text = with_search(search);
        let file = write(&dir, "bound.yaml", &text);
        let o = vmrace(&["check", &file]);
        let key = search.split(':').next().expect("key");
        assert_refused(&o, &at(&file, &text, value, 0), key);
    }
}

/// The network scenario with a property that holds, so that checks of the rest can run.
fn net_ok() -> String {
    NET.replace(
        "    sometimes: 'B.state == \"nowhere\"'",
        "    sometimes: 'B.state == \"running\"'",
    )
    .replace("violated", "holds")
}

#[test]
fn duplicate_names_are_refused_where_the_second_one_stands() {
    let dir = tmp("duplicates");
    // Two properties of one name.
    let text = net_ok().replace(
        "expect:",
        "  - name: B reaches nowhere\n    always: '!B.done || B.done'\nexpect:",
    );
    let text = text.replace("B reaches nowhere", "B runs");
    let file = write(&dir, "props.yaml", &text);
    let o = vmrace(&["check", &file]);
    assert_refused(&o, &at(&file, &text, "B runs", 1), "`B runs`");

    // Two VMs of one name (network), in a variant's override.
    let text = net_ok().replace(
        "  monotonic-names: {tap_cleanup: monotonic-names}",
        "  monotonic-names:\n    tap_cleanup: monotonic-names\n    vms:\n      - {name: A, backend: ovs}\n      - {name: A, backend: ovs, ops: [start]}",
    );
    let file = write(&dir, "vms.yaml", &text);
    let o = vmrace(&["check", &file]);
    assert_refused(&o, &at(&file, &text, "A, backend: ovs, ops", 0), "`A`");

    // Two domains, and two threads, of one name (lifecycle).
    let lifecycle = std::fs::read_to_string("scenarios/seed-000-acpi-then-agent-reboot.yaml")
        .expect("bundled scenario");
    let text = lifecycle.replace("    - {name: A}\n", "    - {name: A}\n    - {name: A}\n");
    let file = write(&dir, "domains.yaml", &text);
    let o = vmrace(&["check", &file]);
    assert_refused(&o, &at(&file, &text, "A}", 1), "`A`");
    let text = lifecycle.replace("    - name: api-2\n", "    - name: api-1\n");
    let file = write(&dir, "threads.yaml", &text);
    let o = vmrace(&["check", &file]);
    assert_refused(&o, &at(&file, &text, "api-1", 1), "`api-1`");

    // Two files of one scenario name in one run.
    let both = tmp("duplicates-across-files");
    let text = format!("name: twin\n{}", net_ok());
    let first = write(&both, "a.yaml", &text);
    let second = write(&both, "b.yaml", &text);
    let o = vmrace(&["check", both.to_str().unwrap()]);
    assert_refused(&o, &at(&second, &text, "twin", 0), &first);
}

#[test]
fn expected_outcomes_must_name_observed_values_of_the_right_shape() {
    let dir = tmp("outcomes");
    let base = net_ok().replace("expect:", "observe: [B.state, B.connected]\nexpect:");
    for (outcome, needle) in [
        (
            "B.stat=running, B.connected=true",
            "did you mean `B.state`?",
        ),
        ("B.state=running, B.connected=yes", "true or false"),
        ("B.state=running", "B.connected"),
    ] {
        let text = base.replace(
            "  unconditional: holds",
            &format!("  unconditional: {{outcomes: [\"{outcome}\"]}}"),
        );
        let file = write(&dir, "outcome.yaml", &text);
        let o = vmrace(&["check", &file]);
        assert_refused(&o, &at(&file, &text, &format!("\"{outcome}"), 0), needle);
    }
    // Well-formed outcomes load (and are compared).
    let text = base.replace(
        "  unconditional: holds",
        "  unconditional: {outcomes: [\"B.state=running, B.connected=true\"]}",
    );
    let file = write(&dir, "good.yaml", &text);
    assert_ne!(code(&vmrace(&["check", &file])), 2);
}

#[test]
fn property_expressions_are_type_checked_against_the_observations() {
    let dir = tmp("types");
    for (expr, needle) in [
        ("B.connected == \"true\"", "`B.connected`"),
        ("B.state == true", "`B.state`"),
        ("B.connected && B.state", "`B.state`"),
        ("B.state < 3", "`B.state`"),
    ] {
        let text = net_ok().replace(
            "    sometimes: 'B.state == \"running\"'",
            &format!("    always: '{expr}'"),
        );
        let file = write(&dir, "expr.yaml", &text);
        let o = vmrace(&["check", &file]);
        assert_refused(&o, &at(&file, &text, &format!("'{expr}"), 0), needle);
    }
}

#[test]
fn merge_refuses_empty_and_foreign_files() {
    let dir = tmp("merge");
    let empty = write(&dir, "empty.json", "");
    let o = vmrace(&["merge", &empty]);
    assert_refused(&o, &empty, "no JSON lines");
    let blank = write(&dir, "blank.json", "\n\n");
    assert_eq!(code(&vmrace(&["merge", &blank])), 2);
    let foreign = write(&dir, "foreign.json", "{\"job\":0,\"of\":1}\n");
    let o = vmrace(&["merge", &foreign]);
    assert_refused(&o, &format!("{foreign}:1"), "scenario");
    let fidelity = write(&dir, "other.json", "{\"scenario\":\"x\",\"agree\":3}\n");
    assert_eq!(code(&vmrace(&["merge", &fidelity])), 2);
}

#[test]
fn shards_count_from_one() {
    let dir = tmp("shards");
    let a = write(&dir, "a.yaml", &net_ok());
    let b = write(
        &dir,
        "b.yaml",
        &net_ok().replace("B.state == ", "A.state != "),
    );
    let whole = vmrace(&["check", "--format", "json", "--no-timing", &a, &b]);
    assert_eq!(code(&whole), 0, "{}", stderr(&whole));
    assert_eq!(lines(&whole).len(), 4);
    let mut files = Vec::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let o = vmrace(&[
            "check",
            "--format",
            "json",
            "--no-timing",
            "--shard",
            &shard,
            &a,
            &b,
        ]);
        assert_eq!(code(&o), 0, "{shard}: {}", stderr(&o));
        files.push(write(
            &dir,
            &format!("shard-{i}.json"),
            &String::from_utf8_lossy(&o.stdout),
        ));
    }
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let merged = vmrace(&args);
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    assert!(merged.stdout == whole.stdout, "merge differs");

    for bad in ["0/3", "4/3", "1/0", "x/3"] {
        let o = vmrace(&["check", "--shard", bad, &a]);
        assert_refused(&o, "--shard", "1 <= I <= N");
    }
    // A shard that owns no job would print nothing: refused, not a silent pass.
    let o = vmrace(&["check", "--shard", "3/3", &a]);
    assert_refused(&o, "--shard", "2 jobs");

    let help = vmrace(&["check", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("1/3"), "{text}");
    assert!(text.contains("counts from 1"), "{text}");
}

#[test]
fn the_ci_docs_shard_from_one() {
    let ci = std::fs::read_to_string("docs/ci.md").expect("docs/ci.md");
    let mut seen = 0;
    for shard in ci.split("--shard ").skip(1) {
        let spec: String = shard
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '/')
            .collect();
        if let Some((i, n)) = spec.split_once('/') {
            let (i, n): (usize, usize) = (i.parse().unwrap(), n.parse().unwrap());
            assert!((1..=n).contains(&i), "docs/ci.md: --shard {spec}");
            seen += 1;
        }
    }
    assert!(seen >= 3, "docs/ci.md shows a sharded run");
    for needle in [
        "strategy.job-index }} + 1",
        "CI_NODE_INDEX",
        "JOB_COMPLETION_INDEX + 1",
    ] {
        assert!(ci.contains(needle), "docs/ci.md mentions {needle}");
    }
    let gha = std::fs::read_to_string("docs/ci/github-actions.yml").expect("example");
    assert!(gha.contains("strategy.job-index }} + 1"), "{gha}");
    let gitlab = std::fs::read_to_string("docs/ci/gitlab-ci.yml").expect("example");
    assert!(
        gitlab.contains("--shard \"$CI_NODE_INDEX/$CI_NODE_TOTAL\""),
        "{gitlab}"
    );
}
