//! What a lifecycle scenario sets up: domains, the API threads' programs, the guest's behaviour,
//! a supervisor, and the variant axes (each named after a real code state).

use serde::Deserialize;

/// The whole setup, as a scenario's `setup:` section spells it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The domains (usually one).
    pub domains: Vec<DomainConfig>,
    /// libvirt API threads, each running its program in order.
    #[serde(default)]
    pub threads: Vec<ThreadConfig>,
    /// A process supervisor that stops QEMU with signals (seed 002).
    #[serde(default)]
    pub supervisor: Option<SupervisorConfig>,
    /// Where `qemuDomainSetFakeReboot(false)` sits on the agent paths.
    #[serde(default)]
    pub fake_reboot: FakeRebootVariant,
    /// Where fakeReboot is cleared after a SHUTDOWN is turned into a reboot.
    #[serde(default)]
    pub fake_reboot_clear: FakeRebootClear,
    /// Where `agentError` is cleared.
    #[serde(default)]
    pub agent_error: AgentErrorVariant,
    /// Which jobs the agent paths take (by libvirt era).
    #[serde(default)]
    pub jobs: JobsEra,
    /// What QEMU does on SIGTERM (today, or one of LP#1754656's proposals).
    #[serde(default)]
    pub qemu_sigterm: SigtermVariant,
    /// Whether a proposal's SIGTERM powerdown falls back to a poweroff after a timeout.
    #[serde(default)]
    pub sigterm_timeout: SigtermTimeout,
    /// When the long timers (a supervisor's stop timeout, a SIGTERM powerdown timeout,
    /// `virProcessKillPainfully`'s SIGKILL) may fire.
    #[serde(default)]
    pub timeouts: Timeouts,
}

impl Config {
    /// Refuses domains or threads that share a name (a domain is named by its observations and
    /// its threads' ops, a thread by its actor).
    pub fn validate(&self) -> Result<(), String> {
        crate::scenario::distinct_names("domains", self.domains.iter().map(|d| d.name.as_str()))?;
        crate::scenario::distinct_names("threads", self.threads.iter().map(|t| t.name.as_str()))
    }
}

/// One domain.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// Its name (observations are prefixed with it).
    pub name: String,
    /// Whether libvirt manages it (false: a bare QEMU under a supervisor).
    #[serde(default = "yes")]
    pub libvirt: bool,
    /// QEMU's `-no-shutdown` (libvirt always passes it).
    #[serde(default = "yes")]
    pub no_shutdown: bool,
    /// The guest agent at the start.
    #[serde(default)]
    pub agent: AgentStart,
    /// How the guest treats the ACPI power button.
    #[serde(default)]
    pub acpi: AcpiBehaviour,
    /// Which shutdown request the guest honours when several arrive.
    #[serde(default)]
    pub guest_policy: GuestPolicy,
    /// Faults injected into this domain.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// The firmware QEMU boots (how many RESET events a reboot produces).
    #[serde(default)]
    pub firmware: Firmware,
    /// QEMU was started with the proposal-1 switch `-graceful-shutdown-on-sigterm`.
    #[serde(default)]
    pub graceful_switch: bool,
}

/// The guest firmware (measured on QEMU 7.2).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Firmware {
    /// qboot: exactly one RESET per reboot or `system_reset`.
    #[default]
    Qboot,
    /// SeaBIOS (libvirt's default for BIOS guests): after every warm reset it takes its resume
    /// path and resets the machine once more, an extra `RESET{guest: true}` after `cont`.
    Seabios,
}

fn yes() -> bool {
    true
}

/// The guest agent's state when the scenario starts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AgentStart {
    /// qemu-ga runs and libvirt is connected (`priv->agent` set).
    #[default]
    Connected,
    /// qemu-ga is still starting: the port opens later and libvirt connects on VSERPORT_CHANGE.
    Starting,
    /// No agent channel.
    None,
}

/// How the guest reacts to the ACPI power button.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AcpiBehaviour {
    /// Powers off in an orderly way.
    #[default]
    Honour,
    /// Logs the button and does nothing.
    Ignore,
}

