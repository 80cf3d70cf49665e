//! The lifecycle model against the upstream code, one test per finding of a libvirt
//! maintainer's review: each scenario below states the verdict or outcome set the real code
//! gives, and the model must reproduce it.

use std::path::PathBuf;
use vmrace::scenario::run::Got;
use vmrace::scenario::Scenario;

/// Writes `yaml` as a scenario file and returns, per case × variant, whether the model matched
/// the scenario's `expect`, with what it got.
fn check(name: &str, yaml: &str) -> Vec<(String, bool, String)> {
    let dir = std::env::temp_dir().join(format!("vmrace-fidelity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).expect("write scenario");
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{name} loads: {e}"));
    let mut out = Vec::new();
    for job in scenario.jobs().expect("jobs") {
        let run = scenario.run(&job, 1).expect("runs");
        let got = match &run.got {
            Got::Outcomes(o) => o.join(" | "),
            verdict => verdict.to_string(),
        };
        let label = format!("{} {}", job.case.as_deref().unwrap_or("-"), job.variant);
        out.push((label, run.matches(), got));
    }
    out
}

fn assert_all_match(name: &str, yaml: &str) {
    for (label, ok, got) in check(name, yaml) {
        assert!(ok, "{name}: {label}: got {got}");
    }
}

/// Finding 1: a reply wakes its waiter only after the events QEMU wrote before it. The fake
/// reboot's `cont` reply follows its RESET, so with qboot (one RESET per reset) the RESET
/// handler can no longer clear the fakeReboot of a following ACPI reboot; with SeaBIOS the
/// firmware's extra RESET after `cont` still can.
#[test]
fn a_late_reset_needs_the_firmwares_extra_reset() {
    assert_all_match(
        "late-reset",
        r#"
title: late RESET
source: [test]
model: lifecycle
setup:
  domains: [{name: A, guest_policy: first}]
  fake_reboot_clear: on-reset
  threads:
    - {name: api-1, ops: [{reboot: {domain: A, mode: acpi}}]}
    - {name: api-2, ops: [{wait: {domain: A, until: guest-acted}}, {reboot: {domain: A, mode: acpi}}]}
cases:
  qboot: {domains: [{name: A, guest_policy: first, firmware: qboot}]}
  seabios: {domains: [{name: A, guest_policy: first, firmware: seabios}]}
variants:
  on-reset: {}
properties:
  - {name: never killed, at_end: 'A.result == "REBOOT"'}
expect:
  qboot: {on-reset: holds}
  seabios: {on-reset: violated}
"#,
    );
}

/// Finding 2: in DEFAULT mode a failed agent path falls back to ACPI. After an ACPI shutdown
/// the guest stops qemu-ga; a DEFAULT reboot that still finds libvirt's agent connected sends
/// guest-sync, which times out, and `qemuDomainRebootMonitor` sets fakeReboot again while
/// libvirt still holds the agent. Without the fallback fakeReboot could only be set again by
/// a call that found the agent already gone.
#[test]
fn default_mode_falls_back_to_acpi_when_the_agent_fails() {
    assert_all_match(
        "default-fallback",
        r#"
title: fallback
source: [test]
model: lifecycle
setup:
  domains: [{name: A}]
  threads:
    - {name: api-1, ops: [{shutdown: {domain: A, mode: acpi}}]}
    - {name: api-2, ops: [{wait: {domain: A, until: guest-acted}}, {reboot: {domain: A, mode: default}}]}
variants:
  b0c144c5792: {fake_reboot: b0c144c5792}
properties:
  - {name: the fallback sets fakeReboot with the agent still connected, sometimes: 'A.fake_reboot && A.agent_connected && A.state == "running"'}
  - {name: the domain can still reboot, sometimes: 'A.result == "REBOOT" && A.boots > 0'}
expect:
  b0c144c5792: holds
"#,
    );
}

/// Finding 3: in libvirt 4.x–5.x the agent path holds the normal job too, so an agent call in
/// progress keeps the fake-reboot thread out until `qemuAgentShutdown` returns; the outcomes
/// of seed 000 do not change with the era.
#[test]
fn job_rules_by_era_keep_seed_000s_verdicts() {
    assert_all_match(
        "jobs-era",
        r#"
title: jobs
source: [test]
model: lifecycle
setup:
  domains: [{name: A}]
  fake_reboot_clear: before-thread
  threads:
    - {name: api-1, ops: [{reboot: {domain: A, mode: acpi}}]}
    - {name: api-2, ops: [{wait: {domain: A, until: guest-acted}}, {reboot: {domain: A, mode: agent}}]}
cases:
  split: {jobs: split}
  with-agent: {jobs: with-agent}
variants:
  b0c144c5792: {fake_reboot: b0c144c5792}
  revert-b0c144c5792: {fake_reboot: revert-b0c144c5792}
properties:
  - {name: never killed, at_end: 'A.result == "REBOOT"'}
expect:
  split: {b0c144c5792: violated, revert-b0c144c5792: holds}
  with-agent: {b0c144c5792: violated, revert-b0c144c5792: holds}
"#,
    );
}

/// Finding 4: `qemuProcessStop` clears agentError inside `if (priv->agent)` in the 2015/16
/// code, so a destroy while the agent is connected clears it even in `pre-2.5`; current
/// libvirt clears it unconditionally, also after the EOF handler dropped the agent.
#[test]
fn process_stop_clears_agent_error_by_era() {
    assert_all_match(
        "agent-error-stop",
        r#"
title: agentError in qemuProcessStop
source: [test]
model: lifecycle
setup:
  domains: [{name: A, faults: [agent-error]}]
cases:
  destroy:
    threads: [{name: api-1, ops: [{destroy: {domain: A}}, {start: {domain: A}}]}]
  shutdown:
    threads: [{name: api-1, ops: [{shutdown: {domain: A, mode: acpi}}, {wait: {domain: A, until: shutoff}}, {start: {domain: A}}]}]
variants:
  pre-2.5: {agent_error: pre-2.5}
  current: {agent_error: current}
properties:
  - {name: agent usable, at_end: 'A.agent_available'}
expect:
  destroy: {pre-2.5: holds, current: holds}
  shutdown: {pre-2.5: violated, current: holds}
"#,
    );
}

/// Finding 6: bounded timeouts race a slow guest. With a proposal's powerdown and a
/// supervisor's SIGKILL that may come first, the clean shutdown is not guaranteed; when the
/// guest is faster than every timeout it is.
#[test]
fn timeouts_race_a_slow_guest() {
    assert_all_match(
        "timeouts",
        r#"
title: timeouts
source: [test]
model: lifecycle
setup:
  domains: [{name: A, libvirt: false, no_shutdown: false, agent: none}]
  supervisor: {domain: A, sigkill_on_timeout: true}
  qemu_sigterm: p0-powerdown
cases:
  fast: {timeouts: when-idle}
  slow: {timeouts: race}
variants:
  p0: {}
observe: [A.fs]
expect:
  fast: {p0: {outcomes: ["A.fs=clean"]}}
  slow: {p0: {outcomes: ["A.fs=clean", "A.fs=dirty"]}}
"#,
    );
}

/// Finding 6: proposal 2 maps SIGHUP to `system_reset`; today SIGHUP ends QEMU like SIGTERM.
#[test]
fn sighup_is_a_reset_under_the_signal_map() {
    assert_all_match(
        "sighup",
        r#"
title: sighup
source: [test]
model: lifecycle
setup:
  domains: [{name: A, libvirt: false, no_shutdown: false, agent: none}]
  supervisor: {domain: A, sigkill_on_timeout: false, signal: SIGHUP}
variants:
  today: {qemu_sigterm: sigterm-poweroff}
  p2: {qemu_sigterm: p2-signal-map}
observe: [A.qemu]
expect:
  today: {outcomes: ["A.qemu=exited"]}
  p2: {outcomes: ["A.qemu=running"]}
"#,
    );
}

/// Finding 1, in the keys of the model before the fix: with the default firmware (qboot) the
/// fake reboot's own RESET is handled before its `cont` reply, so current libvirt's RESET
/// handler never clears the next ACPI reboot's fakeReboot.
#[test]
fn a_fake_reboots_own_reset_is_handled_before_its_cont_returns() {
    assert_all_match(
        "own-reset",
        r#"
title: own RESET
source: [test]
model: lifecycle
setup:
  domains: [{name: A, guest_policy: first}]
  threads:
    - {name: api-1, ops: [{reboot: {domain: A, mode: acpi}}]}
    - {name: api-2, ops: [{wait: {domain: A, until: guest-acted}}, {reboot: {domain: A, mode: acpi}}]}
variants:
  on-reset: {fake_reboot_clear: on-reset}
properties:
  - {name: never killed, at_end: 'A.result == "REBOOT"'}
expect:
  on-reset: holds
"#,
    );
}

/// Finding 4, in the keys of the model before the fix: the 2015/16 `qemuProcessStop` clears
/// agentError while `priv->agent` is still set, so a destroy with the agent connected leaves
/// no stale error behind.
#[test]
fn a_destroy_with_the_agent_connected_clears_agent_error_in_the_2016_code() {
    assert_all_match(
        "destroy-agent-error",
        r#"
title: destroy after an agent error
source: [test]
model: lifecycle
setup:
  domains: [{name: A, faults: [agent-error]}]
  threads: [{name: api-1, ops: [{destroy: {domain: A}}, {start: {domain: A}}]}]
variants:
  pre-2.5: {agent_error: pre-2.5}
properties:
  - {name: agent usable, at_end: 'A.agent_available'}
expect:
  pre-2.5: holds
"#,
    );
}
