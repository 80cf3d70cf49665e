//! `network`: libvirt's NIC setup and teardown racing across N VMs on one host (seed 004, the
//! 2020 tap-name reuse race), over the kernel's tap table, Open vSwitch and the Linux bridge.
//!
//! # Actors and steps
//!
//! VM `X` is driven by its own libvirt API thread, actor `api-X`, running the VM's `ops` in
//! order. Each step is one real call that touches shared kernel or OVS state; its label is
//! given after the arrow, its upstream function is in [`sim::StepInfo::upstream`]:
//!
//! * `start`: `virNetDevTapCreate` → `tap-create`, then `virNetDevOpenvswitchAddPort` →
//!   `ovs-add-port` or `virNetDevBridgeAddPort` → `bridge-add-port`. The domain is running after
//!   the attach, or start-failed if `SIOCBRADDIF` says `EBUSY`. With `tap_attach: reattach`
//!   (proposal A) the attach is `virNetDevTapReattachBridge`: `virNetDevGetMaster` →
//!   `get-master`; for `ovs-system`, `virNetDevOpenvswitchInterfaceGetMaster` → `iface-to-br`;
//!   if that is the wanted bridge it returns (running, no AddPort); if it is another one,
//!   `virNetDevOpenvswitchRemovePort` → `reattach-del-port` or `virNetDevBridgeRemovePort` →
//!   `bridge-del-port`; then the attach as above.
//! * `stop` (`qemuProcessStop`): `qemuProcessKill` → `kill` (the tap dies with QEMU), the rest of
//!   the stop up to the per-NIC loop → `stop-teardown`, then for an OVS NIC the variant's
//!   cleanup: `virNetDevOpenvswitchRemovePort` → `ovs-del-port`, preceded by `virNetDevGetMAC` →
//!   `get-mac` or `virNetDevExists` → `exists`, or replaced by the atomic →
//!   `check-and-del-port`. The domain is shut off at the end of the stop. A stop of a domain
//!   whose start failed is → `stop-inactive`.
//! * `qemu-exits` (guest poweroff, crash, an external kill): QEMU's exit closes the tap fds and
//!   the kernel deletes the tap (`tun_chr_close`) → `qemu-exit`; the monitor EOF on the event
//!   thread, `qemuProcessHandleMonitorEOF` → `monitor-eof`; the worker's
//!   `processMonitorEOFEvent` (stop job; its kill finds QEMU gone) → `eof-event`; then
//!   `qemuProcessStop` from `stop-teardown` on, as for `stop`. The name is free before
//!   `qemuProcessStop` starts: a wider window than `stop`'s. These steps are QEMU's, the event
//!   thread's and a worker's, one causing the next, so actor `api-X` stands for all of them.
//!
//! # Variants (`tap_cleanup`)
//!
//! * `unconditional`: pre-2020; RemovePort by name after the kill; kernel `vnet%d` names.
//! * `mac-check`: Bingsong Si's 2020 patch; GetMAC, then (separately) RemovePort if there is no
//!   device or its MAC equals `net->mac`. As the patch compares the tap's MAC with the *guest*
//!   MAC and libvirt gives taps the FE-prefixed guest MAC, a libvirt-made tap never matches:
//!   in effect "remove only if the device is gone", like `exists-check`.
//! * `exists-check`: Laine Stump's suggestion B; virNetDevExists, then RemovePort if absent.
//! * `atomic-check-and-remove`: suggestion C; exists+RemovePort in one step under a lock that
//!   `virNetDevTapCreate` also takes.
//! * `monotonic-names` (default, upstream since 95089f481e): names from libvirt's counter;
//!   unconditional RemovePort.
//!
//! # Variants (`tap_attach`, `datapath`)
//!
//! * `tap_attach: attach` (default, upstream) or `reattach` (Laine Stump's proposal A).
//! * `datapath: kernel` (default): a leftover port row takes a new device of its name at once
//!   and becomes its master (`ovs-system`), so `SIOCBRADDIF` gets `EBUSY` and GetMaster sees
//!   `ovs-system`; inferred from the kernel's code, not measurable on a host without
//!   `openvswitch.ko`. `datapath: netdev`: the userspace datapath as measured (Open vSwitch
//!   3.1): a row never masters a device, so neither happens.
//!
//! # Observations
//!
//! Per VM `X`, in configuration order:
//! * `X.state`: `running`, `shutoff` or `start-failed` (libvirt's view; a stop flips it at its
//!   end);
//! * `X.ifname`: `vnet<N>`, or `none` while the domain is not active;
//! * `X.connected`: its tap exists, is its own, and is attached for it (an OVS row with its
//!   `vm-id` holding the device, or Linux bridge membership);
//! * `X.attach_error`: `EBUSY` if the last start's `SIOCBRADDIF` failed, else `none`;
//! * `X.done`: its program is finished;
//! * `X.removed_foreign_port`: one of its RemovePorts deleted a row whose `vm-id` is another
//!   VM's (a port should only be removed by the VM that created it).
//!
//! Then `net.ports` (OVS port rows), `net.stale_ports` (rows whose `vm-id` VM does not hold a tap
//! of that name), `net.taps` (kernel taps), `net.bridge_ports` (Linux bridge members) and
//! `net.foreign_removal` (some VM's `removed_foreign_port`). [`Network::observation_reads`] gives
//! the shared objects each observation depends on, for properties' `reads`.
//!
//! # Departures from the real code
//!
//! * vswitchd takes a device the moment it appears when a row of its name exists; really it
//!   reacts to the netlink event a little later, so a `SIOCBRADDIF` issued right after the tap's
//!   creation could still win the device. The model lets the leftover row always win, so every
//!   real `EBUSY` is reachable, but not the end state "B bridged while A's leftover row names
//!   its device" (which has B connected, as other orders do).
//! * The tap's MAC is set in the step that creates it, and a failed bridge attach closes the
//!   tap's fds in the step that fails; both are calls on the VM's own new device.
//! * `monotonic-names`: the counter's mutex, the exists check and `TUNSETIFF` are one step (the
//!   counter hands out distinct numbers, so nothing can come between them that matters here);
//!   the counter never wraps.
//! * Suggestion C's lock is a footprint object, not state: both of its critical sections
//!   (tap creation; check and remove) are single steps, so holding it is implicit.
//! * `stop-teardown` stands for everything `qemuProcessStop` does between the kill and the
//!   per-NIC loop; it touches no network state but keeps the window as wide, in steps, as it is
//!   in the code, so that the check variants' narrower window shows in interleaving counts.
//! * Taps are never persistent, so a tap dies only when QEMU dies (`kill`, `qemu-exit`);
//!   nwfilter, bandwidth and ebtables state (also keyed by name) is left out.
//! * `connected` for an OVS NIC is judged by OVSDB (a row with the VM's `vm-id`), on both
//!   datapaths: the netdev datapath's half-broken data plane after a same-name reuse (frames
//!   from the tap are not received) is not modelled.
//! * There is one OVS bridge and one Linux bridge; `get-master` can only see those two (or
//!   `ovs-system`), so ReattachBridge's "another bridge" is always the other kind.
//! * A failed start runs no RemovePort: only Linux-bridge attaches fail, and `qemuProcessStop`
//!   does nothing for a Linux-bridge NIC on Linux.

mod attach;
mod cleanup;
mod config;
mod footprint;
mod host;
mod log;
mod model;
mod state;
mod step;

pub use attach::{Datapath, Master, TapAttach};
pub use cleanup::{Naming, TapCleanup};
pub use config::{Backend, Config, Mac, Op, VmConfig, MAX_OPS, MAX_VMS};
pub use model::{Action, Network};
pub use state::{OvsPort, State, Status, Tap, TapName, VmState};
pub use step::Step;

use crate::scenario::{ModelInfo, VariantAxis};

/// What `vmrace list` shows about the network model.
pub fn info() -> ModelInfo {
    ModelInfo {
        name: "network",
        summary: "libvirt NIC setup/teardown racing across VMs: kernel taps, OVS, Linux bridge",
        axes: vec![
            VariantAxis {
                key: "tap_cleanup",
                values: TapCleanup::VALUES.to_vec(),
            },
            VariantAxis {
                key: "tap_attach",
                values: TapAttach::VALUES.to_vec(),
            },
            VariantAxis {
                key: "datapath",
                values: Datapath::VALUES.to_vec(),
            },
        ],
    }
}
