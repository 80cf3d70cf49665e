//! Real replay of a `network`-model trace: every step of the trace, in the trace's order, is
//! executed as the command or syscall libvirt issues, in a fresh [`Sandbox`] (network namespace,
//! Linux bridge, private Open vSwitch), each waiting for its real completion
//! ([`Sandbox::apply`]). The real end state is then mapped to the model's observations and
//! compared with the model's prediction.
//!
//! Step mapping (label → real action):
//! * `tap-create` → [`NetOp::CreateTap`] (`TUNSETIFF("vnet%d")`, or libvirt's counter for the
//!   `monotonic-names` variant), then the tap's MAC is set to the guest MAC with first byte 0xFE
//!   as `virNetDevTapCreateInBridgePort` does;
//! * `ovs-add-port` → [`NetOp::AddPort`]; `bridge-add-port` → [`NetOp::AttachBridge`]
//!   (`SIOCBRADDIF`); on a refusal the tap's holder is killed (libvirt's error path closes the
//!   tap fds) and the VM is `start-failed`;
//! * `kill` → [`NetOp::KillQemu`] (SIGKILL + waitpid);
//! * `exists` → [`NetOp::CheckExists`]; `get-mac` → [`NetOp::CheckExists`] plus reading the
//!   device's real MAC and comparing it with the guest MAC (remove iff no device or equal);
//! * `ovs-del-port` → [`NetOp::RemovePort`];
//! * `check-and-del-port` → [`NetOp::CheckExists`] and, if absent, [`NetOp::RemovePort`],
//!   executed back to back. The real system has no atomicity here (suggestion C's lock exists
//!   only in the model); the replay just runs the two in order with no step in between;
//! * `stop-teardown`, `stop-inactive` → no real action (logged);
//! * `qemu-exit` → [`NetOp::KillQemu`] (QEMU exits by itself: its holder dies first);
//!   `monitor-eof`, `eof-event` → no real action (libvirt's event thread and worker; logged);
//! * proposal A's `virNetDevTapReattachBridge`: `get-master` → [`NetOp::GetMaster`]
//!   (`IFLA_MASTER`), `iface-to-br` → [`NetOp::IfaceToBr`], `reattach-del-port` →
//!   [`NetOp::RemovePort`], `bridge-del-port` → [`NetOp::DetachBridge`], then the attach.
//!   Its decisions are the real ones, made from the real answers: a step the real code would
//!   not take is skipped, and when the real path differs from the trace's the real remainder
//!   runs at once (or at the end of the trace), so the end state shows the difference.
//!
//! Only `datapath: netdev` traces are replayed: the sandbox's OVS runs the userspace datapath.
//! A `datapath: kernel` trace is refused with the reason ([`other_datapath`]), never reported as
//! agreeing or disagreeing.
//!
//! A check's decision is the real one: if it says "keep", the VM's following `ovs-del-port` in
//! the trace is skipped; if it says "remove" where the model kept the port, RemovePort runs at
//! once. Either way the end state shows it and the comparison catches it.
//!
//! The sandbox runs OVS whenever any VM uses it; the Linux bridge exists in every sandbox, so a
//! scenario mixing both (seed-004-bridge-ebusy) runs in one namespace.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use models::network::{Backend as ModelBackend, Config, Datapath, TapCleanup};
use sim::Trace;

use super::net::{
    Backend, NetError, NetObservation, NetOp, NetOutcome, Sandbox, TapNaming, LINUX_BRIDGE,
    OVS_BRIDGE,
};
use super::replay::{RealOutcome, RealStep};
use crate::error::CliError;
use crate::scenario::{Job, Scenario};

/// One VM as configured, plus libvirt's view of it during the replay.
struct Vm {
    name: String,
    backend: ModelBackend,
    /// Guest MAC, lower-case `xx:..`.
    guest_mac: String,
    /// libvirt's domain state: `running`, `shutoff` or `start-failed`.
    status: &'static str,
    /// libvirt's `net->ifname` while the domain is active.
    ifname: Option<String>,
    /// `EBUSY` (or another errno name) if the last bridge attach failed.
    attach_error: String,
    /// A real check decided to keep the port: skip this VM's next `ovs-del-port`.
    skip_remove: bool,
    /// The next step the real `virNetDevTapReattachBridge` takes, decided from the real answers.
    reattach_next: Option<&'static str>,
    /// The real ReattachBridge has finished on another path than the trace's: skip the trace's
    /// remaining steps of it.
    reattach_done: bool,
}

