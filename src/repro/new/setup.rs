//! The `setup:` of a scenario written from a log, per model: what the log's calls and
//! operations say about the domains (or VMs) and the program they run.

use super::Named;
use crate::repro::log::Entry;
use serde::Serialize;
use std::collections::BTreeMap;

/// A lifecycle setup: domains, one API thread per logged call, a supervisor for a signal
/// another program sent.
#[derive(Serialize)]
pub struct Lifecycle {
    /// The domains.
    pub domains: Vec<Domain>,
    /// The API threads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<Thread>,
    /// The supervisor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<Supervisor>,
}

/// A lifecycle domain.
#[derive(Serialize)]
pub struct Domain {
    /// Its name in the scenario.
    pub name: String,
    /// libvirt manages it (written only when it does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub libvirt: Option<bool>,
    /// QEMU runs with `-no-shutdown` (written only when it does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_shutdown: Option<bool>,
    /// The guest agent at the start (written only when there is none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
}

/// A domain's guest agent at the start.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    /// No agent channel.
    None,
}

/// An API thread running one call.
#[derive(Serialize)]
pub struct Thread {
    /// `api-N`.
    pub name: String,
    /// Its one op, `{reboot: {domain: A, mode: acpi}}`.
    pub ops: Vec<BTreeMap<Op, Call>>,
}

/// A lifecycle op.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// `virDomainReboot`.
    Reboot,
    /// `virDomainShutdownFlags`.
    Shutdown,
    /// `virDomainDestroyFlags`.
    Destroy,
    /// `virDomainCreate`.
    Start,
    /// `virDomainReset`.
    Reset,
}

/// A reboot or shutdown mode.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The ACPI power button.
    Acpi,
    /// The guest agent.
    Agent,
}

/// The arguments of a lifecycle op.
#[derive(Serialize)]
pub struct Call {
    /// The domain.
    pub domain: String,
    /// The reboot or shutdown mode (none: libvirt's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// A supervisor stopping a domain.
#[derive(Serialize)]
pub struct Supervisor {
    /// The domain.
    pub domain: String,
}

/// The lifecycle op for a logged call, and its mode.
pub fn lifecycle_op(event: &str) -> Option<(Op, Option<Mode>)> {
    Some(match event {
        "api:reboot" => (Op::Reboot, None),
        "api:reboot:acpi" => (Op::Reboot, Some(Mode::Acpi)),
        "api:reboot:agent" => (Op::Reboot, Some(Mode::Agent)),
        "api:shutdown" => (Op::Shutdown, None),
        "api:shutdown:acpi" => (Op::Shutdown, Some(Mode::Acpi)),
        "api:shutdown:agent" => (Op::Shutdown, Some(Mode::Agent)),
        "api:destroy" => (Op::Destroy, None),
        "api:start" => (Op::Start, None),
        "api:reset" => (Op::Reset, None),
        _ => return None,
    })
}

/// A network setup: one VM per domain the log starts or destroys, on OVS or a Linux bridge.
#[derive(Serialize)]
pub struct Network {
    /// The VMs.
    pub vms: Vec<Vm>,
}

/// A network VM.
#[derive(Serialize)]
pub struct Vm {
    /// Its name in the scenario.
    pub name: String,
    /// Its switch.
    pub backend: Backend,
    /// Running at the start (its first logged call stops it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub running: bool,
    /// Its calls, in log order.
    pub ops: Vec<NetOp>,
}

/// A VM's switch.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Open vSwitch.
    Ovs,
    /// A Linux bridge.
    Bridge,
}

/// A network VM's call.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetOp {
    /// `virDomainCreate`.
    Start,
    /// `virDomainDestroy`.
    Stop,
}

/// The network setup for `calls` (the log's starts and destroys, with their domains).
pub fn network(calls: &[(&Entry, &Named)], backend: Backend) -> Network {
    let mut vms: Vec<Vm> = Vec::new();
    for (e, name) in calls {
        let op = match e.event.as_str() {
            "api:start" => NetOp::Start,
            _ => NetOp::Stop,
        };
        match vms.iter_mut().find(|v| v.name == name.scenario) {
            Some(vm) => vm.ops.push(op),
            None => vms.push(Vm {
                name: name.scenario.clone(),
                backend,
                running: op == NetOp::Stop,
                ops: vec![op],
            }),
        }
    }
    Network { vms }
}

/// A migration setup: one disk to edit, the logged calls in order, the logged failure.
#[derive(Serialize)]
pub struct Migration {
    /// The disks.
    pub disks: Vec<Disk>,
    /// The calls, in log order.
    pub ops: Vec<MigrationOp>,
    /// The failure the log shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_after_inactivation: Option<Fault>,
}

/// A migration disk.
#[derive(Serialize)]
pub struct Disk {
    /// Its path in the domain XML.
    pub path: String,
}

/// A migration program's call.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationOp {
    /// `virsh migrate`.
    Migrate,
    /// `virsh resume`.
    Resume,
    /// `virsh suspend`.
    Suspend,
    /// A passed-through `cont`.
    Cont,
}

/// The failure injected after the images were inactivated.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The migration failed (`MIGRATION` `failed`).
    SocketError,
    /// The migration was cancelled (`MIGRATION` `cancelled`).
    Cancel,
}

/// The migration op for a logged call.
pub fn migration_op(event: &str) -> Option<MigrationOp> {
    Some(match event {
        "api:migrate" => MigrationOp::Migrate,
        "api:resume" => MigrationOp::Resume,
        "api:suspend" => MigrationOp::Suspend,
        "api:cont" => MigrationOp::Cont,
        _ => return None,
    })
}

/// The failure a logged event shows.
pub fn fault(event: &str) -> Option<Fault> {
    match event {
        "qmp:MIGRATION:failed" => Some(Fault::SocketError),
        "qmp:MIGRATION:cancelled" => Some(Fault::Cancel),
        _ => None,
    }
}
