//! Real-network replay tests: the seed-004 tap-name reuse race (libvirt/OVS, 2020) replayed on
//! real taps, a real Linux bridge and a private Open vSwitch, plus the sandbox's cleanup
//! guarantees (drop, panic, Ctrl-C, SIGTERM).
//!
//! Needs root, `iproute2` and `openvswitch-switch` (Debian packages). A missing tool makes the
//! tests fail with a message naming the package; they never skip. Tests take a global lock so
//! that only one sandbox exists at a time, which keeps the "nothing left behind" checks exact.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vmrace::real::net::{
    sweep_stale, Backend, Errno, NetError, NetObservation, NetOp, NetOutcome, Sandbox, TapNaming,
    Verdict, OVS_BRIDGE,
};

const HELPER: &str = env!("CARGO_BIN_EXE_vmrace-nethelper");

static ONE_SANDBOX_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_SANDBOX_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sandbox(backend: Backend) -> Sandbox {
    Sandbox::with_helper(backend, HELPER).unwrap_or_else(|e| panic!("cannot create sandbox: {e}"))
}

fn apply(sandbox: &mut Sandbox, op: NetOp) -> NetOutcome {
    sandbox
        .apply(&op)
        .unwrap_or_else(|e| panic!("{op:?} failed: {e}"))
}

fn create(vm: &str, naming: TapNaming) -> NetOp {
    NetOp::CreateTap {
        vm: vm.into(),
        naming,
        persist: false,
    }
}

fn add_port(vm: &str) -> NetOp {
    NetOp::AddPort { vm: vm.into() }
}

fn remove_port(vm: &str) -> NetOp {
    NetOp::RemovePort { vm: vm.into() }
}

fn attach(vm: &str) -> NetOp {
    NetOp::AttachBridge { vm: vm.into() }
}

fn detach(vm: &str) -> NetOp {
    NetOp::DetachBridge { vm: vm.into() }
}

fn kill(vm: &str) -> NetOp {
    NetOp::KillQemu { vm: vm.into() }
}

fn tap(name: &str) -> NetOutcome {
    NetOutcome::Tap(name.into())
}

/// Seed 004 on OVS. `bad`: B starts between A's QEMU kill and A's `del-port`;
/// good: A's stop completes first. Returns the final observation.
fn ovs_replay(sandbox: &mut Sandbox, naming: TapNaming, bad: bool) -> NetObservation {
    apply(sandbox, create("A", naming.clone()));
    apply(sandbox, add_port("A"));
    apply(sandbox, kill("A"));
    if !bad {
        apply(sandbox, remove_port("A"));
    }
    apply(sandbox, create("B", naming));
    apply(sandbox, add_port("B"));
    if bad {
        apply(sandbox, remove_port("A"));
    }
    sandbox.observe().expect("observe")
}

/// The same race on the Linux bridge, with A's cleanup modelled as a by-name SIOCBRDELIF.
fn bridge_replay(sandbox: &mut Sandbox, naming: TapNaming, bad: bool) -> NetObservation {
    apply(sandbox, create("A", naming.clone()));
    assert_eq!(apply(sandbox, attach("A")), NetOutcome::Done);
    apply(sandbox, kill("A"));
    if !bad {
        let late = apply(sandbox, detach("A"));
        assert_eq!(
            late,
            NetOutcome::Errno(Errno(libc::ENODEV)),
            "A's tap is gone"
        );
    }
    apply(sandbox, create("B", naming));
    assert_eq!(apply(sandbox, attach("B")), NetOutcome::Done);
    if bad {
        apply(sandbox, detach("A"));
    }
    sandbox.observe().expect("observe")
}

