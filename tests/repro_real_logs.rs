//! `vmrace repro` and `vmrace new --from-log` on real logs (`scenarios/logs/real/`, recorded
//! from libvirt 9.0 + QEMU 7.2, and the small fixtures derived from them): every format people
//! paste, the launch and QEMU noise rules, the symptom, every API call, the ranking, a benign
//! log, scenarios that load, and a search cut by its bound.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vmrace::scenario::{Expected, Scenario};

const REAL: &str = "scenarios/logs/real";
const SEED_000: &str = "seed-000-acpi-then-agent-reboot";

fn vmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(args)
        .output()
        .expect("run vmrace")
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("real-logs-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `vmrace repro --format json` said: exit code, matches, stderr.
struct Repro {
    code: Option<i32>,
    matches: Vec<Value>,
    stderr: String,
}

fn repro(log: &Path, out: &Path, extra: &[&str]) -> Repro {
    let mut args = vec![
        "repro",
        "--log",
        log.to_str().unwrap(),
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = vmrace(&args);
    Repro {
        code: o.status.code(),
        matches: String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON match"))
            .collect(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The real logs whose file name starts with `prefix`.
fn real_logs(prefix: &str) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(REAL)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    logs.sort();
    assert!(!logs.is_empty(), "{prefix}* in {REAL}");
    logs
}

/// The bundled scenarios, by name.
fn bundled() -> Vec<Scenario> {
    std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| Scenario::load(&p).unwrap())
        .collect()
}

/// The expectation the scenario states for a match's case and variant.
fn expected(scenarios: &[Scenario], m: &Value) -> Expected {
    let s = scenarios
        .iter()
        .find(|s| s.name == m["scenario"])
        .unwrap_or_else(|| panic!("no scenario {}", m["scenario"]));
    s.jobs()
        .unwrap()
        .into_iter()
        .find(|j| j.variant == m["variant"] && j.case.as_deref() == m["case"].as_str())
        .unwrap_or_else(|| panic!("no job for {m}"))
        .expected
}

/// Matches come ranked: most log entries explained first, then by how they fit the symptom
/// (a named property, a condition, any violation), then fewest steps.
fn assert_ranked(log: &Path, matches: &[Value]) {
    let rank = |m: &Value| {
        let rule = ["named-property", "condition", "any-violation"]
            .iter()
            .position(|r| m["rule"] == *r)
            .expect("a rule");
        (
            std::cmp::Reverse(m["explained"].as_u64().expect("explained")),
            rule,
            m["steps"].as_u64().unwrap(),
        )
    };
    for m in matches {
        assert!(m["explained"].as_u64() <= m["events"].as_u64(), "{m}");
    }
    let ranks: Vec<_> = matches.iter().map(rank).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "{}: {ranks:?}",
        log.display()
    );
}

fn is_seed_000_bug(m: &Value) -> bool {
    m["scenario"] == SEED_000 && m["variant"] == "b0c144c5792"
}

/// A log made of `log`'s lines, filtered and rearranged by `edit`.
fn derived(dir: &Path, name: &str, log: &str, edit: impl Fn(Vec<&str>) -> Vec<String>) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(REAL).join(log)).unwrap();
    let lines = edit(text.lines().collect());
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn every_format_of_the_real_race_matches_seed_000_where_it_has_the_bug_ranked() {
    let out = tmp("race");
    let scenarios = bundled();
    for log in real_logs("seed-000-race.") {
        let r = repro(&log, &out, &[]);
        assert_eq!(r.code, Some(0), "{}: {}", log.display(), r.stderr);
        assert_ranked(&log, &r.matches);
        assert!(
            r.matches.iter().any(is_seed_000_bug),
            "{}: {SEED_000} b0c144c5792 is not among {:?}",
            log.display(),
            r.matches
        );
        for m in &r.matches {
            assert_ne!(
                expected(&scenarios, m),
                Expected::Holds,
                "{}: a variant without the bug matched: {m}",
                log.display()
            );
            assert!(
                m["symptom"].as_str().unwrap().contains("killed"),
                "{}: the symptom line is read: {m}",
                log.display()
            );
            assert_eq!(m["condition"], "killed", "{}: {m}", log.display());
        }
        let trace = r.matches.iter().find(|m| is_seed_000_bug(m)).unwrap()["trace"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            vmrace(&["replay", &trace]).status.code(),
            Some(0),
            "{trace}"
        );
    }
}

#[test]
fn a_benign_agent_reboot_explains_no_violation() {
    let out = tmp("benign");
    for log in real_logs("benign-agent-reboot.") {
        let r = repro(&log, &out, &[]);
        assert_eq!(r.code, Some(1), "{}: {:?}", log.display(), r.matches);
        assert!(r.matches.is_empty());
        assert!(
            r.stderr.contains("no interleaving explains the log"),
            "{}: {}",
            log.display(),
            r.stderr
        );
        assert!(
            r.stderr.contains("follows all"),
            "{}: the closest scenario follows the whole log: {}",
            log.display(),
            r.stderr
        );
    }
}

#[test]
fn pretty_printed_qmp_reads_as_one_line_qmp() {
    let out = tmp("pretty");
    let key = |m: &Value| {
        [
            "scenario",
            "case",
            "variant",
            "property",
            "steps",
            "explained",
        ]
        .map(|k| m[k].to_string())
    };
    let one = repro(&Path::new(REAL).join("seed-000-race.qmp.txt"), &out, &[]);
    let pretty = repro(
        &Path::new(REAL).join("seed-000-race.qmp-pretty.txt"),
        &out,
        &[],
    );
    assert_eq!(one.code, Some(0), "{}", one.stderr);
    let one: Vec<_> = one.matches.iter().map(key).collect();
    let pretty: Vec<_> = pretty.matches.iter().map(key).collect();
    assert_eq!(one, pretty);
}

#[test]
fn launch_events_before_the_initial_state_are_skipped() {
    let dir = tmp("launch");
    let no_powerdown = |lines: Vec<&str>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| !l.contains("POWERDOWN"))
            .map(String::from)
            .collect()
    };
    let from_launch = derived(
        &dir,
        "from-launch.log",
        "seed-000-race.libvirtd.log",
        no_powerdown,
    );
    let from_reboot = derived(
        &dir,
        "from-reboot.log",
        "seed-000-race.libvirtd.log",
        |lines| {
            let first = lines
                .iter()
                .position(|l| l.contains("virDomainReboot"))
                .unwrap();
            no_powerdown([&lines[..1], &lines[first..]].concat())
        },
    );
    let launched = repro(&from_launch, &dir, &["--scenario", SEED_000]);
    assert_eq!(launched.code, Some(0), "{}", launched.stderr);
    let m = launched
        .matches
        .iter()
        .find(|m| is_seed_000_bug(m))
        .unwrap();
    let running = repro(&from_reboot, &dir, &["--scenario", SEED_000]);
    assert_eq!(running.code, Some(0), "{}", running.stderr);
    let r = running.matches.iter().find(|m| is_seed_000_bug(m)).unwrap();
    assert_eq!(r["explained"], r["events"], "{r}");
    let skipped = m["events"].as_u64().unwrap() - m["explained"].as_u64().unwrap();
    assert_eq!(
        m["events"].as_u64().unwrap() - r["events"].as_u64().unwrap(),
        skipped,
        "only the launch entries are left unexplained: {m}"
    );
    assert!(skipped > 0);
}

