//! The oracle side: a plain, deterministically ordered snapshot of the sandbox's network state
//! and the per-VM verdict derived from it.
//!
//! For OVS the verdict uses OVSDB state (port on the bridge whose interface carries the VM's
//! `vm-id`), not data-plane reachability: with the userspace datapath a reused name can be
//! half-broken in the data plane even while OVSDB is right (measured: with the userspace datapath, frames from B never reach the switch in that window; docs/real-replay.md), and
//! the race's decisive effect, the late `del-port`, is an OVSDB change.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{NetError, Result};
use super::ovs::OVS_BRIDGE;
use super::sandbox::{Backend, Sandbox, State, LINUX_BRIDGE};
use super::tools::{describe, run};

/// One OVS port on the sandbox's OVS bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvsPort {
    /// `external_ids:vm-id` of its interface: the VM that (last) plugged this name.
    pub vm_id: Option<String>,
    /// All `external_ids` of its interface (attached-mac, iface-id, vm-id, iface-status).
    pub external_ids: BTreeMap<String, String>,
}

/// What the harness knows about one VM's network side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmNet {
    /// The VM's last interface name (libvirt's `net->ifname`), also after its QEMU died.
    pub ifname: Option<String>,
    /// Whether the VM's "QEMU" (tap holder) is alive.
    pub running: bool,
}

/// Whether a VM ends up plugged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// Running, its tap exists, and it is an OVS port carrying its vm-id or a Linux bridge member.
    Connected,
    /// Anything else: stopped, tap gone, or its port removed (the race's victim).
    Disconnected,
}

/// Snapshot of a sandbox; every collection is ordered, so equal states serialise identically.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetObservation {
    /// The sandbox's backend.
    pub backend: Backend,
    /// OVS ports on the OVS bridge by name (empty for [`Backend::LinuxBridge`]).
    pub ovs_ports: BTreeMap<String, OvsPort>,
    /// Devices enslaved to the Linux bridge.
    pub bridge_members: BTreeSet<String>,
    /// Existing tap devices, excluding OVS's own (`ovs-netdev` and the OVS bridge port).
    pub taps: BTreeSet<String>,
    /// Every VM the trace has touched.
    pub vms: BTreeMap<String, VmNet>,
}

impl NetObservation {
    /// The verdict for `vm`; an unknown VM is [`Verdict::Disconnected`].
    pub fn verdict(&self, vm: &str) -> Verdict {
        let connected = self.vms.get(vm).is_some_and(|state| {
            let Some(ifname) = state.ifname.as_deref() else {
                return false;
            };
            let ovs_port = self
                .ovs_ports
                .get(ifname)
                .is_some_and(|port| port.vm_id.as_deref() == Some(vm));
            state.running
                && self.taps.contains(ifname)
                && (ovs_port || self.bridge_members.contains(ifname))
        });
        if connected {
            Verdict::Connected
        } else {
            Verdict::Disconnected
        }
    }

    /// Verdicts of all VMs, by name.
    pub fn verdicts(&self) -> BTreeMap<String, Verdict> {
        self.vms
            .keys()
            .map(|vm| (vm.clone(), self.verdict(vm)))
            .collect()
    }
}

impl Sandbox {
    /// Reads the current state: `ip -d -j link show` in the namespace and, for OVS,
    /// `ovs-vsctl list-ports` plus the interfaces' `external_ids`.
    pub fn observe(&self) -> Result<NetObservation> {
        let state = self.state();
        let (taps, bridge_members) = links(&state)?;
        let ovs_ports = match &state.ovs {
            Some(ovs) => ovs
                .ports()?
                .into_iter()
                .map(|(name, external_ids)| {
                    let vm_id = external_ids.get("vm-id").cloned();
                    let port = OvsPort {
                        vm_id,
                        external_ids,
                    };
                    (name, port)
                })
                .collect(),
            None => BTreeMap::new(),
        };
        let vms = state
            .vms
            .iter()
            .map(|(name, vm)| {
                let net = VmNet {
                    ifname: vm.ifname.clone(),
                    running: vm.holder.is_some(),
                };
                (name.clone(), net)
            })
            .collect();
        Ok(NetObservation {
            backend: self.backend(),
            ovs_ports,
            bridge_members,
            taps,
            vms,
        })
    }
}

/// Tap devices and Linux-bridge members in the sandbox namespace.
fn links(state: &State) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let mut cmd = state
        .tools
        .ip_in(&state.netns, &["-d", "-j", "link", "show"]);
    let out = run(&mut cmd)?;
    let parse_error = || NetError::Parse {
        command: describe(&cmd),
        detail: String::from_utf8_lossy(&out.stdout).into_owned(),
    };
    let links: Value = serde_json::from_slice(&out.stdout).map_err(|_| parse_error())?;
    let mut taps = BTreeSet::new();
    let mut members = BTreeSet::new();
    for link in links.as_array().ok_or_else(parse_error)? {
        let name = link["ifname"].as_str().ok_or_else(parse_error)?;
        let info = &link["linkinfo"];
        let is_tap = info["info_kind"] == "tun" && info["info_data"]["type"] == "tap";
        if is_tap && name != "ovs-netdev" && name != OVS_BRIDGE {
            taps.insert(name.to_string());
        }
        if link["master"] == LINUX_BRIDGE {
            members.insert(name.to_string());
        }
    }
    Ok((taps, members))
}
