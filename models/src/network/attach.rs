//! The variant axes `tap_attach` (how `virNetDevTapCreateInBridgePort` attaches the new tap:
//! Laine Stump's proposal A or not) and `datapath` (which Open vSwitch datapath the verdicts are
//! for), and what `virNetDevTapReattachBridge` reads and decides.

use super::config::Backend;
use super::step::Step;
use serde::Deserialize;

/// How `virNetDevTapCreateInBridgePort` attaches the tap it created.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TapAttach {
    /// Upstream: `virNetDevTapAttachBridge`, which adds the port without looking at where the
    /// device already is (OVS AddPort, or `SIOCBRADDIF`).
    #[default]
    Attach,
    /// Laine Stump's proposal A (libvir-list, June 2020): `virNetDevTapReattachBridge` instead.
    /// It reads the tap's master (`virNetDevGetMaster`; for `ovs-system` the OVS bridge through
    /// `virNetDevOpenvswitchInterfaceGetMaster`), returns at once when that is already the
    /// wanted bridge, removes the tap from any other bridge, then calls
    /// `virNetDevTapAttachBridge`.
    Reattach,
}

impl TapAttach {
    /// Every value with the code state it stands for, for `vmrace list`.
    pub const VALUES: [(&'static str, &'static str); 2] = [
        (
            "attach",
            "upstream virNetDevTapCreateInBridgePort: virNetDevTapAttachBridge",
        ),
        (
            "reattach",
            "Laine Stump's proposal A: virNetDevTapReattachBridge (GetMaster, remove, attach)",
        ),
    ];

    /// The steps of a `start` for a NIC on `backend`. Under `reattach` the steps between
    /// [`Step::GetMaster`] and the attach are taken only when the master seen asks for them
    /// (see [`applies`]).
    pub fn start_steps(self, backend: Backend) -> &'static [Step] {
        use Step::*;
        match (self, backend) {
            (TapAttach::Attach, Backend::Ovs) => &[TapCreate, OvsAddPort],
            (TapAttach::Attach, Backend::Bridge) => &[TapCreate, BridgeAddPort],
            (TapAttach::Reattach, Backend::Ovs) => &[
                TapCreate,
                GetMaster,
                IfaceToBr,
                ReattachRemovePort,
                BridgeRemovePort,
                OvsAddPort,
            ],
            (TapAttach::Reattach, Backend::Bridge) => &[
                TapCreate,
                GetMaster,
                IfaceToBr,
                ReattachRemovePort,
                BridgeRemovePort,
                BridgeAddPort,
            ],
        }
    }
}

/// Which Open vSwitch datapath backs the OVS bridge: what a leftover port row does to a new
/// device of its name.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Datapath {
    /// The kernel datapath (`openvswitch.ko`, what production hosts run). vswitchd adds a
    /// device to the datapath as soon as one with a row's name appears; the kernel's vport links
    /// it under the `ovs-system` device (`netdev_master_upper_dev_link`) and registers an rx
    /// handler, so `SIOCBRADDIF` on it gets `EBUSY` and `virNetDevGetMaster` says `ovs-system`. Inferred from the kernel's code, not
    /// measured here (no module on this machine).
    #[default]
    Kernel,
    /// The userspace datapath (`datapath_type=netdev`), as measured on this machine: vswitchd
    /// opens a new device of a row's name with a packet socket only, never as its master, so
    /// `SIOCBRADDIF` succeeds and `virNetDevGetMaster` finds no master.
    Netdev,
}

impl Datapath {
    /// Every value with what it stands for, for `vmrace list`.
    pub const VALUES: [(&'static str, &'static str); 2] = [
        (
            "kernel",
            "openvswitch.ko: a row's vport becomes the new tap's master (ovs-system)",
        ),
        (
            "netdev",
            "userspace datapath (measured here): a row never makes itself a master",
        ),
    ];
}

/// What `virNetDevTapReattachBridge` has learnt about the tap's master so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Master {
    /// No master (or not asked yet).
    #[default]
    None,
    /// `IFLA_MASTER` is `ovs-system`: some OVS bridge has it; `iface-to-br` says which.
    OvsSystem,
    /// `iface-to-br` named the OVS bridge.
    Ovs,
    /// `IFLA_MASTER` is the Linux bridge.
    Bridge,
}

impl Master {
    /// True when this is the bridge a NIC on `backend` wants: `virNetDevTapReattachBridge`
    /// then returns 0 at once ("Nothing more todo if we're on the right bridge already").
    pub fn is(self, backend: Backend) -> bool {
        matches!(
            (self, backend),
            (Master::Ovs, Backend::Ovs) | (Master::Bridge, Backend::Bridge)
        )
    }
}

/// Whether `step` of a reattaching start is taken, given the master seen so far: `iface-to-br`
/// only for `ovs-system`, each removal only from the bridge the tap is on; every other step is.
pub fn applies(step: Step, master: Master) -> bool {
    match step {
        Step::IfaceToBr => master == Master::OvsSystem,
        Step::ReattachRemovePort => master == Master::Ovs,
        Step::BridgeRemovePort => master == Master::Bridge,
        _ => true,
    }
}