#[test]
fn powerdown_is_placed_where_qemu_sends_it() {
    let dir = tmp("powerdown");
    let rebooted = |move_powerdown: bool| {
        move |lines: Vec<&str>| -> Vec<String> {
            let first = lines
                .iter()
                .position(|l| l.contains("virDomainReboot"))
                .unwrap();
            let mut rest: Vec<&str> = lines[first..].to_vec();
            if move_powerdown {
                let (pd, others): (Vec<&str>, Vec<&str>) =
                    rest.into_iter().partition(|l| l.contains("POWERDOWN"));
                rest = [pd, others].concat();
            }
            [&lines[..1], &rest[..]]
                .concat()
                .into_iter()
                .map(String::from)
                .collect()
        }
    };
    let log = derived(
        &dir,
        "in-order.log",
        "seed-000-race.libvirtd.log",
        rebooted(false),
    );
    let r = repro(&log, &dir, &["--scenario", SEED_000]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.matches.iter().any(is_seed_000_bug));
    let early = derived(
        &dir,
        "early.log",
        "seed-000-race.libvirtd.log",
        rebooted(true),
    );
    let r = repro(&early, &dir, &["--scenario", SEED_000]);
    assert_eq!(
        r.code,
        Some(1),
        "a POWERDOWN before any system_powerdown: {:?}",
        r.matches
    );
    assert!(r.stderr.contains("POWERDOWN"), "{}", r.stderr);
}

