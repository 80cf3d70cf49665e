//! The lifecycle model's state: libvirt's domain object and threads, QEMU, the guest, and the
//! channels between them. Plain values; every field is part of the state.

use serde::Serialize;
use sim::Channel;

/// libvirt's view of a domain's state (`virDomainObjGetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomState {
    /// RUNNING.
    Running,
    /// PAUSED.
    Paused,
    /// SHUTDOWN: the guest powered off, QEMU not yet gone.
    Shutdown,
    /// SHUTOFF.
    Shutoff,
}

/// QEMU's runstate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Started with `-S`, or reset from a stopped state.
    Prelaunch,
    /// Running.
    Running,
    /// Stopped after a guest poweroff under `-no-shutdown`.
    Shutdown,
    /// The process has exited.
    Exited,
}

/// A QMP event, as libvirt's monitor reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QmpEvent {
    /// SHUTDOWN; `guest` is QMP's `guest` field.
    Shutdown {
        /// Guest-initiated.
        guest: bool,
    },
    /// RESET.
    Reset {
        /// Guest-initiated.
        guest: bool,
    },
    /// STOP.
    Stop,
    /// RESUME.
    Resume,
    /// VSERPORT_CHANGE for the agent channel.
    VserportChange {
        /// The guest side is open.
        open: bool,
    },
    /// The monitor socket reached EOF (QEMU exited).
    MonitorEof,
}

/// What the monitor socket delivers to libvirt's event thread, in QEMU's write order: events
/// and command replies share one stream (`qemuMonitorIO` → `qemuMonitorJSONIOProcessLine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MonitorMsg {
    /// A QMP event: its callback runs on the event thread.
    Event(QmpEvent),
    /// The reply to the command actor `to` sent; dispatching it wakes that waiter
    /// (`msg->finished`, `virCondBroadcast(&mon->notify)`).
    Reply {
        /// The waiting actor.
        to: u16,
    },
}

/// What the agent socket delivers to libvirt's event thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentIo {
    /// An I/O error (`qemuAgentIO` → errorNotify).
    Error,
    /// HUP/EOF: only when QEMU exits (measured).
    Eof,
}

/// Where libvirt's one agent message in flight (`agent->msg`) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentMsg {
    /// `qemuAgentGuestSync`: `guest-sync` written, waiting up to 5 s for its reply.
    Sync,
    /// `guest-shutdown` written; waiting for the awaited event (no reply on success).
    Shutdown,
    /// The wait ended (`msg->finished`): `ok` is the call's success.
    Finished {
        /// `qemuAgentCommand` returned 0.
        ok: bool,
    },
}

/// A QMP command libvirt sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QmpCommand {
    /// `system_powerdown`: press the ACPI power button.
    SystemPowerdown,
    /// `system_reset`: request a reset (RESET follows asynchronously).
    SystemReset,
    /// `cont`.
    Cont,
}

/// A guest-agent request libvirt wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GaRequest {
    /// `guest-sync` (libvirt's `qemuAgentGuestSync` before every command).
    Sync,
    /// `guest-shutdown mode=reboot`.
    Reboot,
    /// `guest-shutdown mode=powerdown`.
    Powerdown,
}

/// What the guest is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuestPower {
    /// Not running (QEMU not started, or stopped after poweroff).
    Off,
    /// Kernel up, services starting (qemu-ga not yet running).
    Booting,
    /// Up.
    Up,
    /// Taking a poweroff down.
    PoweringOff,
    /// Taking a reboot down.
    Rebooting,
}

/// The guest's file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fs {
    /// Mounted and in use.
    InUse,
    /// Synced and unmounted by an orderly shutdown.
    Clean,
    /// The machine died without syncing.
    Dirty,
}