/// The labels of the steps of a start's attach (upstream's and proposal A's).
const ATTACH_PHASE: [&str; 6] = [
    "get-master",
    "iface-to-br",
    "reattach-del-port",
    "bridge-del-port",
    "ovs-add-port",
    "bridge-add-port",
];

/// `Some(reason)` for a `datapath: kernel` job: the real replay runs OVS with the userspace
/// (netdev) datapath, so a kernel-datapath verdict cannot be confirmed or refuted here.
pub fn other_datapath(scenario: &Scenario, job: &Job) -> Result<Option<String>, CliError> {
    let config: Config = scenario.setup_as(job)?;
    if config.datapath != Datapath::Kernel {
        return Ok(None);
    }
    let module = if std::path::Path::new("/sys/module/openvswitch").exists() {
        "the sandbox does not use it"
    } else {
        "this kernel has no openvswitch module"
    };
    Ok(Some(format!(
        "not replayable here: the model's verdict is for the kernel datapath (openvswitch.ko), \
         the real replay's OVS runs the userspace netdev datapath ({module}); replay the \
         `datapath: netdev` case"
    )))
}

/// The running replay: sandbox, VMs and the log of executed steps.
struct Replayer<'a> {
    sandbox: Sandbox,
    vms: Vec<Vm>,
    naming: TapNaming,
    steps: Vec<RealStep>,
    trace: &'a Trace,
    at: String,
}

/// Replays `trace` of `scenario`'s `job` (a `network` scenario) on real software; see the
/// module docs.
pub fn replay(scenario: &Scenario, job: &Job, trace: &Trace) -> Result<RealOutcome, CliError> {
    let at = scenario.path.display().to_string();
    let bad = |what: String| CliError::bad_input(format!("{at}: {what}"));
    let predicted = scenario
        .replay(job, trace)?
        .map_err(|e| bad(format!("the trace does not replay in the model: {e}")))?;
    let config: Config = scenario.setup_as(job)?;
    if let Some(why) = other_datapath(scenario, job)? {
        return Err(bad(why));
    }
    let mut vms = Vec::new();
    for (i, vm) in config.vms.iter().enumerate() {
        let guest_mac = match &vm.mac {
            Some(mac) => mac.to_lowercase(),
            None => format!("52:54:00:00:00:{:02x}", i + 1),
        };
        let status = if vm.running { "running" } else { "shutoff" };
        vms.push(Vm {
            name: vm.name.clone(),
            backend: vm.backend,
            guest_mac,
            status,
            ifname: None,
            attach_error: "none".into(),
            skip_remove: false,
            reattach_next: None,
            reattach_done: false,
        });
    }
    let uses_ovs = vms.iter().any(|v| v.backend == ModelBackend::Ovs);
    let backend = if uses_ovs {
        Backend::Ovs
    } else {
        Backend::LinuxBridge
    };
    let sandbox = Sandbox::new(backend)
        .map_err(|e| CliError::bad_input(format!("cannot run the real network replay: {e}")))?;
    let naming = if config.tap_cleanup == TapCleanup::MonotonicNames {
        TapNaming::Monotonic
    } else {
        TapNaming::Kernel
    };
    let mut replayer = Replayer {
        sandbox,
        vms,
        naming: naming.clone(),
        steps: Vec::new(),
        trace,
        at: at.clone(),
    };
    replayer.setup()?;
    for index in 0..trace.steps.len() {
        replayer.step(index)?;
    }
    for i in 0..replayer.vms.len() {
        let actor = format!("api-{}", replayer.vms[i].name);
        replayer.finish_reattach(i, &actor)?;
    }
    let real = replayer
        .sandbox
        .observe()
        .map_err(|e| replayer.harness(e))?;
    let observed = replayer.observations(&real);
    let predicted: BTreeMap<String, String> = predicted
        .into_iter()
        .filter(|(k, _)| observed.contains_key(k))
        .collect();
    let agreed = observed.iter().all(|(k, v)| predicted.get(k) == Some(v));
    let environment = environment(backend, &naming);
    let Replayer { sandbox, steps, .. } = replayer;
    sandbox.close().map_err(|e| bad(format!("cleanup: {e}")))?;
    Ok(RealOutcome {
        model: "network".into(),
        scenario: scenario.name.clone(),
        variant: job.variant.clone(),
        case: job.case.clone(),
        predicted,
        observed,
        agreed,
        steps,
        environment,
    })
}