#[test]
fn ovs_bad_order_with_kernel_naming_disconnects_b() {
    let _serial = serial();
    let mut sb = sandbox(Backend::Ovs);
    assert_eq!(apply(&mut sb, create("A", TapNaming::Kernel)), tap("vnet0"));
    apply(&mut sb, add_port("A"));
    let before = sb.observe().unwrap();
    assert_eq!(before.ovs_ports["vnet0"].vm_id.as_deref(), Some("A"));
    assert_eq!(before.verdict("A"), Verdict::Connected);
    apply(&mut sb, kill("A"));
    assert_eq!(
        apply(&mut sb, create("B", TapNaming::Kernel)),
        tap("vnet0"),
        "the kernel hands A's freed name to B"
    );
    apply(&mut sb, add_port("B"));
    assert_eq!(sb.observe().unwrap().verdict("B"), Verdict::Connected);
    apply(&mut sb, remove_port("A"));

    let obs = sb.observe().unwrap();
    assert_eq!(obs.verdict("B"), Verdict::Disconnected, "{obs:#?}");
    assert_eq!(obs.verdict("A"), Verdict::Disconnected);
    assert!(obs.taps.contains("vnet0"), "B's tap still exists: {obs:#?}");
    assert!(
        obs.ovs_ports.is_empty(),
        "A's late del-port removed B's port"
    );
    assert_eq!(obs.vms["B"].ifname.as_deref(), Some("vnet0"));
    assert!(obs.vms["B"].running);
}

#[test]
fn ovs_good_order_with_kernel_naming_connects_b() {
    let _serial = serial();
    let mut sb = sandbox(Backend::Ovs);
    let obs = ovs_replay(&mut sb, TapNaming::Kernel, false);
    assert_eq!(obs.verdict("B"), Verdict::Connected, "{obs:#?}");
    assert_eq!(obs.vms["B"].ifname.as_deref(), Some("vnet0"));
    assert_eq!(obs.ovs_ports["vnet0"].vm_id.as_deref(), Some("B"));
    assert_eq!(
        obs.ovs_ports["vnet0"].external_ids["iface-status"],
        "active"
    );
}

#[test]
fn ovs_monotonic_naming_connects_b_in_both_orders() {
    let _serial = serial();
    for bad in [true, false] {
        let mut sb = sandbox(Backend::Ovs);
        let obs = ovs_replay(&mut sb, TapNaming::Monotonic, bad);
        assert_eq!(obs.verdict("B"), Verdict::Connected, "bad={bad}: {obs:#?}");
        assert_eq!(obs.vms["A"].ifname.as_deref(), Some("vnet0"));
        assert_eq!(obs.vms["B"].ifname.as_deref(), Some("vnet1"));
        assert_eq!(obs.ovs_ports.keys().collect::<Vec<_>>(), ["vnet1"]);
    }
}

#[test]
fn monotonic_naming_skips_existing_names() {
    let _serial = serial();
    let mut sb = sandbox(Backend::LinuxBridge);
    // A kernel-named tap takes vnet0; the counter must skip it, as virNetDevGenerateName does.
    assert_eq!(apply(&mut sb, create("X", TapNaming::Kernel)), tap("vnet0"));
    assert_eq!(
        apply(&mut sb, create("A", TapNaming::Monotonic)),
        tap("vnet1")
    );
    apply(&mut sb, kill("A"));
    assert_eq!(
        apply(&mut sb, create("B", TapNaming::Monotonic)),
        tap("vnet2")
    );
}

#[test]
fn linux_bridge_race_disconnects_b_only_in_the_bad_order() {
    let _serial = serial();
    let mut sb = sandbox(Backend::LinuxBridge);
    let obs = bridge_replay(&mut sb, TapNaming::Kernel, true);
    assert_eq!(obs.verdict("B"), Verdict::Disconnected, "{obs:#?}");
    assert!(obs.taps.contains("vnet0") && obs.bridge_members.is_empty());
    drop(sb);

    let mut sb = sandbox(Backend::LinuxBridge);
    let obs = bridge_replay(&mut sb, TapNaming::Kernel, false);
    assert_eq!(obs.verdict("B"), Verdict::Connected, "{obs:#?}");
    assert_eq!(obs.bridge_members, BTreeSet::from(["vnet0".to_string()]));
    drop(sb);

    let mut sb = sandbox(Backend::LinuxBridge);
    let obs = bridge_replay(&mut sb, TapNaming::Monotonic, true);
    assert_eq!(obs.verdict("B"), Verdict::Connected, "{obs:#?}");
    assert_eq!(obs.vms["B"].ifname.as_deref(), Some("vnet1"));
}

