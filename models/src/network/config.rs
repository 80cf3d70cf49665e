//! What a network scenario sets up: the VMs (backend, MAC, whether already running, the program
//! their libvirt API thread runs) and which code state of libvirt's tap cleanup to model.

use super::attach::{Datapath, TapAttach};
use super::cleanup::TapCleanup;
use serde::Deserialize;

/// Most VMs a configuration may have (VM indices are stored in a byte).
pub const MAX_VMS: usize = 8;

/// Most operations one VM's program may have.
pub const MAX_OPS: usize = 32;

/// The whole setup, as a scenario's `setup:` section spells it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The VMs, each with one NIC; observations are prefixed with their names.
    pub vms: Vec<VmConfig>,
    /// The code state of `qemuProcessStop`'s OVS port cleanup (and, for `monotonic-names`, of
    /// tap naming). Defaults to today's upstream.
    #[serde(default)]
    pub tap_cleanup: TapCleanup,
    /// How the new tap is attached (proposal A or not). Defaults to upstream's
    /// `virNetDevTapAttachBridge`.
    #[serde(default)]
    pub tap_attach: TapAttach,
    /// Which OVS datapath the verdicts are for. Defaults to the kernel datapath.
    #[serde(default)]
    pub datapath: Datapath,
}

/// One VM with one `<interface type='bridge'>` NIC.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    /// The domain's name (`A`, `web-1`); no dots or spaces, since observations are dotted.
    pub name: String,
    /// What the tap is plugged into.
    pub backend: Backend,
    /// The guest MAC (`<mac address=…>`), `52:54:00:00:00:0N` (N = position, from 1) if absent.
    /// Two VMs may share one: libvirt does not require uniqueness.
    #[serde(default)]
    pub mac: Option<String>,
    /// Whether the domain is already running when the scenario starts (with a tap named and
    /// attached in VM order, as if started one after the other).
    #[serde(default)]
    pub running: bool,
    /// The API calls its own libvirt thread (actor `api-<name>`) makes, in order.
    #[serde(default)]
    pub ops: Vec<Op>,
}

/// Where a VM's tap is attached.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// An Open vSwitch bridge (`<virtualport type='openvswitch'/>`):
    /// `virNetDevOpenvswitchAddPort` on start, `virNetDevOpenvswitchRemovePort` on stop.
    Ovs,
    /// A Linux host bridge: `virNetDevBridgeAddPort` (`SIOCBRADDIF`) on start; on Linux
    /// `qemuProcessStop` leaves the detach to the kernel, which unlinks a deleted tap.
    Bridge,
}

/// One API call of a VM's thread.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// `virDomainCreate`: `qemuProcessStart`, whose NIC setup is `virNetDevTapCreateInBridgePort`.
    Start,
    /// `virDomainDestroy`: `qemuProcessStop` (kill first, NIC teardown after).
    Stop,
    /// QEMU exits by itself (guest poweroff, crash, an external kill): the tap dies with it, then
    /// monitor EOF → `qemuProcessHandleMonitorEOF` → `processMonitorEOFEvent` →
    /// `qemuProcessStop` (the same NIC teardown as `stop`).
    QemuExits,
}

impl Op {
    /// The name scenarios use.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Stop => "stop",
            Op::QemuExits => "qemu-exits",
        }
    }
}

