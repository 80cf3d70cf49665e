//! `vmrace repro` on the example logs of every seed, the no-match explanation, bad input, and
//! `vmrace new --from-log` producing a scenario that loads and builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .output()
        .expect("run vmrace")
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_seed_log_is_reproduced() {
    let out_dir = tmp("repro");
    let logs = [
        (
            "seed-000-acpi-then-agent-reboot.log",
            "seed-000-acpi-then-agent-reboot",
        ),
        ("seed-001-agent-error.log", "seed-001-agent-error"),
        (
            "seed-002-supervisor-sigterm.log",
            "seed-002-supervisor-sigterm",
        ),
        ("seed-003-socket-error.log", "seed-003-socket-error"),
        ("seed-004-tap-reuse-ovs.log", "seed-004-tap-reuse-ovs"),
    ];
    for (log, scenario) in logs {
        let path = format!("scenarios/logs/{log}");
        let out = vmrace(&[
            "repro",
            "--log",
            &path,
            "--format",
            "json",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{log}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let matches: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!matches.is_empty());
        // ranked: most log entries explained first, then the symptom's fit, then shortest
        let rules = ["named-property", "condition", "any-violation"];
        let rank: Vec<_> = matches
            .iter()
            .map(|m| {
                (
                    std::cmp::Reverse(m["explained"].as_u64().unwrap()),
                    rules.iter().position(|r| m["rule"] == *r).unwrap(),
                    m["steps"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(rank.windows(2).all(|w| w[0] <= w[1]), "ranked: {rank:?}");
        let own = matches
            .iter()
            .find(|m| m["scenario"] == scenario)
            .unwrap_or_else(|| panic!("{log}: {scenario} is not among {text}"));
        for key in ["variant", "symptom", "steps", "trace"] {
            assert!(!own[key].is_null(), "{log}: `{key}` in {own}");
        }
        let trace = own["trace"].as_str().unwrap();
        let replay = vmrace(&["replay", trace]);
        assert_eq!(replay.status.code(), Some(0), "{trace} replays");
    }
}

#[test]
fn no_match_says_where_the_model_and_the_log_part_ways() {
    let out = vmrace(&[
        "repro",
        "--log",
        "scenarios/logs/seed-000-acpi-then-agent-reboot.log",
        "--scenario",
        "seed-001-agent-error",
        "--out",
        tmp("nomatch").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not be matched"), "{err}");
    assert!(err.contains("line "), "{err}");
}

#[test]
fn bad_logs_are_bad_input() {
    let dir = tmp("badlog");
    let junk = dir.join("junk.log");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    for log in [junk.to_str().unwrap(), "no/such/file.log"] {
        let out = vmrace(&["repro", "--log", log]);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(log));
    }
    let out = vmrace(&[
        "repro",
        "--log",
        "scenarios/logs/seed-001-agent-error.log",
        "--scenario",
        "no-such-scenario",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn new_from_log_writes_a_scenario_that_loads_and_builds() {
    let dir = tmp("new");
    for log in ["seed-000-acpi-then-agent-reboot", "seed-001-agent-error"] {
        let file = dir.join(format!("{log}.yaml"));
        let out = vmrace(&[
            "new",
            "--from-log",
            &format!("scenarios/logs/{log}.log"),
            "--out",
            file.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let want = if log.contains("000") {
            "!A.killed"
        } else {
            "A.agent_available"
        };
        assert!(
            text.contains(want),
            "the symptom becomes the property: {text}"
        );
        let scenario = vmrace::scenario::Scenario::load(&file).expect("the scenario loads");
        assert_eq!(scenario.jobs().unwrap().len(), 1);
        let check = vmrace(&["check", file.to_str().unwrap()]);
        assert!(
            matches!(check.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let again = vmrace(&[
        "new",
        "--from-log",
        "scenarios/logs/seed-001-agent-error.log",
        "--out",
        dir.join("seed-001-agent-error.yaml").to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2), "no overwrite");
}
