//! Setup errors name the file, line and column and the section that holds the mistake, and
//! `check DIR` reports every bad file, not just the first.

use std::process::Command;

fn check(dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(["check", dir.to_str().expect("utf-8")])
        .output()
        .expect("vmrace runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dir(name: &str, files: &[(&str, String)]) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vmrace-setup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    for (f, text) in files {
        std::fs::write(d.join(f), text).expect("write");
    }
    d
}

fn bundled(name: &str) -> String {
    std::fs::read_to_string(format!("scenarios/{name}.yaml")).expect("bundled scenario")
}

#[test]
fn a_typo_in_the_shared_setup_is_placed_there_with_line_and_column() {
    let text = bundled("seed-001-agent-error").replace(
        "    - {name: A, faults: [agent-error]}",
        "    - {name: A, falts: [agent-error]}",
    );
    let line = text
        .lines()
        .position(|l| l.contains("falts"))
        .expect("edited")
        + 1;
    let d = dir("typo", &[("a.yaml", text)]);
    let (code, err) = check(&d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("a.yaml:{line}:")), "{err}");
    assert!(err.contains(": setup (used by variant"), "{err}");
    assert!(err.contains("did you mean `faults`?"), "{err}");
}

#[test]
fn a_bad_value_in_a_variant_is_blamed_on_that_variant() {
    let text = bundled("seed-001-agent-error").replace(
        "current: {agent_error: current}",
        "current: {agent_error: curent}",
    );
    let d = dir("variant", &[("a.yaml", text)]);
    let (code, err) = check(&d);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(": variant `current` (used by variant `current`)"),
        "{err}"
    );
}

#[test]
fn every_bad_file_is_reported() {
    let one = bundled("seed-001-agent-error").replace("model: lifecycle", "model: lifecyle");
    let two = bundled("seed-000-late-reset").replace("jobs: split", "jobs: splt");
    let d = dir("every", &[("one.yaml", one), ("two.yaml", two)]);
    let (code, err) = check(&d);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("one.yaml") && err.contains("two.yaml"),
        "{err}"
    );
}

#[test]
fn a_yaml_error_gives_its_place_once() {
    let text = bundled("seed-001-agent-error").replacen("title:", "titel:", 1);
    let d = dir("place-once", &[("typo.yaml", text)]);
    let (code, err) = check(&d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("typo.yaml:2:1: "), "{err}");
    assert!(
        !err.contains(" at line "),
        "the place is given twice: {err}"
    );
    assert!(err.contains("did you mean `title`"), "{err}");
}