/// A MAC address as six bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Parses `xx:xx:xx:xx:xx:xx`, refusing what libvirt refuses for a guest NIC on a bridge.
    pub fn parse(text: &str) -> Result<Mac, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let bytes: Option<Vec<u8>> = (parts.len() == 6)
            .then(|| {
                parts
                    .iter()
                    .map(|p| {
                        (p.len() == 2)
                            .then(|| u8::from_str_radix(p, 16).ok())
                            .flatten()
                    })
                    .collect()
            })
            .flatten();
        let Some(bytes) = bytes else {
            return Err(format!(
                "`{text}` is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)"
            ));
        };
        let mac = Mac([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]]);
        if mac.0[0] & 1 != 0 {
            return Err(format!(
                "`{text}` is a multicast MAC address; libvirt expects a unicast one"
            ));
        }
        if mac.0[0] == 0xFE {
            return Err(format!(
                "`{text}` starts with the reserved value 0xFE, which libvirt refuses for a \
                 guest NIC (virNetDevTapCreateInBridgePort uses it for the tap's own MAC)"
            ));
        }
        Ok(mac)
    }

    /// The MAC `virNetDevTapCreateInBridgePort` gives the tap itself: the guest's with the first
    /// byte set to 0xFE ("Discourage bridge from using TAP dev MAC").
    pub fn tap_mac(self) -> Mac {
        let mut bytes = self.0;
        bytes[0] = 0xFE;
        Mac(bytes)
    }
}

/// A validated VM: its configuration with the MAC parsed.
#[derive(Clone, Debug)]
pub(crate) struct Vm {
    pub name: String,
    pub backend: Backend,
    pub mac: Mac,
    pub running: bool,
    pub ops: Vec<Op>,
}

impl Config {
    /// Checks the configuration and parses MACs; every message names the VM and what to change.
    pub(crate) fn validate(&self) -> Result<Vec<Vm>, String> {
        if self.vms.is_empty() {
            return Err("`vms` is empty: a network scenario needs at least one VM".to_string());
        }
        if self.vms.len() > MAX_VMS {
            return Err(format!(
                "`vms` has {} entries; the network model supports at most {MAX_VMS}",
                self.vms.len()
            ));
        }
        crate::scenario::distinct_names("vms", self.vms.iter().map(|vm| vm.name.as_str()))?;
        let mut vms = Vec::with_capacity(self.vms.len());
        for (i, vm) in self.vms.iter().enumerate() {
            let name = &vm.name;
            if name.is_empty() || name.contains(['.', ' ', '\t', '\n']) {
                return Err(format!(
                    "vms[{i}].name: `{name}` must be non-empty without dots or spaces \
                     (observations are named `<vm>.state`)"
                ));
            }
            let mac = match &vm.mac {
                Some(text) => Mac::parse(text).map_err(|e| format!("vm `{name}`: {e}"))?,
                None => Mac([0x52, 0x54, 0x00, 0x00, 0x00, i as u8 + 1]),
            };
            if vm.ops.len() > MAX_OPS {
                return Err(format!(
                    "vm `{name}`: {} ops; at most {MAX_OPS} are supported",
                    vm.ops.len()
                ));
            }
            check_program(name, vm.running, &vm.ops)?;
            vms.push(Vm {
                name: name.clone(),
                backend: vm.backend,
                mac,
                running: vm.running,
                ops: vm.ops.clone(),
            });
        }
        Ok(vms)
    }
}

/// A program must alternate: `start` only when the domain would be shut off, `stop` or
/// `qemu-exits` only when it would be running (assuming every start succeeds; a stop after a
/// failed start is a no-op).
fn check_program(name: &str, running: bool, ops: &[Op]) -> Result<(), String> {
    let mut up = running;
    for (i, op) in ops.iter().enumerate() {
        let after = if i == 0 {
            if running {
                "it starts `running: true`".to_string()
            } else {
                "it starts shut off".to_string()
            }
        } else {
            format!("op {i} ({})", ops[i - 1].as_str())
        };
        match (op, up) {
            (Op::Start, true) => {
                return Err(format!(
                    "vm `{name}`: op {} (start) would start a running domain, after {after}; \
                     put a `stop` before it",
                    i + 1
                ))
            }
            (Op::Stop | Op::QemuExits, false) => {
                return Err(format!(
                    "vm `{name}`: op {} ({}) would stop a shut-off domain, after {after}; \
                     put a `start` before it or set `running: true`",
                    i + 1,
                    op.as_str()
                ))
            }
            (Op::Start, false) => up = true,
            (Op::Stop | Op::QemuExits, true) => up = false,
        }
    }
    Ok(())
}