#[test]
fn attaching_an_enslaved_tap_gives_ebusy() {
    let _serial = serial();
    let mut sb = sandbox(Backend::LinuxBridge);
    let persistent = NetOp::CreateTap {
        vm: "A".into(),
        naming: TapNaming::Explicit("vnet0".into()),
        persist: true,
    };
    assert_eq!(apply(&mut sb, persistent), tap("vnet0"));
    assert_eq!(apply(&mut sb, attach("A")), NetOutcome::Done);
    // A second SIOCBRADDIF of a member is refused, unlike netlink `master`.
    assert_eq!(
        apply(&mut sb, attach("A")),
        NetOutcome::Errno(Errno(libc::EBUSY))
    );
    // While A holds vnet0, TUNSETIFF on that explicit name is refused.
    assert_eq!(
        apply(&mut sb, create("B", TapNaming::Explicit("vnet0".into()))),
        NetOutcome::Errno(Errno(libc::EBUSY))
    );
    assert!(!sb.observe().unwrap().vms["B"].running);
    // The persistent tap survives A's QEMU and stays enslaved; B reopens the same device
    // (no IFF_TUN_EXCL) and libvirt's attach then fails with EBUSY.
    apply(&mut sb, kill("A"));
    let obs = sb.observe().unwrap();
    assert!(obs.taps.contains("vnet0") && obs.bridge_members.contains("vnet0"));
    assert_eq!(
        apply(&mut sb, create("B", TapNaming::Explicit("vnet0".into()))),
        tap("vnet0")
    );
    let outcome = apply(&mut sb, attach("B"));
    assert_eq!(outcome, NetOutcome::Errno(Errno(libc::EBUSY)));
    let NetOutcome::Errno(errno) = outcome else {
        unreachable!()
    };
    assert_eq!(errno.name(), "EBUSY");
}

