//! Real replays of the network model's traces (seed 004 and the 3-VM churn scenario) on real
//! taps, a real Linux bridge and a private Open vSwitch, compared with the model's prediction.
//!
//! Needs root, `iproute2` and `openvswitch-switch` (Debian packages); a missing tool fails the
//! test with the package name, nothing is skipped. Every witness is replayed 10 times. Tests run
//! one at a time (a lock) and each checks that it left no `vmrace-<pid>-*` namespace behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use models::network::Network;
use sim::{Model, Trace};
use vmrace::commands::real::{witnesses, Witness};
use vmrace::real::replay::{other_software, replay_real, RealOutcome};
use vmrace::scenario::checked::Checked;
use vmrace::scenario::{Job, Scenario, WithModel};

const RUNS: usize = 10;
const OVS: &str = "scenarios/seed-004-tap-reuse-ovs.yaml";
const BRIDGE: &str = "scenarios/seed-004-bridge-ebusy.yaml";
const CHURN: &str = "scenarios/churn-3vm-ovs.yaml";
const EXITS: &str = "scenarios/seed-004-qemu-exits-ovs.yaml";
/// The datapath case this machine can replay (no openvswitch.ko: OVS runs the netdev datapath).
const NETDEV: &str = "netdev";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Serialises the tests and points the library at the freshly built helper binary.
fn serial() -> MutexGuard<'static, ()> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    std::env::set_var("VMRACE_NETHELPER", env!("CARGO_BIN_EXE_vmrace-nethelper"));
    guard
}

fn load(path: &str) -> Scenario {
    Scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {}", e.message))
}

fn replay(scenario: &Scenario, job: &Job, trace: &Trace) -> RealOutcome {
    replay_real(scenario, job, trace).unwrap_or_else(|e| {
        panic!(
            "real replay could not run (needs root, `iproute2`, `openvswitch-switch`): {}",
            e.message
        )
    })
}

/// Our own sandbox namespaces still present.
fn leftover_namespaces() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("`ip` runs (Debian package iproute2)");
    let prefix = format!("vmrace-{}-", std::process::id());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

fn assert_clean() {
    assert_eq!(
        leftover_namespaces(),
        Vec::<String>::new(),
        "namespaces left"
    );
}

/// The jobs of `scenario` this machine can replay: the netdev datapath case. Every kernel
/// datapath job must be refused with the reason, never replayed.
fn replayable(scenario: &Scenario) -> Vec<Job> {
    let mut out = Vec::new();
    for job in scenario.jobs().expect("jobs") {
        let why = other_software(scenario, &job).expect("other_software");
        match job.case.as_deref() {
            Some(NETDEV) => {
                assert_eq!(why, None, "{}: netdev is replayable", job.variant);
                out.push(job);
            }
            _ => {
                let why = why.unwrap_or_else(|| panic!("{:?} must not be replayed", job.case));
                assert!(why.contains("kernel datapath"), "{why}");
            }
        }
    }
    assert!(!out.is_empty(), "{}: no netdev job", scenario.name);
    out
}

/// Replays every witness of every replayable job `RUNS` times; returns (witness, first
/// disagreement) pairs.
fn disagreements(scenario: &Scenario, sample: usize) -> Vec<(String, RealOutcome)> {
    let mut bad = Vec::new();
    let mut replays = 0;
    for job in replayable(scenario) {
        let found = witnesses(scenario, &job, sample, 2026).expect("witnesses");
        assert!(!found.is_empty(), "{}: no witness", job.variant);
        for Witness { source, trace } in found {
            for _ in 0..RUNS {
                replays += 1;
                let outcome = replay(scenario, &job, &trace);
                if !outcome.agreed {
                    bad.push((format!("{} / {source}", job.variant), outcome));
                    break;
                }
            }
        }
    }
    eprintln!("{}: {replays} real replays", scenario.name);
    bad
}

fn fail_with(bad: &[(String, RealOutcome)]) {
    if !bad.is_empty() {
        for (what, outcome) in bad {
            eprintln!("{what}\n{}", outcome.to_markdown());
        }
        panic!("{} witness(es) disagreed with the model", bad.len());
    }
}

#[test]
fn every_tap_reuse_ovs_witness_agrees_ten_times() {
    let _lock = serial();
    fail_with(&disagreements(&load(OVS), 0));
    assert_clean();
}

#[test]
fn churn_sample_of_found_traces_agrees_ten_times() {
    let _lock = serial();
    fail_with(&disagreements(&load(CHURN), 3));
    assert_clean();
}

