//! The network model's state: the kernel's tap table, the OVS database's port rows, Linux bridge
//! membership, libvirt's name counter, and each VM's libvirt-side state and program counter.

use super::attach::Master;
use serde::{Serialize, Serializer};

/// A tap device name `vnet<N>`, stored as N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TapName(pub u16);

impl std::fmt::Display for TapName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "vnet{}", self.0)
    }
}

impl Serialize for TapName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A kernel tap device (never `IFF_PERSIST`: it dies with the last holder of its fds).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Tap {
    /// Its name.
    pub name: TapName,
    /// The VM (index into the configuration's `vms`) whose libvirtd fds, then QEMU, hold it;
    /// its MAC is that VM's guest MAC with the first byte 0xFE.
    pub holder: u8,
    /// A member of the Linux bridge (its master is the bridge). Whether OVS holds it is not
    /// stored: vswitchd takes any existing device that has a port row of its name.
    pub bridged: bool,
}

/// A row of the OVS database's Port/Interface tables.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OvsPort {
    /// The port's (and interface's) name.
    pub name: TapName,
    /// `external_ids:vm-id`: the VM whose AddPort wrote the row.
    pub vm_id: u8,
}

/// libvirt's view of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `VIR_DOMAIN_SHUTOFF`.
    Shutoff,
    /// `VIR_DOMAIN_RUNNING`; stays so during `qemuProcessStop` until its end.
    Running,
    /// `VIR_DOMAIN_SHUTOFF` with reason `failed`: the last start failed.
    StartFailed,
}

impl Status {
    /// The observation value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Shutoff => "shutoff",
            Status::Running => "running",
            Status::StartFailed => "start-failed",
        }
    }
}

/// One VM's libvirt-side state and where its API thread is in its program.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct VmState {
    /// Index of the current op in the program (`ops.len()` when done).
    pub pc: u8,
    /// Index of the next step within the current op's step list.
    pub step: u8,
    /// libvirt's domain state.
    pub status: Status,
    /// `net->ifname` while the domain is active (a generated name is freed when it stops or
    /// fails to start, so it is `None` then).
    pub ifname: Option<TapName>,
    /// The last start failed with `EBUSY` from `SIOCBRADDIF`.
    pub ebusy: bool,
    /// One of its RemovePorts deleted a row whose `vm-id` is another VM's (sticky).
    pub removed_foreign: bool,
    /// What the running `virNetDevTapReattachBridge` has seen of the new tap's master (proposal
    /// A); `none` outside it.
    pub master: Master,
}

/// The whole system state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct State {
    /// The kernel's tap devices, sorted by name.
    pub taps: Vec<Tap>,
    /// The OVS database's port rows, sorted by name.
    pub ovs_ports: Vec<OvsPort>,
    /// libvirt's `virNetDevGenNames[VNET].lastID + 1`, the next number the counter will try.
    pub next_id: u16,
    /// Each VM, in configuration order.
    pub vms: Vec<VmState>,
}