/// One guest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Guest {
    /// Power state.
    pub power: GuestPower,
    /// An ACPI button press not yet handled.
    pub button: bool,
    /// Agent requests QEMU forwarded into the guest, not yet read by qemu-ga (lost when the
    /// guest resets or powers off).
    pub inbox: Channel<GaRequest>,
    /// qemu-ga runs and has the port open.
    pub ga_running: bool,
    /// The request that took the shutdown lock (first wins), if any.
    pub acted: Option<Acted>,
    /// The first request delivered (for the `first` policy).
    pub first_request: Option<Acted>,
    /// Requests the guest has taken since the scenario started (never reset).
    pub taken: u8,
    /// File system state.
    pub fs: Fs,
    /// Completed boots since the scenario started (a boot in progress at the start not counted).
    pub boots: u8,
    /// SeaBIOS will take its resume path and reset the machine once more before the kernel
    /// boots (measured: extra `RESET{guest: true}` after every warm reset).
    pub firmware_reset: bool,
    /// The boot in progress is the one the scenario started in.
    pub initial_boot: bool,
}

/// Which request the guest acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Acted {
    /// The ACPI power button: poweroff.
    Acpi,
    /// qemu-ga `guest-shutdown mode=reboot`.
    AgentReboot,
    /// qemu-ga `guest-shutdown mode=powerdown`.
    AgentPowerdown,
}

/// One QEMU process (and its successors after a restart).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Qemu {
    /// Runstate; `Exited` once the process is gone.
    pub run: RunState,
    /// Which start this process belongs to (`def->id`).
    pub instance: u8,
    /// QMP commands not yet processed (the monitor socket: FIFO), with the actor waiting for each reply.
    pub commands: Channel<(QmpCommand, u16)>,
    /// A `guest-sync` written while the agent port was closed: QEMU does not read the chardev
    /// then, so it waits in the socket for the next qemu-ga (measured: stale sync replies).
    pub sync_backlog: bool,
    /// `system_reset` requested, not yet performed by the main loop.
    pub reset_requested: bool,
    /// The guest requested poweroff (`qemu_system_shutdown_request`).
    pub shutdown_requested: bool,
    /// The guest requested a reset.
    pub guest_reset_requested: bool,
    /// A SIGTERM is pending.
    pub sigterm: bool,
    /// A SIGHUP is pending.
    pub sighup: bool,
    /// A proposal-3 signal script was spawned and has not yet run.
    pub script: bool,
    /// A signal was turned into a powerdown and its timer is armed (proposal variants).
    pub sigterm_timer: bool,
    /// The agent port's frontend is open (unthrottled state, `query-chardev`).
    pub port_open: bool,
    /// VSERPORT_CHANGE throttle window active.
    pub throttled: bool,
    /// A coalesced VSERPORT_CHANGE waiting for the window to end (lost if QEMU exits).
    pub throttle_pending: Option<bool>,
}

impl Qemu {
    /// A QEMU process as started: instance `instance`, in runstate `run`, its agent port open
    /// or not, nothing pending.
    pub fn started(instance: u8, run: RunState, port_open: bool) -> Qemu {
        Qemu {
            run,
            instance,
            commands: Channel::fifo(),
            sync_backlog: false,
            reset_requested: false,
            shutdown_requested: false,
            guest_reset_requested: false,
            sigterm: false,
            sighup: false,
            script: false,
            sigterm_timer: false,
            port_open,
            throttled: false,
            throttle_pending: None,
        }
    }
}

