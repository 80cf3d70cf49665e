//! The steps a VM's thread can take, each one real call that touches shared state, with the
//! labels traces use and the upstream function each stands for.

/// One step a VM's libvirt thread can take; each is one real call that touches shared state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// `virNetDevTapCreate`: open `/dev/net/tun`, `TUNSETIFF`, set the tap's MAC.
    TapCreate,
    /// `virNetDevOpenvswitchAddPort`: one `--if-exists del-port -- add-port -- set` transaction.
    OvsAddPort,
    /// `virNetDevBridgeAddPort`: `SIOCBRADDIF`; on failure the tap fds are closed.
    BridgeAddPort,
    /// `qemuProcessKill`: QEMU dies and the kernel deletes its (non-persistent) tap.
    Kill,
    /// The rest of `qemuProcessStop` between the kill and the per-NIC loop (cleanup callbacks,
    /// external devices, hooks, label restore): no tap or OVS state, but time passes.
    StopTeardown,
    /// `virNetDevGetMAC` on the old name (the `mac-check` variant).
    GetMac,
    /// `virNetDevExists` on the old name (the `exists-check` variant).
    Exists,
    /// `virNetDevOpenvswitchRemovePort`: `--if-exists del-port <ifname>`, by name only.
    RemovePort,
    /// Suggestion C: exists check and RemovePort under the lock `virNetDevTapCreate` takes.
    CheckAndRemovePort,
    /// `qemuDomainDestroyFlags` on a domain that is not running (its start failed): an error.
    /// For `qemu-exits` on such a domain there is no QEMU to exit: nothing happens either.
    StopInactive,
    /// Proposal A, `virNetDevTapReattachBridge`'s first call: `virNetDevGetMaster`, the tap's
    /// `IFLA_MASTER` over netlink (`ovs-system` for a kernel-datapath OVS port).
    GetMaster,
    /// `virNetDevOpenvswitchInterfaceGetMaster` (`ovs-vsctl iface-to-br`), called when the
    /// master is `ovs-system`: which OVS bridge has a port of the tap's name.
    IfaceToBr,
    /// `virNetDevTapReattachBridge` removing the tap from the OVS bridge it is on (not the one
    /// wanted): `virNetDevOpenvswitchRemovePort`, `--if-exists del-port <ifname>`.
    ReattachRemovePort,
    /// `virNetDevTapReattachBridge` removing the tap from a Linux bridge it is on (not the one
    /// wanted): `virNetDevBridgeRemovePort`, `SIOCBRDELIF`.
    BridgeRemovePort,
    /// QEMU exits by itself (guest poweroff, crash, an external kill): its fds close and the
    /// kernel deletes the non-persistent tap (`tun_chr_close`), before libvirt knows anything.
    QemuExit,
    /// `qemuProcessHandleMonitorEOF` on the event thread: the monitor's EOF, queued as a
    /// `QEMU_PROCESS_EVENT_MONITOR_EOF` job.
    MonitorEof,
    /// `processMonitorEOFEvent` in a worker: `qemuProcessBeginStopJob` (its `qemuProcessKill`
    /// finds QEMU gone), the crash bookkeeping, up to `qemuProcessStop`.
    EofEvent,
}

impl Step {
    /// The short, stable label traces use.
    pub fn label(self) -> &'static str {
        match self {
            Step::TapCreate => "tap-create",
            Step::OvsAddPort => "ovs-add-port",
            Step::BridgeAddPort => "bridge-add-port",
            Step::Kill => "kill",
            Step::StopTeardown => "stop-teardown",
            Step::GetMac => "get-mac",
            Step::Exists => "exists",
            Step::RemovePort => "ovs-del-port",
            Step::CheckAndRemovePort => "check-and-del-port",
            Step::StopInactive => "stop-inactive",
            Step::GetMaster => "get-master",
            Step::IfaceToBr => "iface-to-br",
            Step::ReattachRemovePort => "reattach-del-port",
            Step::BridgeRemovePort => "bridge-del-port",
            Step::QemuExit => "qemu-exit",
            Step::MonitorEof => "monitor-eof",
            Step::EofEvent => "eof-event",
        }
    }

    /// The upstream function the step stands for.
    pub fn upstream(self) -> &'static str {
        match self {
            Step::TapCreate => "virNetDevTapCreate",
            Step::OvsAddPort => "virNetDevOpenvswitchAddPort",
            Step::BridgeAddPort => "virNetDevBridgeAddPort",
            Step::Kill => "qemuProcessKill",
            Step::StopTeardown => "qemuProcessStop",
            Step::GetMac => "virNetDevGetMAC",
            Step::Exists => "virNetDevExists",
            Step::RemovePort => "virNetDevOpenvswitchRemovePort",
            Step::CheckAndRemovePort => "virNetDevExists+virNetDevOpenvswitchRemovePort",
            Step::StopInactive => "virDomainObjCheckActive",
            Step::GetMaster => "virNetDevGetMaster",
            Step::IfaceToBr => "virNetDevOpenvswitchInterfaceGetMaster",
            Step::ReattachRemovePort => "virNetDevOpenvswitchRemovePort",
            Step::BridgeRemovePort => "virNetDevBridgeRemovePort",
            Step::QemuExit => "tun_chr_close",
            Step::MonitorEof => "qemuProcessHandleMonitorEOF",
            Step::EofEvent => "processMonitorEOFEvent",
        }
    }
}