/// On the netdev datapath (this machine's) a leftover OVS row never claims B's new tap, so B's
/// `SIOCBRADDIF` succeeds in every variant, which is what the model's netdev case predicts: every
/// witness agrees, including those of proposal A (whose real `virNetDevGetMaster` finds no
/// master and goes straight to the attach).
#[test]
fn bridge_netdev_witnesses_agree_and_b_always_starts() {
    let _lock = serial();
    let scenario = load(BRIDGE);
    fail_with(&disagreements(&scenario, 0));
    for job in replayable(&scenario) {
        for Witness { trace, .. } in witnesses(&scenario, &job, 0, 2026).expect("witnesses") {
            let outcome = replay(&scenario, &job, &trace);
            assert_eq!(
                outcome.observed["B.state"],
                "running",
                "{}",
                outcome.to_markdown()
            );
        }
    }
    assert_clean();
}

/// Proposal A's steps are carried out for real: GetMaster over netlink, `iface-to-br`, and the
/// attach; on OVS and on the bridge, alone and with B and C.
#[test]
fn reattach_witnesses_run_their_real_steps_and_agree() {
    let _lock = serial();
    for path in [OVS, BRIDGE] {
        let scenario = load(path);
        for job in replayable(&scenario) {
            if !job.variant.starts_with("reattach") {
                continue;
            }
            for Witness { source, trace } in witnesses(&scenario, &job, 0, 2026).expect("w") {
                let outcome = replay(&scenario, &job, &trace);
                let what = format!("{} {source}:\n{}", job.variant, outcome.to_markdown());
                assert!(outcome.agreed, "{what}");
                let master = outcome
                    .steps
                    .iter()
                    .find(|s| s.label == "get-master")
                    .unwrap_or_else(|| panic!("no get-master step: {what}"));
                assert!(master.action.contains("IFLA_MASTER"), "{what}");
                assert!(master.result.contains("no master"), "{what}");
            }
        }
    }
    assert_clean();
}

/// QEMU exiting by itself: the holder dies first, then the stop's steps; every netdev witness
/// agrees.
#[test]
fn qemu_exits_witnesses_agree() {
    let _lock = serial();
    let scenario = load(EXITS);
    fail_with(&disagreements(&scenario, 0));
    let job = job(&scenario, "unconditional");
    let found = witnesses(&scenario, &job, 0, 2026).expect("witnesses");
    let violation = found
        .iter()
        .find(|w| w.source.starts_with("violation"))
        .expect("a violation witness");
    let outcome = replay(&scenario, &job, &violation.trace);
    let labels: Vec<&str> = outcome
        .steps
        .iter()
        .filter(|s| s.actor == "api-A")
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(labels[0], "qemu-exit", "{}", outcome.to_markdown());
    assert!(outcome
        .steps
        .iter()
        .any(|s| s.label == "qemu-exit" && s.action.contains("SIGKILL")));
    assert_eq!(outcome.observed["B.connected"], "false");
    assert_clean();
}

/// Kernel-datapath jobs are never replayed on this machine: `replay --real` of such a trace
/// exits 2 and says why, and `fidelity` lists them as skipped with the reason.
#[test]
fn kernel_datapath_traces_are_refused_with_the_reason() {
    let _lock = serial();
    let trace =
        "scenarios/traces/seed-004-bridge-ebusy.kernel.exists-check.B-s-start-succeeds.yaml";
    let out = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(["replay", "--real", trace])
        .output()
        .expect("vmrace runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("kernel datapath"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(["fidelity", "--runs", "1", BRIDGE])
        .output()
        .expect("vmrace runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let skipped = stdout
        .lines()
        .filter(|l| l.contains("skipped") && l.contains("kernel datapath"))
        .count();
    assert_eq!(
        skipped, 8,
        "every kernel variant is skipped with the reason:\n{stdout}"
    );
    assert!(!stdout.contains("DISAGREED"), "{stdout}");
    assert_clean();
}

/// Rebuilds a trace of `job` that takes the given (actor, label) steps, in order.
struct Retarget<'a> {
    steps: &'a [(String, String)],
    context: BTreeMap<String, String>,
    out: Option<Trace>,
}

impl WithModel for Retarget<'_> {
    fn lifecycle(&mut self, _: &Checked<models::lifecycle::Lifecycle>) {}
    fn migration(&mut self, _: &Checked<models::migration::Migration>) {}
    fn lang(&mut self, _: &Checked<lang::Program>) {}
    fn network(&mut self, model: &Checked<Network>) {
        let mut state = model.init_states().swap_remove(0);
        let mut path = sim::Path::<Checked<Network>> {
            init: 0,
            actions: Vec::new(),
        };
        for (actor, label) in self.steps {
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            let actors = model.actors();
            let action = actions
                .into_iter()
                .find(|a| {
                    let info = model.step_info(a);
                    &actors[info.actor as usize] == actor && &info.label == label
                })
                .unwrap_or_else(|| panic!("{actor} {label} is not enabled"));
            state = model.next_state(&state, &action);
            path.actions.push(action);
        }
        let mut trace = Trace::from_path(model, &path);
        trace.context = self.context.clone();
        self.out = Some(trace);
    }
}