/// libvirt's domain object and per-domain threads' queues.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Libvirt {
    /// Domain state.
    pub state: DomState,
    /// `priv->fakeReboot`.
    pub fake_reboot: bool,
    /// `priv->pausedShutdown`.
    pub paused_shutdown: bool,
    /// `priv->agent != NULL`.
    pub agent: bool,
    /// `priv->agentError`.
    pub agent_error: bool,
    /// `priv->beingDestroyed`.
    pub being_destroyed: bool,
    /// Normal job holder (actor index).
    pub job: Option<u16>,
    /// Agent job holder.
    pub agent_job: Option<u16>,
    /// Agent channel state as libvirt records it (CONNECTED?).
    pub channel_connected: bool,
    /// The event `qemuAgentShutdown` waits for (`agent->await_event`), until notified.
    pub await_event: Option<AwaitEvent>,
    /// The agent message in flight (`agent->msg`), if a thread is inside `qemuAgentCommand`.
    pub agent_msg: Option<AgentMsg>,
    /// The `guest-shutdown` that call writes once its sync is answered.
    pub agent_request: Option<GaRequest>,
    /// `qemuAgentNotifyClose` ran: `agent->running` is false, new commands fail at once.
    pub agent_closing: bool,
    /// Monitor messages QEMU wrote, not yet dispatched by the event thread.
    pub monitor: Channel<MonitorMsg>,
    /// The actor whose QMP reply the event thread delivered, not yet picked up.
    pub mon_reply: Option<u16>,
    /// The monitor saw EOF or was closed (`mon->lastError`): waiters wake with an error and
    /// new commands fail at once.
    pub mon_dead: bool,
    /// Agent-socket I/O not yet dispatched.
    pub agent_io: Channel<AgentIo>,
    /// libvirt sent SIGTERM because SHUTDOWN arrived with fakeReboot false.
    pub killed: bool,
    /// REBOOT lifecycle events emitted (RESET handled).
    pub reboots: u8,
}

/// The event an agent shutdown waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AwaitEvent {
    /// QEMU_AGENT_EVENT_SHUTDOWN.
    Shutdown,
    /// QEMU_AGENT_EVENT_RESET.
    Reset,
}

/// One domain: libvirt's side, QEMU, the guest, and its fake-reboot thread.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Domain {
    /// libvirt.
    pub libvirt: Libvirt,
    /// QEMU.
    pub qemu: Qemu,
    /// The guest.
    pub guest: Guest,
    /// The `reboot-<name>` thread's program counter (`None`: not running).
    pub fake_reboot_thread: Option<FakeRebootPc>,
}

/// Where the fake-reboot thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FakeRebootPc {
    /// Spawned; waits for the job.
    Spawned,
    /// Sent `system_reset`.
    ResetSent,
    /// Sent `cont`.
    ContSent,
}

/// A job for the single `qemu-event` worker thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerJob {
    /// `processSerialChangedEvent`.
    SerialChanged {
        /// Domain index.
        domain: u8,
        /// New state.
        connected: bool,
        /// `qemuAgentNotifyClose` already done (the first half of the handler).
        notified: bool,
    },
    /// `processMonitorEOFEvent`.
    MonitorEof {
        /// Domain index.
        domain: u8,
    },
}

/// An API thread's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ApiThread {
    /// Index of the current op.
    pub op: u8,
    /// Position inside the op's steps.
    pub pc: ApiPc,
}

/// Where an API call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiPc {
    /// Before the call's entry point.
    Entry,
    /// Agent path: waiting for the agent job (and, in libvirt 4.x–5.x, the normal job).
    AgentJob,
    /// Agent path: inside `qemuAgentShutdown` (sync, `guest-shutdown`, the wait).
    AgentWait,
    /// Monitor path: waiting for the normal job.
    MonitorJob,
    /// Monitor path: a QMP command sent, waiting for its reply.
    MonitorWait,
    /// Destroy: `virProcessKillPainfully` sent SIGTERM and waits for QEMU to die (SIGKILL when
    /// its timeout expires), then for the job.
    DestroyWait,
    /// Start: QEMU launched with -S, `cont` to send.
    StartCpus,
}

/// The supervisor's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SupervisorPc {
    /// About to send SIGTERM.
    Stop,
    /// SIGTERM sent; waiting for exit or its timeout.
    Waiting,
    /// Done (QEMU exited or was killed).
    Done,
}

/// The whole state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct State {
    /// The domains.
    pub domains: Vec<Domain>,
    /// The `qemu-event` worker's FIFO, shared by every domain.
    pub worker: Channel<WorkerJob>,
    /// The API threads.
    pub threads: Vec<ApiThread>,
    /// The supervisor, if configured.
    pub supervisor: Option<SupervisorPc>,
}