/// Which of several shutdown requests the guest acts on.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum GuestPolicy {
    /// Any pending request may win the race for the shutdown lock (measured: both happen).
    #[default]
    Any,
    /// Only the first request delivered is acted on (the seed-000 table's simplification).
    First,
}

/// An injected fault.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// An agent I/O error (`qemuProcessHandleAgentError`) before anything else happens.
    AgentError,
}

/// One libvirt API thread.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadConfig {
    /// Its name, e.g. `api-1`.
    pub name: String,
    /// The calls it makes, in order.
    pub ops: Vec<Op>,
}

/// One API call (or a wait) of a thread.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// `virDomainReboot`.
    Reboot {
        /// Domain name.
        domain: String,
        /// Reboot mode.
        #[serde(default)]
        mode: Mode,
    },
    /// `virDomainShutdownFlags`.
    Shutdown {
        /// Domain name.
        domain: String,
        /// Shutdown mode.
        #[serde(default)]
        mode: Mode,
    },
    /// `virDomainDestroyFlags`.
    Destroy {
        /// Domain name.
        domain: String,
        /// `VIR_DOMAIN_DESTROY_GRACEFUL`: SIGTERM only, never SIGKILL.
        #[serde(default)]
        graceful: bool,
    },
    /// `virDomainCreate`.
    Start {
        /// Domain name.
        domain: String,
    },
    /// `virDomainReset`.
    Reset {
        /// Domain name.
        domain: String,
    },
    /// Blocks until a condition holds (models "a user runs the next command after …").
    Wait {
        /// Domain name.
        domain: String,
        /// The condition.
        until: WaitFor,
    },
}

/// The mode flags of reboot and shutdown.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `VIR_DOMAIN_REBOOT_DEFAULT` (flags == 0): the agent if connected, else ACPI.
    #[default]
    Default,
    /// `..._ACPI_POWER_BTN`.
    Acpi,
    /// `..._GUEST_AGENT`.
    Agent,
}

/// What a `wait` op waits for.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitFor {
    /// libvirt has an agent connection (`priv->agent != NULL`).
    AgentConnected,
    /// The domain is shut off.
    Shutoff,
    /// The guest has taken a shutdown or reboot request.
    GuestActed,
}

/// A supervisor (systemd, runit, …) that stops a bare QEMU.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    /// The domain it supervises.
    pub domain: String,
    /// Whether it escalates to SIGKILL when its stop timeout expires.
    #[serde(default = "yes")]
    pub sigkill_on_timeout: bool,
    /// The signal it stops QEMU with.
    #[serde(default)]
    pub signal: StopSignal,
}

/// The signal a supervisor sends.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM (every supervisor's stop).
    #[default]
    #[serde(rename = "SIGTERM")]
    Sigterm,
    /// SIGHUP (a "reload"; QEMU today treats it like SIGTERM).
    #[serde(rename = "SIGHUP")]
    Sighup,
}

/// Where the agent paths clear fakeReboot (commit b0c144c5792 and the 2018 proposal).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum FakeRebootVariant {
    /// Upstream since 2015: both `qemuDomainRebootAgent` and `qemuDomainShutdownFlagsAgent`
    /// call `qemuDomainSetFakeReboot(vm, false)`.
    #[default]
    #[serde(rename = "b0c144c5792")]
    B0c144c5792,
    /// The 2018 proposal: the agent *reboot* path leaves fakeReboot alone; the agent shutdown
    /// path still clears it (the 2015 reboot-then-shutdown fix).
    #[serde(rename = "revert-b0c144c5792")]
    Revert,
}

/// Where libvirt clears fakeReboot once it acts on it (the history of `qemuProcessShutdownOrReboot` and `qemuProcessHandleReset`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum FakeRebootClear {
    /// Current code: `qemuProcessHandleReset` and the reboot thread's cleanup clear it.
    #[default]
    #[serde(rename = "on-reset")]
    OnReset,
    /// libvirt ≤ 6.x (the seed's era): `qemuProcessShutdownOrReboot` clears it before spawning
    /// the reboot thread; the RESET handler leaves it alone.
    #[serde(rename = "before-thread")]
    BeforeThread,
}

