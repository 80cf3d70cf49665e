//! The variant axis `tap_cleanup`: what `qemuProcessStop` does with an OVS NIC's port after QEMU
//! is dead, in each real (or proposed) code state, and the tap naming each state implies, beside
//! the decisions the variants change.

use super::config::{Backend, Mac};
use super::host;
use super::state::{State, TapName};
use super::step::Step;
use serde::Deserialize;

/// The code states of the OVS port cleanup, named after the patch or proposal they stand for.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TapCleanup {
    /// Before 2020: `virNetDevOpenvswitchRemovePort(bridge, net->ifname)` after the kill, with
    /// kernel-chosen (`vnet%d`, lowest free) tap names.
    Unconditional,
    /// Bingsong Si's 2020 patch: `virNetDevGetMAC(net->ifname)`, then RemovePort if that failed
    /// (no device) or the MAC equals `net->mac`; check and remove are separate steps.
    MacCheck,
    /// Laine Stump's suggestion B: `virNetDevExists(net->ifname)`, and RemovePort only if the
    /// device is gone; separate steps.
    ExistsCheck,
    /// Laine Stump's suggestion C: "exists? then RemovePort" as one step, mutually exclusive with
    /// `virNetDevTapCreate` (a lock both take).
    AtomicCheckAndRemove,
    /// What landed (95089f481e, libvirt 6.7.0): `virNetDevGenerateName` picks `vnet<N>` from a
    /// counter that only grows; RemovePort stays unconditional.
    #[default]
    MonotonicNames,
}

/// How tap names are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Naming {
    /// `TUNSETIFF("vnet%d")`: the kernel takes the lowest free number, reusing freed ones at once.
    LowestFree,
    /// `virNetDevGenerateName`: `++lastID`, skipping names that exist, then an explicit name.
    Monotonic,
}

impl TapCleanup {
    /// Every value with the code state it stands for, for `vmrace list`.
    pub const VALUES: [(&'static str, &'static str); 5] = [
        (
            "unconditional",
            "pre-2020 qemuProcessStop: RemovePort(ifname) after the kill; kernel vnet%d names",
        ),
        (
            "mac-check",
            "Bingsong Si's 2020 patch: virNetDevGetMAC, RemovePort if missing or MAC == net->mac",
        ),
        (
            "exists-check",
            "Laine Stump's suggestion B: RemovePort only if virNetDevExists says the tap is gone",
        ),
        (
            "atomic-check-and-remove",
            "Laine Stump's suggestion C: exists+RemovePort atomic, exclusive with TapCreate",
        ),
        (
            "monotonic-names",
            "95089f481e (libvirt 6.7.0): counter-generated tap names, unconditional RemovePort",
        ),
    ];

    /// The tap naming this code state implies.
    pub fn naming(self) -> Naming {
        match self {
            TapCleanup::MonotonicNames => Naming::Monotonic,
            _ => Naming::LowestFree,
        }
    }

    /// True when tap creation and the check-and-remove share a lock (suggestion C).
    pub fn locks_tap_create(self) -> bool {
        self == TapCleanup::AtomicCheckAndRemove
    }

    /// The steps `qemuProcessStop`'s per-NIC loop takes for a NIC on `backend` after the
    /// kill and the rest of the stop ([`Step::StopTeardown`]). A check that decides against
    /// removal ends the op early. On Linux `qemuProcessStop` neither detaches nor deletes a tap
    /// on a Linux bridge.
    pub fn stop_tail(self, backend: Backend) -> &'static [Step] {
        use Step::*;
        match (backend, self) {
            (Backend::Bridge, _) => &[],
            (Backend::Ovs, TapCleanup::Unconditional | TapCleanup::MonotonicNames) => &[RemovePort],
            (Backend::Ovs, TapCleanup::MacCheck) => &[GetMac, RemovePort],
            (Backend::Ovs, TapCleanup::ExistsCheck) => &[Exists, RemovePort],
            (Backend::Ovs, TapCleanup::AtomicCheckAndRemove) => &[CheckAndRemovePort],
        }
    }

    /// The decision of a check step ([`Step::GetMac`], [`Step::Exists`]) on `ifname`: true when
    /// the port is to be removed.
    pub(crate) fn should_remove(
        self,
        step: Step,
        state: &State,
        ifname: TapName,
        own_mac: Mac,
        tap_mac_of: impl Fn(u8) -> Mac,
    ) -> bool {
        let tap = host::tap(state, ifname);
        match step {
            // `virNetDevGetMAC(...) < 0 || !virMacAddrCmp(&mac, &net->mac)`. The tap's MAC is
            // the FE-prefixed guest MAC, so for a libvirt-made tap this never equals `net->mac`.
            Step::GetMac => tap.is_none_or(|t| tap_mac_of(t.holder) == own_mac),
            Step::Exists | Step::CheckAndRemovePort => tap.is_none(),
            _ => unreachable!("{step:?} is not a check"),
        }
    }
}
