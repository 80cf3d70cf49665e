//! The CI gate: `check --shard` + `merge` reproduce the unsharded JSON byte for byte, exit 3 for a
//! cut must-complete search, JUnit XML, and stored regression traces (`--save-traces`,
//! `--traces`), including a corrupt stored trace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .output()
        .expect("run vmrace")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn sharded_runs_merge_to_the_unsharded_output_byte_for_byte() {
    let dir = tmp("merge");
    let whole = vmrace(&["check", "--format", "json", "--no-timing"]);
    assert_eq!(code(&whole), 0, "{}", stderr(&whole));
    assert!(whole.stdout.len() > 1000);
    assert!(!String::from_utf8_lossy(&whole.stdout).contains("seconds"));
    for n in 1..=3 {
        let mut files = Vec::new();
        for i in 1..=n {
            let out = vmrace(&[
                "check",
                "--format",
                "json",
                "--no-timing",
                "--shard",
                &format!("{i}/{n}"),
            ]);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let file = dir.join(format!("shard-{i}-of-{n}.json"));
            std::fs::write(&file, &out.stdout).unwrap();
            files.push(file.display().to_string());
        }
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        let merged = vmrace(&args);
        assert_eq!(code(&merged), 0, "{}", stderr(&merged));
        assert!(merged.stdout == whole.stdout, "N = {n}: merge differs");
        if n == 3 {
            // A missing shard is bad input, named.
            let partial = vmrace(&["merge", &files[0], &files[1]]);
            assert_eq!(code(&partial), 2);
            assert!(stderr(&partial).contains("a shard is missing"));
        }
    }
    // Shards count from 1.
    for bad in ["0/3", "4/3"] {
        let bad = vmrace(&["check", "--shard", bad]);
        assert_eq!(code(&bad), 2);
        assert!(stderr(&bad).contains("--shard"));
    }
}

fn scenario_with(dir: &Path, name: &str, from: &str, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(from).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path.display().to_string()
}

#[test]
fn a_cut_must_complete_search_exits_3_and_says_so() {
    let dir = tmp("incomplete");
    let file = scenario_with(
        &dir,
        "tiny.yaml",
        "scenarios/seed-002-supervisor-sigterm.yaml",
        |t| format!("{t}\nsearch:\n  max_states: 5\n"),
    );
    assert!(!std::fs::read_to_string(&file)
        .unwrap()
        .contains("\nsearch:\n  strategy"));
    let table = vmrace(&["check", &file]);
    assert_eq!(code(&table), 3, "{}", stderr(&table));
    assert!(String::from_utf8_lossy(&table.stdout).contains("INCOMPLETE (cut: 5 states)"));
    assert!(stderr(&table).contains("INCOMPLETE"));
    let json = vmrace(&["check", "--format", "json", "--no-timing", &file]);
    assert_eq!(code(&json), 3);
    let text = String::from_utf8_lossy(&json.stdout);
    assert!(text.contains("\"must_complete_cut\":true"), "{text}");
    assert!(text.contains("\"cuts\":[\"5 states\"]"), "{text}");
    let junit = dir.join("junit.xml");
    let out = vmrace(&["check", "--junit", junit.to_str().unwrap(), &file]);
    assert_eq!(code(&out), 3);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("type=\"incomplete\""), "{xml}");
}

#[test]
fn junit_and_stored_traces() {
    let dir = tmp("fixtures");
    let traces = dir.join("traces");
    let junit = dir.join("junit.xml");
    let seed = "scenarios/seed-000-acpi-then-agent-reboot.yaml";
    let out = vmrace(&[
        "check",
        "--junit",
        junit.to_str().unwrap(),
        "--save-traces",
        traces.to_str().unwrap(),
        seed,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert!(xml.contains("classname=\"seed-000-acpi-then-agent-reboot\" name=\"b0c144c5792\""));
    let saved: Vec<String> = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let stable = "seed-000-acpi-then-agent-reboot.b0c144c5792.libvirt-never-kills-QEMU-after-a-reboot-request.yaml";
    assert!(saved.iter().any(|s| s == stable), "{saved:?}");
    assert!(xml.contains(stable), "the saved trace path is in the XML");

    // The stored traces replay and still violate.
    let again = vmrace(&["check", "--traces", traces.to_str().unwrap(), seed]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(stderr(&again).contains("still violates"));

    // A trace cut down to its first step replays but no longer violates: drift.
    let path = traces.join(stable);
    let full = std::fs::read_to_string(&path).unwrap();
    let mut trace = sim::Trace::from_yaml(&full).unwrap();
    trace.steps.truncate(1);
    std::fs::write(&path, trace.to_yaml()).unwrap();
    let drift = vmrace(&["check", "--traces", traces.to_str().unwrap(), seed]);
    assert_eq!(code(&drift), 1, "{}", stderr(&drift));
    assert!(stderr(&drift).contains("no longer violates"));

    // A step the model does not have: no longer replays.
    let mut trace = sim::Trace::from_yaml(&full).unwrap();
    trace.steps[0].label = "a step that was renamed".into();
    std::fs::write(&path, trace.to_yaml()).unwrap();
    let gone = vmrace(&["check", "--traces", traces.to_str().unwrap(), seed]);
    assert_eq!(code(&gone), 1, "{}", stderr(&gone));
    assert!(stderr(&gone).contains("no longer replays"));

    // A corrupt file: bad input naming it.
    std::fs::write(&path, "format: [not a trace\n").unwrap();
    let corrupt = vmrace(&["check", "--traces", traces.to_str().unwrap(), seed]);
    assert_eq!(code(&corrupt), 2);
    assert!(stderr(&corrupt).contains(stable), "{}", stderr(&corrupt));
}

#[test]
fn drift_is_a_junit_failure_with_the_story() {
    let dir = tmp("drift");
    let file = scenario_with(
        &dir,
        "flipped.yaml",
        "scenarios/seed-000-acpi-then-agent-reboot.yaml",
        |t| t.replace("b0c144c5792: violated", "b0c144c5792: holds"),
    );
    let junit = dir.join("junit.xml");
    let out = vmrace(&["check", "--junit", junit.to_str().unwrap(), &file]);
    assert_eq!(code(&out), 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure message=\"expected holds, got violated\""),
        "{xml}"
    );
    assert!(
        xml.contains("violated `"),
        "the trace story is in the failure text"
    );
}
