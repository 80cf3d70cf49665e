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
    /// Agent path: job(s) taken, `qemuDomainAgentAvailable`, fakeReboot written, then
    /// `qemuAgentCommand` writes `guest-sync` (`qemuAgentGuestSync`).
    AgentCall,
    /// `qemuAgentSend`'s 5 s wait for the sync reply expires ("Guest agent not available for
    /// now"); it races a rebooting guest's new qemu-ga.
    AgentSyncTimeout,
    /// `qemuAgentShutdown` returns (notified by an event, the agent closed, or an error): the
    /// job ends; a failed DEFAULT-mode call falls back to ACPI.
    AgentShutdownReturn,
    /// `qemuAgentShutdown`'s wait times out (fires only when nothing else can happen).
    AgentShutdownTimeout,
    /// Monitor path: normal job taken, fakeReboot written, QMP command sent.
    MonitorSend,
    /// The QMP reply arrived: `qemuDomainObjExitMonitor`, `virDomainObjEndJob`.
    MonitorReturn,
    /// `qemuProcessBeginStopJob`: beingDestroyed, SIGTERM to QEMU (`virProcessKillPainfully`).
    DestroyBegin,
    /// `virProcessKillPainfully`'s wait expires: SIGKILL (or, for a graceful destroy, the call
    /// fails).
    DestroySigkill,
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
    /// Reads the reply at the head of the monitor stream and wakes its waiter.
    MonitorReply,
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
    /// SIGHUP handling (today the same as SIGTERM).
    Sighup,
    /// A proposal-3 signal script runs: it writes `system_powerdown` to the monitor, or fails.
    SignalScript {
        /// The script succeeded.
        ok: bool,
    },
    /// A proposal's powerdown timeout fires: QEMU powers off as today.
    SigtermTimeout,
    /// SeaBIOS's resume path resets the machine once more (`qemu_system_reset`, guest-initiated).
    FirmwareReset,
    /// The VSERPORT_CHANGE throttle window ends (`monitor_qapi_event_handler`).
    ThrottleExpire,
    // --- the guest
    /// The kernel finished booting; qemu-ga starts and opens its port.
    GuestBoot,
    /// The power-button handler acts on KEY_POWER.
    PowerButton,
    /// qemu-ga answers a `guest-sync`; if libvirt still waits for it, libvirt's event thread
    /// wakes the caller and `qemuAgentCommand` writes `guest-shutdown` at once (host-side
    /// microseconds, one step here).
    GaSync,
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
    /// Steps that model timers (their footprint is everything).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Kind::AgentShutdownTimeout
                | Kind::AgentSyncTimeout
                | Kind::SigtermTimeout
                | Kind::SupervisorKill
                | Kind::DestroySigkill
        )
    }
}
