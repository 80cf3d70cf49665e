//! The step vocabulary: every step names the upstream function it stands for.

use super::state::{AgentIo, QmpCommand, QmpEvent};
use serde::Serialize;

/// One step: the actor taking it and what it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The actor (index into `Model::actors`).
    pub actor: u16,
    /// What it does.
    pub kind: Kind,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    // --- libvirt API threads
    /// Entry of an API call: decides the agent or the monitor path.
    ApiEntry,
    /// Agent path: agent job taken, checks done, fakeReboot written, `guest-shutdown` sent.
    AgentShutdownSend,
    /// `qemuAgentShutdown` returns (notified by an event, or the agent closed).
    AgentShutdownReturn,
    /// `qemuAgentShutdown` times out (fires only when nothing else can happen).
    AgentShutdownTimeout,
    /// Monitor path: normal job taken, fakeReboot written, QMP command sent.
    MonitorSend,
    /// The QMP reply arrived: `qemuDomainObjExitMonitor`, `virDomainObjEndJob`.
    MonitorReturn,
    /// `qemuProcessBeginStopJob`: beingDestroyed, SIGTERM to QEMU.
    DestroyBegin,
    /// QEMU is dead and the job acquired: `qemuProcessStop`.
    DestroyStop,
    /// `qemuProcessStart` up to the launch with `-S`.
    StartLaunch,
    /// `qemuProcessStartCPUs`: `cont`.
    StartCpus,
    /// A `wait` op's condition now holds.
    WaitDone,
    // --- per-domain event thread
    /// Dispatches the next QMP event.
    MonitorEvent(QmpEvent),
    /// Dispatches the next agent-socket notification.
    AgentEvent(AgentIo),
    // --- the qemu-event worker
    /// `processSerialChangedEvent`'s `qemuAgentNotifyClose` before it waits for the job.
    WorkerNotifyClose,
    /// Runs the job at the head of the FIFO.
    WorkerRun,
    // --- the reboot-<name> thread
    /// `qemuProcessFakeReboot`: job, `system_reset`.
    FakeRebootReset,
    /// `qemuProcessStartCPUs` in the fake reboot.
    FakeRebootCont,
    /// Cleanup of `qemuProcessFakeReboot`.
    FakeRebootDone,
    // --- QEMU
    /// The main loop dispatches a QMP command.
    Qmp(QmpCommand),
    /// `main_loop_should_exit` performs a requested reset (`qemu_system_reset`).
    SystemReset,
    /// `main_loop_should_exit` performs a guest shutdown request.
    SystemShutdown,
    /// `qemu_system_killed` → SIGTERM handling.
    Sigterm,
    /// The proposal's SIGTERM timeout fires (only when nothing else can happen).
    SigtermTimeout,
    /// The VSERPORT_CHANGE throttle window ends (`monitor_qapi_event_handler`).
    ThrottleExpire,
    // --- the guest
    /// The kernel finished booting; qemu-ga starts and opens its port.
    GuestBoot,
    /// The power-button handler acts on KEY_POWER.
    PowerButton,
    /// qemu-ga executes a buffered `guest-shutdown`.
    GaShutdown,
    /// The shutdown sequence stops qemu-ga (its port closes).
    StopServices,
    /// sync, then poweroff or reboot.
    GuestHalt,
    // --- supervisor
    /// The supervisor sends SIGTERM.
    SupervisorTerm,
    /// Its stop timeout expires: SIGKILL (fires only when nothing else can happen).
    SupervisorKill,
}

impl Kind {
    /// Steps that model timers: enabled only when no other step is (Spin's `timeout`).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Kind::AgentShutdownTimeout | Kind::SigtermTimeout | Kind::SupervisorKill
        )
    }
}
