//! `vmrace explore --report`, `vmrace report TRACE` in every format and `vmrace explain`, run as
//! the binary.

use std::process::Command;

fn vmrace(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .output()
        .expect("vmrace runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explore_report_then_report_and_explain_the_trace() {
    let dir = std::env::temp_dir().join(format!("vmrace-explore-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().expect("utf-8");
    let (code, _, err) = vmrace(&[
        "explore",
        "scenarios/seed-000-acpi-then-agent-reboot.yaml",
        "--variant",
        "b0c144c5792",
        "--report",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    let stem = "seed-000-acpi-then-agent-reboot-b0c144c5792-libvirt-never-kills-qemu-after-a-reboot-request";
    for ext in ["html", "md", "trace.yaml"] {
        assert!(dir.join(format!("{stem}.{ext}")).exists(), "{stem}.{ext}");
    }
    let trace = dir.join(format!("{stem}.trace.yaml"));
    let t = trace.to_str().expect("utf-8");
    let (code, text, err) = vmrace(&["explain", t]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("api-2 (qemuDomainRebootAgent) changed fake_reboot true → false"),
        "{text}"
    );
    assert!(
        text.contains("event-A (qemuProcessHandleShutdown)"),
        "{text}"
    );
    assert!(text.contains("killed false → true"), "{text}");
    for (format, needle) in [
        ("md", "```mermaid"),
        ("html", "<svg"),
        ("svg", "<svg"),
        ("json", "\"lifelines\""),
    ] {
        let (code, out, err) = vmrace(&["report", t, "--format", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(out.contains(needle), "{format}");
    }
    let (code, out, _) = vmrace(&["explain", t, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["decisive_field"], "domains[0].libvirt.fake_reboot");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_is_not_a_trace_is_bad_input() {
    let (code, _, err) = vmrace(&["report", "scenarios/seed-000-late-reset.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a vmrace trace"), "{err}");
}

#[test]
fn explore_names_property_kinds_as_scenarios_write_them() {
    let (code, out, err) = vmrace(&[
        "explore",
        "scenarios/seed-001-agent-error.yaml",
        "--variant",
        "pre-2.5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(at_end):"), "{out}");
    assert!(!out.contains("AtEnd"), "a Rust type name in the output");
}