/// Where `priv->agentError` is cleared (the 2016 series "qemu: agent: unset error flag").
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum AgentErrorVariant {
    /// libvirt before ~2.5: `processSerialChangedEvent(DISCONNECTED)` and `qemuProcessStop`
    /// clear it, both only inside `if (priv->agent)`; EOF (which sets `priv->agent = NULL`)
    /// and start leave it.
    #[default]
    #[serde(rename = "pre-2.5")]
    Pre25,
    /// Patch 1: `qemuProcessHandleAgentEOF` also clears it.
    #[serde(rename = "clear-on-eof")]
    ClearOnEof,
    /// Patch 3: start (`qemuConnectAgent`) clears it.
    #[serde(rename = "clear-on-start")]
    ClearOnStart,
    /// Current libvirt: the EOF handler clears it and `qemuProcessStop` clears it
    /// unconditionally.
    #[serde(rename = "current")]
    Current,
}

impl AgentErrorVariant {
    /// `qemuProcessHandleAgentEOF` sets `agentError = false`.
    pub fn clears_on_eof(self) -> bool {
        matches!(self, Self::ClearOnEof | Self::Current)
    }
}

/// Which jobs the agent paths of reboot and shutdown take.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum JobsEra {
    /// libvirt 6.x and later: `qemuDomainRebootAgent` / `qemuDomainShutdownFlagsAgent` take
    /// only the agent job, so an ACPI call's monitor job runs beside them.
    #[default]
    #[serde(rename = "split")]
    Split,
    /// libvirt 4.x–5.x: `qemuDomainObjBeginJobWithAgent(MODIFY, AGENT_MODIFY)` takes both jobs
    /// at once, so the agent call excludes every normal job until `qemuAgentShutdown` returns.
    #[serde(rename = "with-agent")]
    WithAgent,
}

/// When the long timers may fire.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Timeouts {
    /// Only when nothing else can happen (Spin's `timeout`): every guest finishes its orderly
    /// shutdown within the timeout.
    #[default]
    WhenIdle,
    /// At any point after they are armed: a guest may need longer than the timeout.
    Race,
}

/// What QEMU does on SIGTERM and SIGHUP: today, or one of the four proposals of LP#1754656.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum SigtermVariant {
    /// Today (`qemu_system_killed`, for SIGTERM, SIGHUP and SIGINT alike):
    /// SHUTDOWN{guest:false, reason:host-signal}, then exit; the guest is not told.
    #[default]
    #[serde(rename = "sigterm-poweroff")]
    Poweroff,
    /// Proposal 0: SIGTERM means an ACPI powerdown (`system_powerdown`) by default.
    #[serde(rename = "p0-powerdown")]
    PowerdownByDefault,
    /// Proposal 1: a `-graceful-shutdown-on-sigterm` switch; without it, today's behaviour.
    #[serde(rename = "p1-switch")]
    Switch,
    /// Proposal 2: a signal → monitor command map (`-signal SIGTERM,monitorcommand=
    /// system_powerdown -signal SIGHUP,monitorcommand=system_reset`).
    #[serde(rename = "p2-signal-map")]
    SignalMap,
    /// Proposal 3: a script per signal, which writes `system_powerdown` to the monitor; the
    /// script can fail, leaving QEMU running for the supervisor's SIGKILL.
    #[serde(rename = "p3-script")]
    Script,
}

/// Whether a proposal's powerdown has a timeout (the report: "both 2 and 3 should probably
/// provide configurable timeout after which QEMU would perform default action").
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SigtermTimeout {
    /// No timeout: QEMU waits for the guest forever.
    #[default]
    None,
    /// After the timeout QEMU powers off as today (SHUTDOWN host-signal, exit).
    PoweroffAfterTimeout,
}