#[test]
fn repeated_resets_of_a_reboot_are_one_entry() {
    let dir = tmp("resets");
    let scenario = dir.join("agent-reboot.yaml");
    std::fs::write(
        &scenario,
        r#"name: one-agent-reboot
title: "one agent reboot (a test scenario whose property every reboot violates)"
source: [tests/repro_real_logs.rs]
model: lifecycle
setup:
  domains: [{name: A}]
  threads: [{name: api-1, ops: [{reboot: {domain: A, mode: agent}}]}]
cases:
  qboot: {domains: [{name: A, firmware: qboot}]}
  seabios: {domains: [{name: A, firmware: seabios}]}
variants:
  current: {}
properties:
  - name: the guest is never reset
    always: 'A.resets == 0'
expect:
  qboot: {current: violated}
  seabios: {current: violated}
"#,
    )
    .unwrap();
    let log = derived(
        &dir,
        "benign.log",
        "benign-agent-reboot.libvirtd.log",
        |lines| {
            let first = lines
                .iter()
                .position(|l| l.contains("virDomainReboot"))
                .unwrap();
            lines[first..].iter().map(|l| l.to_string()).collect()
        },
    );
    let resets = std::fs::read_to_string(&log)
        .unwrap()
        .matches("\"RESET\"")
        .count();
    assert!(resets > 2, "the log repeats RESET");
    let r = repro(&log, &dir, &["--scenario", scenario.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let cases: Vec<&str> = r
        .matches
        .iter()
        .map(|m| m["case"].as_str().unwrap())
        .collect();
    assert_eq!(cases.len(), 2, "{cases:?}");
    for m in &r.matches {
        assert_eq!(m["explained"], m["events"], "{m}");
    }
}

#[test]
fn a_throttled_vserport_change_may_trail_by_up_to_a_second() {
    let dir = tmp("throttle");
    let name = "seed-000-race.throttled.qemu-monitor-event.txt";
    let r = repro(&Path::new(REAL).join(name), &dir, &["--scenario", SEED_000]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.matches.iter().any(is_seed_000_bug));
    // the same close, 1.1 s after the guest's SHUTDOWN: more than the throttle holds it back
    let late = derived(&dir, "late.txt", name, |lines| {
        lines
            .into_iter()
            .map(
                |l| match l.contains("\"open\":false") || l.contains("host-signal") {
                    true => l.replace("02:57:04.5", "02:57:05.6"),
                    false => l.to_string(),
                },
            )
            .collect()
    });
    let r = repro(&late, &dir, &["--scenario", SEED_000]);
    assert_eq!(r.code, Some(1), "{:?}", r.matches);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_match_produces_every_api_call_of_the_log() {
    let dir = tmp("api");
    let lifecycle_with = |m: &Value, what: &str| {
        let s = bundled()
            .into_iter()
            .find(|s| s.name == m["scenario"])
            .unwrap();
        s.file.model == "lifecycle" && std::fs::read_to_string(&s.path).unwrap().contains(what)
    };
    let one = write(&dir, "one.log", "virsh reboot A\nsymptom: domain killed\n");
    let r = repro(&one, &dir, &[]);
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.stderr);
    for m in &r.matches {
        assert!(lifecycle_with(m, "reboot:"), "no reboot in {m}");
    }
    let two = write(
        &dir,
        "two.log",
        "virsh reboot A --mode acpi\nvirsh reboot A --mode agent\nsymptom: domain killed\n",
    );
    let r = repro(&two, &dir, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.matches.iter().any(is_seed_000_bug));
    for m in &r.matches {
        assert!(
            lifecycle_with(m, "mode: agent") && lifecycle_with(m, "mode: acpi"),
            "{m}"
        );
        assert_eq!(m["explained"], 2, "{m}");
    }
}

#[test]
fn a_match_ends_where_the_symptom_holds() {
    let dir = tmp("symptom");
    let calls = "virsh reboot A --mode acpi\nvirsh reboot A --mode agent\n";
    let agent = write(
        &dir,
        "agent.log",
        &format!("{calls}symptom: the guest agent is not available\n"),
    );
    let r = repro(&agent, &dir, &["--scenario", SEED_000]);
    assert_eq!(
        r.code,
        Some(1),
        "killing QEMU is not this symptom: {:?}",
        r.matches
    );
    let named = "reboot requests never kill the domain";
    let prop = write(
        &dir,
        "prop.log",
        &format!("{calls}symptom: {named} (it was)\n"),
    );
    let r = repro(&prop, &dir, &["--scenario", SEED_000]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for m in &r.matches {
        assert_eq!(
            (m["property"].as_str(), m["rule"].as_str()),
            (Some(named), Some("named-property"))
        );
    }
}

#[test]
fn api_entry_lines_of_every_call_are_read() {
    let dir = tmp("entries");
    let pre = "2026-12-02 02:57:03.754+0000: 27611: debug :";
    let lifecycle = write(
        &dir,
        "lifecycle.log",
        &format!(
            "{pre} virDomainShutdownFlags:1533 : dom=0x7f, (VM: name=A, uuid=1), flags=0x1\n\
             {pre} virDomainDestroyFlags:520 : dom=0x7f, (VM: name=A, uuid=1), flags=0x0\n\
             {pre} virDomainCreateWithFlags:6600 : dom=0x7f, (VM: name=A, uuid=1), flags=0x0\n"
        ),
    );
    let file = new_from_log(&dir, &lifecycle).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&file).unwrap();
    let at = |op: &str| {
        text.find(&format!("- {op}:"))
            .unwrap_or_else(|| panic!("{op} in {text}"))
    };
    assert!(
        at("shutdown") < at("destroy") && at("destroy") < at("start"),
        "{text}"
    );
    let migration = write(
        &dir,
        "migration.log",
        &format!("{pre} virDomainMigrateToURI3:9631 : dom=0x55d1, (VM: name=A, uuid=0d9e), dconnuri=qemu+ssh://dst/system, flags=0x1\n"),
    );
    let file = new_from_log(&dir, &migration).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("model: migration") && text.contains("- migrate"),
        "{text}"
    );
}

/// `new --from-log` on `log`: Ok(the scenario file) or Err(stderr of a bad-input refusal).
fn new_from_log(dir: &Path, log: &Path) -> Result<PathBuf, String> {
    let file = dir.join(format!(
        "{}.yaml",
        log.file_name().unwrap().to_string_lossy()
    ));
    let o = vmrace(&[
        "new",
        "--from-log",
        log.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    match o.status.code() {
        Some(0) => Ok(file),
        Some(2) => Err(stderr),
        other => panic!("{}: exit {other:?}: {stderr}", log.display()),
    }
}

fn assert_loads(file: &Path) {
    let check = vmrace(&["check", file.to_str().unwrap()]);
    assert!(
        matches!(check.status.code(), Some(0 | 1)),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn new_from_log_writes_a_scenario_that_loads_for_every_log() {
    let dir = tmp("new");
    let mut bundled: Vec<PathBuf> = std::fs::read_dir("scenarios/logs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    bundled.sort();
    for log in &bundled {
        let file = new_from_log(&dir, log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert_loads(&file);
    }
    for log in real_logs("") {
        if log.extension().is_some_and(|x| x == "md") {
            continue;
        }
        match new_from_log(&dir, &log) {
            Ok(file) => assert_loads(&file),
            Err(e) => {
                assert!(e.contains("nothing to model"), "{}: {e}", log.display());
                let parsed = vmrace::repro::log::load(&log).unwrap();
                let calls = parsed
                    .entries
                    .iter()
                    .filter(|e| e.event.starts_with("api:") && e.event != "api:start");
                assert_eq!(
                    calls.count(),
                    0,
                    "{}: a log with calls is refused",
                    log.display()
                );
            }
        }
    }
}

#[test]
fn new_from_log_keeps_any_domain_name_valid() {
    let dir = tmp("names");
    let log = write(
        &dir,
        "names.log",
        "virsh reboot yes --mode acpi\nvirsh reboot vm-1 --mode agent\nvirsh start true\n\
         virsh destroy null\nsymptom: domain killed\n",
    );
    let file = new_from_log(&dir, &log).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    for name in ["yes", "vm-1", "true", "null"] {
        assert!(text.contains(name), "{name} in {text}");
    }
    let scenario = Scenario::load(&file).expect("loads");
    assert_eq!(scenario.jobs().unwrap().len(), 1);
}

#[test]
fn a_search_cut_by_its_bound_is_reported_as_incomplete() {
    let dir = tmp("cut");
    let text = std::fs::read_to_string(format!("scenarios/{SEED_000}.yaml")).unwrap();
    assert!(!text.contains("\nsearch:"));
    let scenario = write(
        &dir,
        "small.yaml",
        &format!("{text}search: {{max_states: 20}}\n"),
    );
    let log = Path::new("scenarios/logs/seed-000-acpi-then-agent-reboot.log");
    let r = repro(log, &dir, &["--scenario", scenario.to_str().unwrap()]);
    assert_eq!(r.code, Some(3), "{:?} {}", r.matches, r.stderr);
    assert!(r.stderr.contains("cut"), "{}", r.stderr);
}
