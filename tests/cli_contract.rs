//! The command line's contract: exit codes (0 ok, 1 drift, 2 bad input, 3 incomplete), and bad
//! input answered with a message that says where and what was expected, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn vmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .output()
        .expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scenario(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

const GOOD: &str = r#"title: "t"
source: [000_bd5c58d996e86ec2.txt]
model: network
setup:
  vms:
    - {name: A, backend: ovs, running: true, ops: [stop]}
    - {name: B, backend: ovs, ops: [start]}
variants:
  unconditional: {tap_cleanup: unconditional}
  monotonic-names: {tap_cleanup: monotonic-names}
properties:
  - name: B connected
    at_end: 'B.state != "running" || B.connected'
expect:
  unconditional: violated
  monotonic-names: holds
"#;

fn assert_bad(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn ok_drift_and_incomplete_exit_codes() {
    let dir = tempdir();
    let good = scenario(&dir, "good.yaml", GOOD);
    assert_eq!(vmrace(&["check", &good]).status.code(), Some(0));
    let drift = scenario(
        &dir,
        "drift.yaml",
        &GOOD.replace("monotonic-names: holds", "monotonic-names: violated"),
    );
    let o = vmrace(&["check", &drift]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("DRIFT"), "{}", stderr(&o));
    let cut = scenario(
        &dir,
        "cut.yaml",
        &format!("{GOOD}search: {{max_states: 3}}\n")
            .replace("unconditional: violated", "unconditional: holds"),
    );
    let o = vmrace(&["check", &cut]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "holds expected but the search was cut: {}",
        stderr(&o)
    );
    let only_cut = scenario(
        &dir,
        "cut2.yaml",
        &format!("{GOOD}search: {{max_states: 3}}\n")
            .replace("unconditional: violated\n", "")
            .replace("  unconditional: {tap_cleanup: unconditional}\n", ""),
    );
    let o = vmrace(&["check", &only_cut, "--format", "json"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("no violation within"), "{out}");
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let dir = tempdir();
    let bad = scenario(&dir, "bad.yaml", "title: [unclosed\nsource: x\n");
    assert_bad(&vmrace(&["check", &bad]), "bad.yaml:");
}

#[test]
fn unknown_keys_models_variants_and_observations_get_suggestions() {
    let dir = tempdir();
    let typo = scenario(&dir, "typo.yaml", &GOOD.replace("variants:", "variantz:"));
    assert_bad(&vmrace(&["check", &typo]), "did you mean `variants`");
    let model = scenario(
        &dir,
        "model.yaml",
        &GOOD.replace("model: network", "model: netwrk"),
    );
    assert_bad(&vmrace(&["check", &model]), "did you mean `network`");
    let obs = scenario(
        &dir,
        "obs.yaml",
        &GOOD.replace("B.connected'", "B.conected'"),
    );
    assert_bad(&vmrace(&["check", &obs]), "did you mean `B.connected`");
    let var = scenario(
        &dir,
        "var.yaml",
        &GOOD.replace("  monotonic-names: holds", "  monotonic-name: holds"),
    );
    assert_bad(
        &vmrace(&["check", &var]),
        "unknown variant `monotonic-name`",
    );
    let setup = scenario(
        &dir,
        "setup.yaml",
        &GOOD.replace("backend: ovs, running", "backnd: ovs, running"),
    );
    assert_bad(&vmrace(&["check", &setup]), "backnd");
}

#[test]
fn missing_paths_flags_and_params_are_bad_input() {
    assert_bad(&vmrace(&["check", "/nonexistent/x.yaml"]), "no such file");
    assert_eq!(vmrace(&["check", "--no-such-flag"]).status.code(), Some(2));
    assert_bad(
        &vmrace(&[
            "bench",
            "--model",
            "tap-churn",
            "--params",
            "N=2,C=x,naming=lowest-free,cleanup=buggy",
        ]),
        "whole number",
    );
    assert_bad(
        &vmrace(&[
            "bench",
            "--model",
            "tap-churn",
            "--params",
            "N=2,C=1,naming=lowest,cleanup=buggy",
        ]),
        "naming",
    );
    assert_bad(
        &vmrace(&["bench", "--model", "nope", "--params", "N=1"]),
        "unknown benchmark model",
    );
}

#[test]
fn corrupt_foreign_and_outdated_traces_are_refused() {
    let dir = tempdir();
    let foreign = dir.join("foreign.yaml");
    std::fs::write(&foreign, "hello: world\n").expect("write");
    assert_bad(
        &vmrace(&["replay", &foreign.display().to_string()]),
        "not a vmrace trace",
    );
    let corrupt = dir.join("corrupt.yaml");
    std::fs::write(&corrupt, "format: vmrace-trace\nsteps: 7\n").expect("write");
    assert_bad(
        &vmrace(&["replay", &corrupt.display().to_string()]),
        "malformed trace",
    );
    // A real trace, then one with a step altered and one from an older model version.
    let good = scenario(&dir, "good.yaml", GOOD);
    let s = vmrace::scenario::Scenario::load(Path::new(&good)).expect("loads");
    let job = s.jobs().expect("jobs").remove(0);
    let run = s.run(&job, 1).expect("runs");
    let trace = run.broken[0].trace.clone();
    let path = dir.join("t.yaml");
    std::fs::write(&path, trace.to_yaml()).expect("write");
    assert_eq!(
        vmrace(&["replay", &path.display().to_string()])
            .status
            .code(),
        Some(0)
    );
    let mut old = trace.clone();
    old.model_version += 1;
    std::fs::write(&path, old.to_yaml()).expect("write");
    assert_bad(
        &vmrace(&["replay", &path.display().to_string()]),
        "re-run the search",
    );
    let mut altered = trace;
    altered.steps.remove(0);
    std::fs::write(&path, altered.to_yaml()).expect("write");
    assert_bad(&vmrace(&["replay", &path.display().to_string()]), "step 1");
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vmrace-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn determinism_self_check_and_seeded_pct() {
    let dir = tempdir();
    let good = scenario(&dir, "good.yaml", GOOD);
    let o = vmrace(&["check", &good, "--check-determinism"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(": identical"), "{}", stderr(&o));
    let pct = scenario(
        &dir,
        "pct.yaml",
        &format!(
            "{GOOD}search: {{strategy: pct, runs: 50, depth: 2, seed: 7, must_complete: false}}\n"
        ),
    );
    let strip = |o: Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.split(",\"seconds\"").next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let first = strip(vmrace(&["check", &pct, "--format", "json"]));
    assert!(
        first
            .iter()
            .any(|l| l.contains("sampled runs (P[missed a depth-2 bug] <=")),
        "{first:?}"
    );
    assert_eq!(first, strip(vmrace(&["check", &pct, "--format", "json"])));
}

#[test]
fn guest_info_without_an_image_names_the_build_command() {
    let empty = tempdir();
    let o = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(["guest", "info"])
        .env("VMRACE_GUEST_DIR", &empty)
        .output()
        .expect("runs");
    assert_bad(&o, "guest/build.sh");
}

/// A cell of the seed's table where the seed gives one value and the model finds two is marked
/// timing-dependent in `check`'s table and JSON lines and in `explore`, with each outcome's key
/// steps.
#[test]
fn check_and_explore_mark_timing_dependent_cells() {
    let file = "scenarios/seed-000-reboot-table.yaml";
    let o = vmrace(&["check", file]);
    let table = String::from_utf8_lossy(&o.stdout);
    let marked: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("⚠ timing-dependent (seed: "))
        .collect();
    assert!(!marked.is_empty(), "{table}");
    let o = vmrace(&["check", file, "--format", "json", "--no-timing"]);
    let mut timing = 0;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let got = v["got"].as_array().expect("outcomes").len();
        let interleavings = v["interleavings"].as_array().expect("interleavings");
        assert_eq!(interleavings.len(), got, "{line}");
        for i in interleavings {
            let steps = i["steps"].as_array().expect("steps");
            assert!(steps.iter().any(|s| s["decides"] == true), "{line}");
        }
        let seed = &v["seed"];
        assert!(
            seed.is_object(),
            "every job of the table has a seed value: {line}"
        );
        if seed["timing_dependent"] == true {
            timing += 1;
            assert!(
                seed["values"].as_array().expect("values").len() > 1,
                "{line}"
            );
            let case = v["case"].as_str().expect("case");
            assert!(
                marked.iter().any(|l| l.contains(case)),
                "`{case}` is marked in the table too"
            );
        }
    }
    assert_eq!(timing, marked.len());
    let o = vmrace(&[
        "explore",
        file,
        "--case",
        "ACPI REBOOT, AGENT REBOOT",
        "--variant",
        "b0c144c5792",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("⚠ timing-dependent: the seed gives one value (SHUTDOWN)"),
        "{out}"
    );
    assert!(out.contains("terminal states); key steps:\n"), "{out}");
    assert!(out.contains("⇒ A.result=SHUTDOWN"), "{out}");
}