impl Replayer<'_> {
    /// A harness failure (not a result of the system under test): exit code 2.
    fn harness(&self, e: NetError) -> CliError {
        CliError::bad_input(format!("{}: real network replay failed: {e}", self.at))
    }

    fn apply(&mut self, op: &NetOp) -> Result<NetOutcome, CliError> {
        self.sandbox.apply(op).map_err(|e| self.harness(e))
    }

    fn log(&mut self, actor: &str, label: &str, action: String, result: String) {
        self.steps.push(RealStep {
            actor: actor.into(),
            label: label.into(),
            action,
            result,
        });
    }

    /// The model's initial state: VMs with `running: true` get a tap and are attached, in
    /// configuration order.
    fn setup(&mut self) -> Result<(), CliError> {
        for i in 0..self.vms.len() {
            if self.vms[i].status != "running" {
                continue;
            }
            self.tap_create(i, "setup")?;
            let label = match self.vms[i].backend {
                ModelBackend::Ovs => "ovs-add-port",
                ModelBackend::Bridge => "bridge-add-port",
            };
            self.attach(i, "setup", label)?;
            if self.vms[i].status != "running" {
                return Err(CliError::bad_input(format!(
                    "{}: setting up the initial state: VM {} could not attach ({})",
                    self.at, self.vms[i].name, self.vms[i].attach_error
                )));
            }
        }
        Ok(())
    }

    fn step(&mut self, index: usize) -> Result<(), CliError> {
        let step = &self.trace.steps[index];
        let (actor, label) = (step.actor.clone(), step.label.clone());
        let i = actor
            .strip_prefix("api-")
            .and_then(|name| self.vms.iter().position(|v| v.name == name))
            .ok_or_else(|| {
                CliError::bad_input(format!(
                    "{}: trace step {}: unknown actor `{actor}`",
                    self.at,
                    index + 1
                ))
            })?;
        let vm = self.vms[i].name.clone();
        if ATTACH_PHASE.contains(&label.as_str()) {
            return self.attach_phase(i, &actor, &label);
        }
        // A new op: a ReattachBridge the trace left early runs to its real end first.
        self.finish_reattach(i, &actor)?;
        self.vms[i].reattach_done = false;
        match label.as_str() {
            "tap-create" => self.tap_create(i, &actor)?,
            "qemu-exit" => {
                let result = self.apply(&NetOp::KillQemu { vm: vm.clone() })?;
                let action = format!(
                    "QEMU exits by itself: SIGKILL + waitpid of VM {vm}'s tap holder, before \
                     libvirt's stop begins"
                );
                self.log(&actor, &label, action, outcome(&result));
            }
            "monitor-eof" | "eof-event" => {
                let what = "no real action (libvirt's event thread / worker)";
                self.log(&actor, &label, what.into(), "-".into());
            }
            "kill" => {
                let result = self.apply(&NetOp::KillQemu { vm: vm.clone() })?;
                let action = format!("SIGKILL + waitpid of VM {vm}'s tap holder");
                self.log(&actor, &label, action, outcome(&result));
            }
            "stop-teardown" | "stop-inactive" => {
                self.log(&actor, &label, "no real action".into(), "-".into());
                let bridge = self.vms[i].backend == ModelBackend::Bridge;
                if label == "stop-teardown" && bridge {
                    self.end_stop(i);
                }
            }
            "exists" | "get-mac" => {
                let remove = self.check(i, &actor, &label)?;
                let model_removes = self.trace.steps[index + 1..]
                    .iter()
                    .find(|s| s.actor == actor)
                    .is_some_and(|s| s.label == "ovs-del-port");
                if !remove {
                    self.vms[i].skip_remove = model_removes;
                    self.end_stop(i);
                } else if !model_removes {
                    // The model kept the port here; the real check says remove, so libvirt's
                    // thread would run RemovePort next.
                    self.remove_port(i, &actor, "ovs-del-port (real check said remove)")?;
                    self.end_stop(i);
                }
            }
            "ovs-del-port" => {
                if std::mem::take(&mut self.vms[i].skip_remove) {
                    let why = "skipped: the real check decided to keep the port".into();
                    self.log(&actor, &label, why, "-".into());
                } else {
                    self.remove_port(i, &actor, &label)?;
                    self.end_stop(i);
                }
            }
            "check-and-del-port" => {
                if self.check(i, &actor, &label)? {
                    self.remove_port(i, &actor, &label)?;
                }
                self.end_stop(i);
            }
            other => {
                return Err(CliError::bad_input(format!(
                    "{}: trace step {}: label `{other}` is not a network-model step",
                    self.at,
                    index + 1
                )))
            }
        }
        Ok(())
    }

    /// A step of a start's attach: upstream's attach, or proposal A's ReattachBridge, whose
    /// steps are taken as the real answers decide (see the module docs).
    fn attach_phase(&mut self, i: usize, actor: &str, label: &str) -> Result<(), CliError> {
        if self.vms[i].reattach_done {
            let why = "skipped: the real virNetDevTapReattachBridge already finished";
            self.log(actor, label, why.into(), "-".into());
            return Ok(());
        }
        let expected = self.vms[i].reattach_next;
        match expected {
            None if label == "get-master" => self.reattach_step(i, actor, label),
            None => self.attach(i, actor, label),
            Some(next) if next == label => self.reattach_step(i, actor, label),
            Some(_) => {
                // The real ReattachBridge takes another path than the trace: it runs to its
                // end now, and the trace's remaining steps of it are skipped.
                self.finish_reattach(i, actor)?;
                self.vms[i].reattach_done = true;
                let why = "skipped: the real virNetDevTapReattachBridge took another path";
                self.log(actor, label, why.into(), "-".into());
                Ok(())
            }
        }
    }

    /// Runs the real ReattachBridge of VM `i` to its end, if one is under way.
    fn finish_reattach(&mut self, i: usize, actor: &str) -> Result<(), CliError> {
        while let Some(next) = self.vms[i].reattach_next {
            self.reattach_step(i, actor, next)?;
        }
        Ok(())
    }

    /// One real step of `virNetDevTapReattachBridge` and the real decision of what comes next.
    fn reattach_step(&mut self, i: usize, actor: &str, label: &str) -> Result<(), CliError> {
        let vm = self.vms[i].name.clone();
        let ifname = self.vms[i].ifname.clone().unwrap_or_default();
        let (wanted, attach) = match self.vms[i].backend {
            ModelBackend::Ovs => (OVS_BRIDGE, "ovs-add-port"),
            ModelBackend::Bridge => (LINUX_BRIDGE, "bridge-add-port"),
        };
        let next = match label {
            "get-master" | "iface-to-br" => {
                let (op, action) = if label == "get-master" {
                    let action = format!("virNetDevGetMaster({ifname}): IFLA_MASTER over netlink");
                    (NetOp::GetMaster { vm }, action)
                } else {
                    let action = format!("ovs-vsctl --timeout=5 iface-to-br {ifname}");
                    (NetOp::IfaceToBr { vm }, action)
                };
                let result = self.apply(&op)?;
                let master = match &result {
                    NetOutcome::Master(m) => m.clone(),
                    other => {
                        self.log(actor, label, action, outcome(other));
                        return Err(CliError::bad_input(format!(
                            "{}: VM {}: {label} failed ({}); the model has no such outcome",
                            self.at,
                            self.vms[i].name,
                            outcome(other)
                        )));
                    }
                };
                self.log(actor, label, action, outcome(&result));
                match master.as_deref() {
                    Some("ovs-system") if label == "get-master" => Some("iface-to-br"),
                    Some(m) if m == wanted => {
                        // "Nothing more todo if we're on the right bridge already".
                        self.vms[i].status = "running";
                        None
                    }
                    Some(OVS_BRIDGE) => Some("reattach-del-port"),
                    Some(_) => Some("bridge-del-port"),
                    None => Some(attach),
                }
            }
            "reattach-del-port" => {
                self.remove_port(i, actor, label)?;
                Some(attach)
            }
            "bridge-del-port" => {
                let result = self.apply(&NetOp::DetachBridge { vm })?;
                let action = format!("ioctl(SIOCBRDELIF, {LINUX_BRIDGE}, {ifname})");
                self.log(actor, label, action, outcome(&result));
                Some(attach)
            }
            _ => {
                self.attach(i, actor, label)?;
                None
            }
        };
        self.vms[i].reattach_next = next;
        Ok(())
    }

    /// `virNetDevTapCreate` plus the tap MAC (guest MAC with first byte 0xFE).
    fn tap_create(&mut self, i: usize, actor: &str) -> Result<(), CliError> {
        let vm = self.vms[i].name.clone();
        let op = NetOp::CreateTap {
            vm: vm.clone(),
            naming: self.naming.clone(),
            persist: false,
        };
        let result = self.apply(&op)?;
        let request = match self.naming {
            TapNaming::Monotonic => "vnet<++lastID> (libvirt counter)",
            _ => "vnet%d",
        };
        let action = format!("open /dev/net/tun, TUNSETIFF({request}) in a holder for VM {vm}");
        let NetOutcome::Tap(name) = &result else {
            let text = outcome(&result);
            self.log(actor, "tap-create", action, text.clone());
            return Err(CliError::bad_input(format!(
                "{}: VM {vm}: tap creation failed ({text}); the model has no such outcome",
                self.at
            )));
        };
        let tap_mac = format!("fe{}", &self.vms[i].guest_mac[2..]);
        self.sandbox
            .set_mac(name, &tap_mac)
            .map_err(|e| self.harness(e))?;
        let vm_state = &mut self.vms[i];
        vm_state.ifname = Some(name.clone());
        vm_state.attach_error = "none".into();
        let result = format!("{name}, MAC {tap_mac}");
        self.log(actor, "tap-create", action, result);
        Ok(())
    }

    /// AddPort or SIOCBRADDIF; a refused bridge attach kills the holder (start failed).
    fn attach(&mut self, i: usize, actor: &str, label: &str) -> Result<(), CliError> {
        let vm = self.vms[i].name.clone();
        let ifname = self.vms[i].ifname.clone().unwrap_or_default();
        let (op, action) = if label == "ovs-add-port" {
            let action = format!(
                "ovs-vsctl --timeout=5 -- --if-exists del-port {ifname} -- add-port ovsbr0 \
                 {ifname} -- set Interface {ifname} external-ids:vm-id={vm} ..."
            );
            (NetOp::AddPort { vm: vm.clone() }, action)
        } else {
            let action = format!("ioctl(SIOCBRADDIF, br0, {ifname})");
            (NetOp::AttachBridge { vm: vm.clone() }, action)
        };
        let result = self.apply(&op)?;
        self.log(actor, label, action, outcome(&result));
        match result {
            NetOutcome::Errno(errno) => {
                self.apply(&NetOp::KillQemu { vm: vm.clone() })?;
                let why = "libvirt's error path closes the tap fds: SIGKILL + waitpid of holder";
                self.log(actor, label, why.into(), "done".into());
                let vm_state = &mut self.vms[i];
                vm_state.status = "start-failed";
                vm_state.attach_error = errno.name().into();
                vm_state.ifname = None;
            }
            _ => self.vms[i].status = "running",
        }
        Ok(())
    }

    /// The variant's check on the VM's old name; true when the port is to be removed.
    fn check(&mut self, i: usize, actor: &str, label: &str) -> Result<bool, CliError> {
        let vm = self.vms[i].name.clone();
        let ifname = self.vms[i].ifname.clone().unwrap_or_default();
        let exists = match self.apply(&NetOp::CheckExists { vm })? {
            NetOutcome::Exists(e) => e,
            other => unreachable!("CheckExists answers Exists, not {other:?}"),
        };
        let (action, result, remove) = if label == "get-mac" {
            let mac = self.sandbox.mac(&ifname).map_err(|e| self.harness(e))?;
            let guest = &self.vms[i].guest_mac;
            let remove = mac.as_ref().is_none_or(|m| m == guest);
            let seen = mac.unwrap_or_else(|| "no device".into());
            (
                format!("virNetDevGetMAC({ifname}), compared with guest MAC {guest}"),
                format!("{seen}: {}", if remove { "remove" } else { "keep" }),
                remove,
            )
        } else {
            (
                format!("virNetDevExists({ifname}): if_nametoindex in the sandbox"),
                format!(
                    "exists={exists}: {}",
                    if exists { "keep" } else { "remove" }
                ),
                !exists,
            )
        };
        self.log(actor, label, action, result);
        Ok(remove)
    }

    fn remove_port(&mut self, i: usize, actor: &str, label: &str) -> Result<(), CliError> {
        let vm = self.vms[i].name.clone();
        let ifname = self.vms[i].ifname.clone().unwrap_or_default();
        let result = self.apply(&NetOp::RemovePort { vm })?;
        let action = format!("ovs-vsctl --timeout=5 -- --if-exists del-port {ifname}");
        self.log(actor, label, action, outcome(&result));
        Ok(())
    }

    /// The end of `qemuProcessStop`: shut off, the generated ifname is discarded.
    fn end_stop(&mut self, i: usize) {
        let vm = &mut self.vms[i];
        vm.status = "shutoff";
        vm.ifname = None;
    }

    /// The real state in the model's observation names.
    fn observations(&self, real: &NetObservation) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for vm in &self.vms {
            let n = &vm.name;
            let net = real.vms.get(n);
            let running = net.is_some_and(|v| v.running);
            let name = net.and_then(|v| v.ifname.as_deref());
            let connected = running
                && name.is_some_and(|name| {
                    let member = real.bridge_members.contains(name);
                    real.taps.contains(name)
                        && match vm.backend {
                            ModelBackend::Ovs => {
                                !member
                                    && real
                                        .ovs_ports
                                        .get(name)
                                        .is_some_and(|p| p.vm_id.as_deref() == Some(n.as_str()))
                            }
                            ModelBackend::Bridge => member,
                        }
                });
            out.insert(format!("{n}.state"), vm.status.to_string());
            let ifname = vm.ifname.clone().unwrap_or_else(|| "none".into());
            out.insert(format!("{n}.ifname"), ifname);
            out.insert(format!("{n}.connected"), connected.to_string());
            out.insert(format!("{n}.attach_error"), vm.attach_error.clone());
        }
        let stale = real
            .ovs_ports
            .iter()
            .filter(|(name, port)| {
                let owner = port.vm_id.as_deref().and_then(|id| real.vms.get(id));
                !owner.is_some_and(|o| o.running && o.ifname.as_deref() == Some(name.as_str()))
                    || !real.taps.contains(*name)
            })
            .count();
        out.insert("net.ports".into(), real.ovs_ports.len().to_string());
        out.insert("net.stale_ports".into(), stale.to_string());
        out.insert("net.taps".into(), real.taps.len().to_string());
        let bridged = real.bridge_members.len().to_string();
        out.insert("net.bridge_ports".into(), bridged);
        out
    }
}

