//! Traces are portable and checked: a trace attached to a bug report replays from anywhere,
//! against the scenario it was made from, and `report`/`explain`/`replay` refuse what does not
//! replay exactly as recorded.

use std::path::{Path, PathBuf};
use std::process::Command;

const TRACE: &str =
    "scenarios/traces/seed-001-agent-error.pre-2.5.the-agent-is-usable-after-the-restart.yaml";
const SCENARIO: &str = "scenarios/seed-001-agent-error.yaml";

fn vmrace_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("vmrace runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory laid out like a bug report's attachment: `scenarios/` and `traces/`.
fn attachment(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmrace-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("scenarios")).expect("dir");
    std::fs::create_dir_all(dir.join("traces")).expect("dir");
    std::fs::copy(repo().join(SCENARIO), dir.join(SCENARIO)).expect("scenario");
    std::fs::copy(repo().join(TRACE), dir.join("traces/t.yaml")).expect("trace");
    dir
}

fn edited_trace(name: &str, edit: impl FnOnce(&mut serde_yaml_ng::Value)) -> PathBuf {
    let dir = attachment(name);
    let path = dir.join("traces/t.yaml");
    let text = std::fs::read_to_string(&path).expect("trace");
    let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("yaml");
    edit(&mut v);
    std::fs::write(&path, serde_yaml_ng::to_string(&v).expect("yaml")).expect("write");
    path
}

#[test]
fn a_trace_replays_from_any_working_directory() {
    let dir = attachment("cwd");
    let elsewhere = std::env::temp_dir();
    let trace = dir.join("traces/t.yaml");
    let (code, out, err) = vmrace_in(&elsewhere, &["replay", trace.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no divergence"), "{out}");
    assert!(
        out.contains("property `the agent is usable after the restart`: still violated"),
        "{out}"
    );
}

#[test]
fn a_changed_scenario_is_refused_with_both_hashes() {
    let dir = attachment("hash");
    let scenario = dir.join(SCENARIO);
    let text = std::fs::read_to_string(&scenario).expect("scenario");
    std::fs::write(&scenario, text.replace("title:", "# edited\ntitle:")).expect("write");
    let (code, _, err) = vmrace_in(&dir, &["replay", "traces/t.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("changed since the trace was made"), "{err}");
}

fn refused(path: &Path, needle: &str) {
    for cmd in ["report", "explain", "replay"] {
        let (code, _, err) = vmrace_in(&repo(), &[cmd, path.to_str().expect("utf-8")]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains(needle), "{cmd}: {err}");
    }
}

#[test]
fn an_edited_initial_state_is_refused() {
    let path = edited_trace("init", |v| {
        v["init_state"]["domains"][0]["libvirt"]["agent_error"] = true.into();
    });
    refused(&path, "init_state");
}

#[test]
fn edited_changes_are_refused_naming_the_step() {
    let path = edited_trace("changes", |v| {
        let steps = v["steps"].as_sequence_mut().expect("steps");
        let step = steps
            .iter_mut()
            .find(|s| s["changes"].as_sequence().is_some_and(|c| !c.is_empty()))
            .expect("a step with changes");
        step["changes"][0]["after"] = "edited".into();
    });
    refused(&path, "recorded changes differ");
}

#[test]
fn an_unknown_property_is_refused() {
    let path = edited_trace("property", |v| v["property"] = "no such property".into());
    refused(&path, "not a property of scenario");
}

#[test]
fn a_foreign_format_version_is_refused() {
    let path = edited_trace("version", |v| v["format_version"] = 7.into());
    refused(&path, "format version 7");
}

#[test]
fn a_truncated_trace_is_not_rendered_as_a_violation() {
    let path = edited_trace("truncated", |v| {
        v["steps"].as_sequence_mut().expect("steps").truncate(3);
    });
    for cmd in ["report", "explain"] {
        let (code, _, err) = vmrace_in(&repo(), &[cmd, path.to_str().expect("utf-8")]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains("ends before its property"), "{cmd}: {err}");
    }
    let (code, out, err) = vmrace_in(&repo(), &["replay", path.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("NOT violated at the end"), "{out}");
}