#[test]
fn helper_cli_prints_errno_with_its_symbol() {
    let _serial = serial();
    let sb = sandbox(Backend::LinuxBridge);
    let out = Command::new(HELPER)
        .args(["addif", "--netns", sb.netns(), "br0", "nosuch0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "errno 19 ENODEV\n");
    let out = Command::new(HELPER)
        .args(["delif", "--netns", "no-such-netns", "br0", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "harness failure, not a result");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/run/netns/no-such-netns"));
}

#[test]
fn check_exists_sees_the_reused_name() {
    let _serial = serial();
    let mut sb = sandbox(Backend::LinuxBridge);
    let exists = |sb: &mut Sandbox| apply(sb, NetOp::CheckExists { vm: "A".into() });
    apply(&mut sb, create("A", TapNaming::Kernel));
    assert_eq!(exists(&mut sb), NetOutcome::Exists(true));
    apply(&mut sb, kill("A"));
    assert_eq!(exists(&mut sb), NetOutcome::Exists(false));
    apply(&mut sb, create("B", TapNaming::Kernel));
    // virNetDevExists(A's old name) is true again: it is now B's tap.
    assert_eq!(exists(&mut sb), NetOutcome::Exists(true));
}

/// What the network model's `datapath: netdev` rests on, measured: a leftover OVS row does not
/// make itself the master of a new tap of its name on the userspace datapath. GetMaster
/// (`IFLA_MASTER`, as `virNetDevGetMaster` reads it) finds none, `iface-to-br` still names the
/// OVS bridge (the row), and `SIOCBRADDIF` succeeds; afterwards GetMaster finds the Linux bridge.
#[test]
fn netdev_stale_row_neither_masters_nor_blocks_a_new_tap() {
    let _serial = serial();
    let mut sb = sandbox(Backend::Ovs);
    let master = |sb: &mut Sandbox, vm: &str| apply(sb, NetOp::GetMaster { vm: vm.into() });
    let iface_to_br = |sb: &mut Sandbox, vm: &str| apply(sb, NetOp::IfaceToBr { vm: vm.into() });
    assert_eq!(apply(&mut sb, create("A", TapNaming::Kernel)), tap("vnet0"));
    apply(&mut sb, add_port("A"));
    assert_eq!(master(&mut sb, "A"), NetOutcome::Master(None));
    assert_eq!(
        iface_to_br(&mut sb, "A"),
        NetOutcome::Master(Some(vmrace::real::net::OVS_BRIDGE.into()))
    );
    apply(&mut sb, kill("A"));
    assert_eq!(apply(&mut sb, create("B", TapNaming::Kernel)), tap("vnet0"));
    assert_eq!(master(&mut sb, "B"), NetOutcome::Master(None));
    assert_eq!(
        iface_to_br(&mut sb, "B"),
        NetOutcome::Master(Some(vmrace::real::net::OVS_BRIDGE.into()))
    );
    assert_eq!(apply(&mut sb, attach("B")), NetOutcome::Done);
    assert_eq!(
        master(&mut sb, "B"),
        NetOutcome::Master(Some(vmrace::real::net::LINUX_BRIDGE.into()))
    );
    apply(&mut sb, remove_port("A"));
    assert_eq!(iface_to_br(&mut sb, "B"), NetOutcome::Master(None));
    sb.close().expect("cleanup");
}

#[test]
fn harness_errors_are_errors_not_outcomes() {
    let _serial = serial();
    let mut sb = sandbox(Backend::LinuxBridge);
    assert!(matches!(
        sb.apply(&add_port("A")),
        Err(NetError::VmState { .. })
    ));
    apply(&mut sb, create("A", TapNaming::Kernel));
    assert!(matches!(sb.apply(&add_port("A")), Err(NetError::NoOvs)));
    assert!(matches!(
        sb.apply(&create("A", TapNaming::Kernel)),
        Err(NetError::VmState { .. })
    ));
    apply(&mut sb, kill("A"));
    assert!(matches!(
        sb.apply(&kill("A")),
        Err(NetError::VmState { .. })
    ));
    assert!(sb.close().is_ok());

    let missing = Sandbox::with_helper(Backend::LinuxBridge, "/nonexistent/vmrace-nethelper");
    let message = missing.unwrap_err().to_string();
    assert!(
        message.contains("cargo build --bin vmrace-nethelper"),
        "{message}"
    );
}

#[test]
fn observations_are_deterministic() {
    let _serial = serial();
    let runs: Vec<String> = (0..2)
        .map(|_| {
            let mut sb = sandbox(Backend::Ovs);
            serde_json::to_string(&ovs_replay(&mut sb, TapNaming::Kernel, false)).unwrap()
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
}

/// Everything a sandbox created, as seen from outside.
struct Footprint {
    netns: String,
    dir: PathBuf,
    pids: Vec<u32>,
}

impl Footprint {
    fn of(sb: &Sandbox) -> Footprint {
        Footprint {
            netns: sb.netns().to_string(),
            dir: sb.dir().to_path_buf(),
            pids: sb.pids(),
        }
    }

    fn assert_present(&self) {
        assert!(netns_list().contains(&self.netns));
        assert!(self.dir.is_dir());
        for pid in &self.pids {
            assert!(Path::new(&format!("/proc/{pid}")).exists());
        }
    }

    fn assert_gone(&self) {
        let namespaces = netns_list();
        assert!(!namespaces.contains(&self.netns), "{namespaces:?}");
        let ours = format!("vmrace-{}-", std::process::id());
        assert!(
            !namespaces.iter().any(|ns| ns.starts_with(&ours)),
            "{namespaces:?}"
        );
        assert!(!self.dir.exists(), "{} left behind", self.dir.display());
        for pid in &self.pids {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "process {pid} still exists"
            );
        }
        let children = children_of(std::process::id());
        assert!(children.is_empty(), "children left: {children:?}");
    }
}

fn netns_list() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list (install iproute2)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect()
}

/// (pid, comm) of every process whose parent is `parent`, zombies included.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if ppid.and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            children.push((pid, stat[open + 1..close].to_string()));
        }
    }
    children
}

#[test]
fn drop_removes_namespace_daemons_holders_and_dir() {
    let _serial = serial();
    let mut sb = sandbox(Backend::Ovs);
    apply(&mut sb, create("A", TapNaming::Kernel));
    apply(&mut sb, add_port("A"));
    apply(&mut sb, create("B", TapNaming::Explicit("vnet7".into())));
    let footprint = Footprint::of(&sb);
    assert_eq!(footprint.pids.len(), 4, "2 daemons + 2 holders");
    footprint.assert_present();
    drop(sb);
    footprint.assert_gone();
}

#[test]
fn panic_inside_a_replay_still_cleans_up() {
    let _serial = serial();
    let footprint = Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let mut sb = sandbox(Backend::Ovs);
        apply(&mut sb, create("A", TapNaming::Kernel));
        *footprint.lock().unwrap() = Some(Footprint::of(&sb));
        panic!("replay step failed on purpose");
    });
    assert!(result.is_err());
    footprint.into_inner().unwrap().unwrap().assert_gone();
}