/// A step result as text.
fn outcome(result: &NetOutcome) -> String {
    match result {
        NetOutcome::Tap(name) => name.clone(),
        NetOutcome::Done => "done".into(),
        NetOutcome::Errno(errno) => errno.to_string(),
        NetOutcome::Exists(e) => format!("exists={e}"),
        NetOutcome::Master(Some(m)) => format!("master {m}"),
        NetOutcome::Master(None) => "no master".into(),
    }
}

/// Kernel, Open vSwitch version, datapath and naming, for the report.
fn environment(backend: Backend, naming: &TapNaming) -> BTreeMap<String, String> {
    static STATIC: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let mut env = STATIC
        .get_or_init(|| {
            let mut env = BTreeMap::new();
            let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            env.insert("kernel".into(), kernel);
            let ovs = ["/usr/sbin/ovs-vswitchd", "ovs-vswitchd"]
                .iter()
                .find_map(|p| std::process::Command::new(p).arg("--version").output().ok())
                .and_then(|o| {
                    let text = String::from_utf8_lossy(&o.stdout);
                    text.lines().next().map(str::to_string)
                })
                .unwrap_or_else(|| "not installed".into());
            env.insert("openvswitch".into(), ovs);
            env
        })
        .clone();
    let datapath = match backend {
        Backend::Ovs => "OVS netdev (userspace) datapath + Linux bridge br0",
        Backend::LinuxBridge => "Linux bridge br0 only",
    };
    env.insert("sandbox".into(), datapath.into());
    env.insert("model datapath".into(), "netdev (userspace)".into());
    let naming = match naming {
        TapNaming::Monotonic => "libvirt counter (virNetDevGenerateName)",
        _ => "kernel vnet%d (lowest free)",
    };
    env.insert("tap naming".into(), naming.into());
    env
}