/// The netdev-datapath job of `variant`.
fn job(scenario: &Scenario, variant: &str) -> Job {
    let jobs = scenario.jobs().expect("jobs");
    jobs.into_iter()
        .find(|j| j.variant == variant && j.case.as_deref() == Some(NETDEV))
        .expect("variant")
}

#[test]
fn bad_order_disconnects_b_on_real_ovs_and_monotonic_names_keep_it_connected() {
    let _lock = serial();
    let scenario = load(OVS);
    // A is killed, B starts on the freed name, then A's late del-port.
    let bad_order: Vec<(String, String)> = [
        ("api-A", "kill"),
        ("api-B", "tap-create"),
        ("api-B", "ovs-add-port"),
        ("api-A", "stop-teardown"),
        ("api-A", "ovs-del-port"),
    ]
    .iter()
    .map(|(a, l)| (a.to_string(), l.to_string()))
    .collect();
    for (variant, connected, ifname) in [
        ("unconditional", "false", "vnet0"),
        ("monotonic-names", "true", "vnet1"),
    ] {
        let job = job(&scenario, variant);
        let mut retarget = Retarget {
            steps: &bad_order,
            context: scenario.context(&job),
            out: None,
        };
        scenario.with_model(&job, &mut retarget).expect("model");
        let trace = retarget.out.expect("network model");
        for _ in 0..RUNS {
            let outcome = replay(&scenario, &job, &trace);
            let table = outcome.to_markdown();
            assert!(outcome.agreed, "{variant}:\n{table}");
            assert_eq!(outcome.observed["B.state"], "running", "{table}");
            assert_eq!(outcome.observed["B.ifname"], ifname, "{table}");
            assert_eq!(outcome.observed["B.connected"], connected, "{table}");
        }
    }
    assert_clean();
}

/// `vmrace replay --real`: exit 0 and `agreed: true` for traces the real system reproduces (a
/// violation of the OVS race and of QEMU exiting by itself, netdev datapath).
#[test]
fn replay_real_command_exit_codes_and_output() {
    let _lock = serial();
    let dir = std::env::temp_dir().join(format!("vmrace-replay-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (path, variant, want_code) in [(OVS, "unconditional", 0), (EXITS, "exists-check", 0)] {
        let scenario = load(path);
        let job = job(&scenario, variant);
        let found = witnesses(&scenario, &job, 0, 2026).expect("witnesses");
        let Witness { trace, .. } = found
            .into_iter()
            .find(|w| w.source.starts_with("violation"))
            .expect("a violation witness");
        let file = dir.join(format!("{variant}.yaml"));
        std::fs::write(&file, trace.to_yaml()).expect("write trace");
        let run = |format: &str| {
            Command::new(env!("CARGO_BIN_EXE_vmrace"))
                .args(["replay", "--real", "--format", format])
                .arg(&file)
                .output()
                .expect("vmrace runs")
        };
        let json = run("json");
        let stdout = String::from_utf8_lossy(&json.stdout);
        let stderr = String::from_utf8_lossy(&json.stderr);
        assert_eq!(json.status.code(), Some(want_code), "{stdout}{stderr}");
        let value: serde_json::Value =
            serde_json::from_str(stdout.trim()).expect("one JSON object");
        assert_eq!(value["agreed"], want_code == 0);
        let table = run("table");
        let text = String::from_utf8_lossy(&table.stdout);
        assert!(text.contains("| observation | predicted (model) | observed (real) |"));
        assert_eq!(table.status.code(), Some(want_code), "{text}");
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_vmrace"))
        .args(["replay", "--real", "/nonexistent/trace.yaml"])
        .output()
        .expect("vmrace runs");
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
    assert_clean();
}

/// The sandbox extension the replay uses for `tap-create` and `get-mac`: set and read a MAC.
#[test]
fn sandbox_sets_and_reads_tap_macs() {
    let _lock = serial();
    use vmrace::real::net::{Backend, NetOp, NetOutcome, Sandbox, TapNaming};
    let mut sandbox = Sandbox::new(Backend::LinuxBridge).expect("sandbox");
    let create = NetOp::CreateTap {
        vm: "A".into(),
        naming: TapNaming::Kernel,
        persist: false,
    };
    let Ok(NetOutcome::Tap(name)) = sandbox.apply(&create) else {
        panic!("tap creation failed");
    };
    sandbox
        .set_mac(&name, "fe:54:00:00:00:01")
        .expect("set MAC");
    assert_eq!(
        sandbox.mac(&name).expect("read MAC").as_deref(),
        Some("fe:54:00:00:00:01")
    );
    assert_eq!(sandbox.mac("vnet99").expect("read MAC"), None);
    sandbox.close().expect("cleanup");
    assert_clean();
}