/// Starts `vmrace-nethelper sandbox` (which installs the signal handler), waits for it to be
/// ready, signals it and checks that it exits 128+signal with nothing left behind.
fn signal_sandbox_process(backend: &str, signal: libc::c_int, whole_group: bool) {
    let mut cmd = Command::new(HELPER);
    cmd.args(["sandbox", "--backend", backend, "--vm", "A", "--vm", "B"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if whole_group {
        // Like a terminal's Ctrl-C: the signal also hits the daemons and tap holders.
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().expect("spawn vmrace-nethelper sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(json) = line.strip_prefix("ready ") else {
        let out = child.wait_with_output().unwrap();
        panic!(
            "sandbox helper failed: {line:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let info: serde_json::Value = serde_json::from_str(json).unwrap();
    let footprint = Footprint {
        netns: info["netns"].as_str().unwrap().to_string(),
        dir: PathBuf::from(info["dir"].as_str().unwrap()),
        pids: info["pids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap() as u32)
            .collect(),
    };
    let expected_pids = if backend == "ovs" { 4 } else { 2 };
    assert_eq!(footprint.pids.len(), expected_pids);
    footprint.assert_present();

    let target = if whole_group {
        -(child.id() as i32)
    } else {
        child.id() as i32
    };
    // SAFETY: signalling a child (or its process group) we started.
    assert_eq!(unsafe { libc::kill(target, signal) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "sandbox helper did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(128 + signal), "{status}");
    footprint.assert_gone();
}

#[test]
fn sigint_to_the_process_cleans_up_and_exits_130() {
    let _serial = serial();
    signal_sandbox_process("ovs", libc::SIGINT, false);
}

#[test]
fn ctrl_c_to_the_whole_process_group_cleans_up() {
    let _serial = serial();
    signal_sandbox_process("ovs", libc::SIGINT, true);
}

#[test]
fn sigterm_cleans_up_and_exits_143() {
    let _serial = serial();
    signal_sandbox_process("linux-bridge", libc::SIGTERM, false);
}

#[test]
fn sweep_stale_removes_leftovers_of_dead_processes_only() {
    let _serial = serial();
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let stale = format!("vmrace-{dead_pid}-0");
    let status = Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(status.success());
    let stale_dir = std::env::temp_dir().join(format!("vmrace-net-{dead_pid}-0"));
    std::fs::create_dir_all(&stale_dir).unwrap();
    let live = sandbox(Backend::LinuxBridge);

    let removed = sweep_stale().expect("sweep");
    assert!(removed.contains(&format!("netns {stale}")), "{removed:?}");
    assert!(!netns_list().contains(&stale));
    assert!(!stale_dir.exists());
    assert!(netns_list().contains(&live.netns().to_string()));
    assert!(live.dir().is_dir());
}

#[test]
fn ovs_sandbox_uses_only_its_own_directory() {
    let _serial = serial();
    let sb = sandbox(Backend::Ovs);
    let socket = sb.ovs_db_socket().unwrap();
    assert!(socket.starts_with(sb.dir()));
    let out = Command::new("ovs-vsctl")
        .arg(format!("--db=unix:{}", socket.display()))
        .args(["br-exists", OVS_BRIDGE])
        .status()
        .expect("ovs-vsctl (install openvswitch-switch)");
    assert!(out.success());
    assert!(!Path::new("/var/run/openvswitch/db.sock").exists());
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs the bad-order OVS replay ten times, checks the outcome every time and prints the cost
/// of each phase (run with `--nocapture` to see it).
#[test]
fn ovs_bad_order_replay_is_stable_and_timed() {
    let _serial = serial();
    let (mut setup, mut steps, mut teardown, mut total) = (vec![], vec![], vec![], vec![]);
    for _ in 0..10 {
        let t0 = Instant::now();
        let mut sb = sandbox(Backend::Ovs);
        let t1 = Instant::now();
        let obs = ovs_replay(&mut sb, TapNaming::Kernel, true);
        let t2 = Instant::now();
        assert_eq!(obs.verdict("B"), Verdict::Disconnected, "{obs:#?}");
        sb.close().expect("clean teardown");
        let t3 = Instant::now();
        setup.push(t1 - t0);
        steps.push(t2 - t1);
        teardown.push(t3 - t2);
        total.push(t3 - t0);
    }
    println!(
        "bad-order OVS replay, median of 10: setup {:?}, steps+observe {:?}, teardown {:?}, total {:?} (max total {:?})",
        median(setup),
        median(steps),
        median(teardown),
        median(total.clone()),
        total.iter().max().unwrap()
    );
}
