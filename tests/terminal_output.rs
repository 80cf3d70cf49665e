//! What a user sees: JSON keys documented, a progress line on a terminal and nothing on a pipe,
//! colour on a terminal unless `NO_COLOR` is set, table cells never cut, the summary on stdout.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .output()
        .expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every object key at any depth of `value`, except inside `before`/`after` (model state values,
/// not part of the format).
fn keys(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                if k != "before" && k != "after" {
                    keys(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn every_key_of_check_json_is_documented_in_ci_md() {
    let out = vmrace(&["check", "--format", "json", "scenarios"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut found = BTreeSet::new();
    for line in text(&out.stdout).lines() {
        keys(
            &serde_json::from_str(line).expect("a JSON line"),
            &mut found,
        );
    }
    assert!(found.len() > 10, "too few keys: {found:?}");
    let docs = std::fs::read_to_string("docs/ci.md").expect("docs/ci.md");
    let missing: Vec<_> = found
        .iter()
        .filter(|k| !docs.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented JSON keys: {missing:?}");
}

/// Runs `vmrace ARGS` under a pseudo-terminal (util-linux `script`), with `env` set; returns
/// everything the terminal showed.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let log = std::env::temp_dir().join(format!(
        "vmrace-tty-{}-{}.txt",
        std::process::id(),
        args.len()
    ));
    let command = std::iter::once(env!("CARGO_BIN_EXE_vmrace"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script.args(["-q", "-e", "-c", &command]).arg(&log);
    for (k, v) in env {
        script.env(k, v);
    }
    let out = script
        .output()
        .expect("util-linux `script` runs (a pseudo-terminal is needed)");
    assert!(
        out.status.code().is_some(),
        "script was killed: {}",
        text(&out.stderr)
    );
    let shown = std::fs::read(&log).expect("script's log");
    let _ = std::fs::remove_file(&log);
    text(&shown)
}

/// A scenario whose search runs for about two seconds (five VMs churning on one switch), cut by
/// time so the test stays short.
fn slow_scenario(dir: &Path) -> PathBuf {
    let path = dir.join("slow.yaml");
    let vms: String = ["A", "B", "C", "D", "E"]
        .iter()
        .map(|n| format!("    - {{name: {n}, backend: ovs, ops: [start, stop, start]}}\n"))
        .collect();
    std::fs::write(
        &path,
        format!(
            "title: slow\nsource: [test]\nmodel: network\nsetup:\n  vms:\n{vms}\
             variants:\n  monotonic-names: {{tap_cleanup: monotonic-names}}\n\
             properties:\n  - name: A connected\n    at_end: 'A.state != \"running\" || A.connected'\n\
             expect:\n  monotonic-names: holds\n\
             search: {{max_states: 100000000, max_seconds: 2.5}}\n"
        ),
    )
    .expect("write");
    path
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmrace-term-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    dir
}

#[test]
fn a_long_search_shows_progress_on_a_terminal_and_nothing_on_a_pipe() {
    let dir = tempdir("progress");
    let slow = slow_scenario(&dir);
    let slow = slow.to_str().expect("utf-8");
    let piped = vmrace(&["check", slow]);
    assert_eq!(piped.status.code(), Some(3), "{}", text(&piped.stderr));
    let stderr = text(&piped.stderr);
    assert!(
        !stderr.contains("states/s") && !stderr.contains('\r'),
        "{stderr}"
    );
    let shown = on_a_terminal(&["check", slow], &[]);
    for figure in ["states ", "/s)", "depth ", "queue ", "slow monotonic-names"] {
        assert!(
            shown.contains(figure),
            "no `{figure}` in the progress line: {shown}"
        );
    }
}

#[test]
fn colour_on_a_terminal_unless_no_color_and_never_on_a_pipe() {
    let esc = '\u{1b}';
    let dir = tempdir("colour");
    // A drifting scenario: the bundled seed-004 with one expectation turned around.
    let text_of = std::fs::read_to_string("scenarios/seed-004-bridge-ebusy.yaml").expect("seed");
    let drifting = text_of.replacen(": holds", ": violated", 1);
    assert_ne!(drifting, text_of);
    let path = dir.join("drift.yaml");
    std::fs::write(&path, drifting).expect("write");
    let path = path.to_str().expect("utf-8");
    let shown = on_a_terminal(&["check", path], &[]);
    assert!(shown.contains("DRIFT"), "{shown}");
    assert!(
        shown.contains(&format!("{esc}[")),
        "no colour on a terminal: {shown}"
    );
    let plain = on_a_terminal(&["check", path], &[("NO_COLOR", "1")]);
    assert!(plain.contains("DRIFT"), "{plain}");
    assert!(
        !plain.contains(&format!("{esc}[3")),
        "colour despite NO_COLOR: {plain}"
    );
    let piped = vmrace(&["check", path]);
    assert_eq!(piped.status.code(), Some(1));
    let both = text(&piped.stdout) + &text(&piped.stderr);
    assert!(!both.contains(esc), "escape codes on a pipe: {both}");
}

#[test]
fn table_cells_are_never_cut_and_the_summary_is_on_stdout() {
    let out = vmrace(&["check", "scenarios"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(!table.contains('…'), "a cut cell: {table}");
    let json = vmrace(&["check", "--format", "json", "scenarios"]);
    for line in text(&json.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let got = match &v["got"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(o) => format!(
                "{{{}}}",
                o.iter()
                    .map(|x| x.as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            other => panic!("got: {other}"),
        };
        assert!(table.contains(&got), "`{got}` is not whole in the table");
    }
    let last = table.lines().last().expect("a summary line");
    assert!(
        last.contains("checked") && last.contains("as expected"),
        "{last}"
    );
}

#[test]
fn no_rust_names_in_stored_traces_or_explore_output() {
    let kinds = ["always", "at_end", "eventually", "deadlock", "vacuous"];
    for entry in std::fs::read_dir("scenarios/traces").expect("traces") {
        let path = entry.expect("entry").path();
        let yaml = std::fs::read_to_string(&path).expect("trace");
        if let Some(w) = yaml.lines().find_map(|l| l.strip_prefix("witness: ")) {
            assert!(kinds.contains(&w), "{}: witness `{w}`", path.display());
        }
    }
    let out = vmrace(&["explore", "scenarios/seed-000-acpi-then-agent-reboot.yaml"]);
    let shown = text(&out.stdout);
    for rust in ["AtEnd", "Always", "Some(", "None"] {
        assert!(!shown.contains(rust), "`{rust}` in explore output: {shown}");
    }
}
