//! The lifecycle model: libvirt's qemu driver (API threads, the per-domain event thread, the
//! shared `qemu-event` worker, the fake-reboot thread), QEMU (QMP, main loop, signals,
//! VSERPORT_CHANGE throttling), the guest with qemu-ga, and a process supervisor. Seeds 000
//! (fakeReboot and repeated reboots), 001 (agentError across shutdown and start) and 002
//! (SIGTERM to a supervised QEMU).
//!
//! Observations (per domain `D`): `D.state` (libvirt: running/paused/shutdown/shutoff, or
//! `unmanaged`), `D.qemu` (prelaunch/running/shutdown/exited), `D.guest`
//! (off/booting/up/powering-off/rebooting), `D.fs` (in-use/clean/dirty), `D.boots`,
//! `D.resets` (REBOOT events libvirt emitted), `D.killed` (libvirt SIGTERMed QEMU after
//! SHUTDOWN), `D.fake_reboot`, `D.agent_connected`, `D.agent_error`, `D.agent_available`
//! (`qemuDomainAgentAvailable`), `D.acted` (none/acpi/agent-reboot/agent-powerdown) and
//! `D.result` (REBOOT/SHUTDOWN/RUNNING/PAUSED, the seed-000 table's vocabulary).

mod api;
pub mod config;
mod events;
mod fake_reboot;
mod guest;
mod log;
mod qemu;
pub mod state;
pub mod step;
mod supervisor;
mod worker;

use crate::scenario::{ModelInfo, Obs, Observable, VariantAxis};
use config::{AgentStart, Config, Fault, Mode, Op, Timeouts, WaitFor};
use sim::{ActorId, Channel, Footprint, Model, Property, StepInfo};
use state::*;
use step::{Kind, Step};

/// Actors per domain: event thread, QEMU, guest, fake-reboot thread.
const PER_DOMAIN: usize = 4;
const EVENT: usize = 0;
const QEMU: usize = 1;
const GUEST: usize = 2;
const REBOOT: usize = 3;

/// What an API thread does, with names resolved to indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Reboot(Mode),
    Shutdown(Mode),
    Destroy { graceful: bool },
    Start,
    Reset,
    Wait(WaitFor),
}

/// The model of one scenario setup.
pub struct Lifecycle {
    config: Config,
    programs: Vec<Vec<(Call, u8)>>,
    supervised: Option<u8>,
}

impl Lifecycle {
    /// Validates `config` and builds the model.
    pub fn new(config: Config) -> Result<Self, String> {
        if config.domains.is_empty() {
            return Err("`domains` must name at least one domain".into());
        }
        config.validate()?;
        let index = |name: &str| -> Result<u8, String> {
            config
                .domains
                .iter()
                .position(|d| d.name == name)
                .map(|i| i as u8)
                .ok_or_else(|| {
                    let known: Vec<&str> = config.domains.iter().map(|d| d.name.as_str()).collect();
                    format!("unknown domain `{name}`; domains are {}", known.join(", "))
                })
        };
        let mut programs = Vec::new();
        for t in &config.threads {
            let mut program = Vec::new();
            for op in &t.ops {
                let (call, domain) = match op {
                    Op::Reboot { domain, mode } => (Call::Reboot(*mode), domain),
                    Op::Shutdown { domain, mode } => (Call::Shutdown(*mode), domain),
                    Op::Destroy { domain, graceful } => (
                        Call::Destroy {
                            graceful: *graceful,
                        },
                        domain,
                    ),
                    Op::Start { domain } => (Call::Start, domain),
                    Op::Reset { domain } => (Call::Reset, domain),
                    Op::Wait { domain, until } => (Call::Wait(*until), domain),
                };
                let d = index(domain)?;
                if !config.domains[d as usize].libvirt && !matches!(call, Call::Wait(_)) {
                    return Err(format!(
                        "thread `{}`: domain `{domain}` is not managed by libvirt (libvirt: false)",
                        t.name
                    ));
                }
                program.push((call, d));
            }
            programs.push(program);
        }
        let supervised = match &config.supervisor {
            Some(s) => Some(index(&s.domain)?),
            None => None,
        };
        if config.threads.len() + config.domains.len() * PER_DOMAIN + 2 > u16::MAX as usize {
            return Err("too many actors".into());
        }
        Ok(Lifecycle {
            config,
            programs,
            supervised,
        })
    }

    /// What `vmrace list` says about this model.
    pub fn info() -> ModelInfo {
        ModelInfo {
            name: "lifecycle",
            summary: "libvirt qemu driver + QEMU + guest/qemu-ga + supervisor (seeds 000, 001, 002)",
            axes: vec![
                VariantAxis {
                    key: "fake_reboot",
                    values: vec![
                        ("b0c144c5792", "both agent paths call qemuDomainSetFakeReboot(false) (upstream since 2015)"),
                        ("revert-b0c144c5792", "the agent reboot path leaves fakeReboot alone (2018 proposal)"),
                    ],
                },
                VariantAxis {
                    key: "fake_reboot_clear",
                    values: vec![
                        ("on-reset", "qemuProcessHandleReset and the reboot thread clear fakeReboot (current code)"),
                        ("before-thread", "qemuProcessShutdownOrReboot clears it before spawning the thread (libvirt <= 6.x)"),
                    ],
                },
                VariantAxis {
                    key: "agent_error",
                    values: vec![
                        ("pre-2.5", "processSerialChangedEvent and qemuProcessStop clear agentError, both only while priv->agent is set"),
                        ("clear-on-eof", "qemuProcessHandleAgentEOF also clears it (2016 series, patch 1)"),
                        ("clear-on-start", "qemuConnectAgent at start clears it (2016 series, patch 3)"),
                        ("current", "EOF clears it and qemuProcessStop clears it unconditionally (current libvirt)"),
                    ],
                },
                VariantAxis {
                    key: "jobs",
                    values: vec![
                        ("split", "the agent paths take only the agent job (libvirt 6.x and later)"),
                        ("with-agent", "qemuDomainObjBeginJobWithAgent: the agent paths take the normal and the agent job at once (libvirt 4.x-5.x)"),
                    ],
                },
                VariantAxis {
                    key: "qemu_sigterm",
                    values: vec![
                        ("sigterm-poweroff", "qemu_system_killed: SHUTDOWN host-signal and exit (QEMU today)"),
                        ("p0-powerdown", "LP#1754656 proposal 0: SIGTERM means system_powerdown by default"),
                        ("p1-switch", "proposal 1: SIGTERM means system_powerdown with -graceful-shutdown-on-sigterm"),
                        ("p2-signal-map", "proposal 2: SIGTERM -> system_powerdown, SIGHUP -> system_reset"),
                        ("p3-script", "proposal 3: a script per signal writes system_powerdown, or fails"),
                    ],
                },
                VariantAxis {
                    key: "sigterm_timeout",
                    values: vec![
                        ("none", "a proposal's powerdown waits for the guest forever"),
                        ("poweroff-after-timeout", "after a timeout QEMU powers off as today"),
                    ],
                },
                VariantAxis {
                    key: "timeouts",
                    values: vec![
                        ("when-idle", "long timers fire only when nothing else can: guests finish within them"),
                        ("race", "long timers may fire at any point: a guest may need longer"),
                    ],
                },
            ],
        }
    }

    fn domains(&self) -> usize {
        self.config.domains.len()
    }

    fn worker_actor(&self) -> u16 {
        (self.domains() * PER_DOMAIN) as u16
    }

    fn thread_actor(&self, t: usize) -> u16 {
        self.worker_actor() + 1 + t as u16
    }

    fn supervisor_actor(&self) -> u16 {
        self.thread_actor(self.programs.len())
    }

    fn domain_actor(&self, d: usize, role: usize) -> u16 {
        (d * PER_DOMAIN + role) as u16
    }

    fn step(&self, actor: u16, kind: Kind) -> Step {
        Step { actor, kind }
    }
}

/// Sends a QMP command (`qemuMonitorSend`). It fails at once when the monitor already has an
/// error; a QEMU that has exited never reads it, and the waiter wakes on the monitor's EOF.
pub(crate) fn send_command(dom: &mut Domain, command: QmpCommand, from: u16) {
    if !dom.libvirt.mon_dead && dom.qemu.run != RunState::Exited {
        dom.qemu.commands.send((command, from));
    }
}

/// Whether the monitor call of actor `me` has returned: its reply was delivered, or the
/// monitor failed.
pub(crate) fn monitor_returned(dom: &Domain, me: u16) -> bool {
    dom.libvirt.mon_reply == Some(me) || dom.libvirt.mon_dead
}

/// Picks up the monitor call's result (`qemuDomainObjExitMonitor`): true when its reply came.
pub(crate) fn take_reply(dom: &mut Domain, me: u16) -> bool {
    let ok = dom.libvirt.mon_reply == Some(me);
    if ok {
        dom.libvirt.mon_reply = None;
    }
    ok
}

/// Writes a QMP event to libvirt's monitor socket (if libvirt manages the domain and its
/// monitor is open).
pub(crate) fn emit(dom: &mut Domain, managed: bool, event: QmpEvent) {
    if managed && dom.libvirt.state != DomState::Shutoff {
        dom.libvirt.monitor.send(MonitorMsg::Event(event));
    }
}

/// Writes the reply to a command of actor `to`, after every event QEMU wrote before it.
pub(crate) fn reply(dom: &mut Domain, managed: bool, to: u16) {
    if managed && dom.libvirt.state != DomState::Shutoff {
        dom.libvirt.monitor.send(MonitorMsg::Reply { to });
    }
}

/// libvirt writes an agent request to the agent socket. QEMU forwards it into the guest while
/// the port is open; while it is closed QEMU does not read the chardev, so a `guest-sync` waits
/// in the socket for the next qemu-ga (measured: stale sync replies). `guest-shutdown` is
/// written only together with the sync reply that proved the port open, so it reaches the
/// qemu-ga that answered.
pub(crate) fn ga_write(dom: &mut Domain, request: GaRequest) {
    if dom.qemu.port_open {
        dom.guest.inbox.send(request);
        let acted = match request {
            GaRequest::Sync => return,
            GaRequest::Reboot => Acted::AgentReboot,
            GaRequest::Powerdown => Acted::AgentPowerdown,
        };
        dom.guest.first_request.get_or_insert(acted);
    } else if request == GaRequest::Sync {
        dom.qemu.sync_backlog = true;
    }
}

/// The guest side of the agent port opens or closes: QEMU's `set_guest_connected`, with the
/// monitor's one-per-second throttle on VSERPORT_CHANGE (measured: coalesced, lost on exit).
pub(crate) fn port_change(dom: &mut Domain, managed: bool, open: bool) {
    if dom.qemu.port_open == open {
        return;
    }
    dom.qemu.port_open = open;
    if dom.qemu.throttled {
        dom.qemu.throttle_pending = Some(open);
    } else {
        dom.qemu.throttled = true;
        emit(dom, managed, QmpEvent::VserportChange { open });
    }
}

/// QEMU exits: the guest dies where it stands (its file system dirty unless synced), pending
/// throttled events are lost, and libvirt sees EOF on the monitor and agent sockets.
pub(crate) fn qemu_exit(dom: &mut Domain, managed: bool) {
    dom.qemu = Qemu::started(dom.qemu.instance, RunState::Exited, false);
    if dom.guest.fs == Fs::InUse {
        dom.guest.fs = Fs::Dirty;
    }
    dom.guest.power = GuestPower::Off;
    dom.guest.ga_running = false;
    dom.guest.button = false;
    dom.guest.inbox.clear();
    dom.guest.firmware_reset = false;
    if managed && dom.libvirt.state != DomState::Shutoff {
        dom.libvirt
            .monitor
            .send(MonitorMsg::Event(QmpEvent::MonitorEof));
        if dom.libvirt.agent {
            dom.libvirt.agent_io.send(AgentIo::Eof);
        }
    }
}

impl Model for Lifecycle {
    type State = State;
    type Action = Step;

    fn name(&self) -> String {
        "lifecycle".into()
    }

    /// 2: sockets and queues became `sim::Channel`s. 3: one ordered monitor stream of events
    /// and replies, the agent's guest-sync, jobs by era, firmware resets, signal proposals.
    fn version(&self) -> u32 {
        3
    }

    fn actors(&self) -> Vec<String> {
        let mut names = Vec::new();
        for d in &self.config.domains {
            for role in ["event", "qemu", "guest", "reboot"] {
                names.push(format!("{role}-{}", d.name));
            }
        }
        names.push("qemu-event".into());
        names.extend(self.config.threads.iter().map(|t| t.name.clone()));
        if self.supervised.is_some() {
            names.push("supervisor".into());
        }
        names
    }

    fn init_states(&self) -> Vec<State> {
        let domains = self
            .config
            .domains
            .iter()
            .map(|c| {
                let agent = c.agent == AgentStart::Connected;
                let channel = c.agent != AgentStart::None;
                let mut dom = Domain {
                    libvirt: Libvirt {
                        state: if c.libvirt {
                            DomState::Running
                        } else {
                            DomState::Shutoff
                        },
                        fake_reboot: false,
                        paused_shutdown: false,
                        agent: agent && c.libvirt,
                        agent_error: false,
                        being_destroyed: false,
                        job: None,
                        agent_job: None,
                        channel_connected: agent && c.libvirt,
                        await_event: None,
                        agent_msg: None,
                        agent_request: None,
                        agent_closing: false,
                        monitor: Channel::fifo(),
                        mon_reply: None,
                        mon_dead: false,
                        agent_io: Channel::fifo(),
                        killed: false,
                        reboots: 0,
                    },
                    qemu: Qemu::started(1, RunState::Running, agent),
                    guest: Guest {
                        power: if channel && !agent {
                            GuestPower::Booting
                        } else {
                            GuestPower::Up
                        },
                        initial_boot: channel && !agent,
                        button: false,
                        inbox: Channel::fifo(),
                        ga_running: agent,
                        acted: None,
                        first_request: None,
                        taken: 0,
                        fs: Fs::InUse,
                        boots: 0,
                        firmware_reset: false,
                    },
                    fake_reboot_thread: None,
                };
                if c.faults.contains(&Fault::AgentError) && c.libvirt {
                    dom.libvirt.agent_io.send(AgentIo::Error);
                }
                dom
            })
            .collect();
        vec![State {
            domains,
            worker: Channel::fifo(),
            threads: self
                .programs
                .iter()
                .map(|_| ApiThread {
                    op: 0,
                    pc: ApiPc::Entry,
                })
                .collect(),
            supervisor: self.supervised.map(|_| SupervisorPc::Stop),
        }]
    }

    fn actions(&self, state: &State, out: &mut Vec<Step>) {
        let start = out.len();
        for t in 0..self.programs.len() {
            api::enabled(self, state, t, out);
        }
        for d in 0..self.domains() {
            events::enabled(self, state, d, out);
            qemu::enabled(self, state, d, out);
            guest::enabled(self, state, d, out);
            fake_reboot::enabled(self, state, d, out);
        }
        worker::enabled(self, state, out);
        supervisor::enabled(self, state, out);
        // Long timers fire only when nothing else can happen (Spin's `timeout`), or at any
        // point when the scenario lets them race.
        if out.len() == start || self.config.timeouts == Timeouts::Race {
            self.long_timers(state, out);
        }
        if out.len() == start {
            for t in 0..self.programs.len() {
                api::idle_timeouts(self, state, t, out);
            }
        }
    }

    fn next_state(&self, state: &State, step: &Step) -> State {
        let mut s = state.clone();
        let actor = step.actor as usize;
        if actor < self.domains() * PER_DOMAIN {
            let d = actor / PER_DOMAIN;
            match actor % PER_DOMAIN {
                EVENT => events::apply(self, &mut s, d, &step.kind),
                QEMU => qemu::apply(self, &mut s, d, &step.kind),
                GUEST => guest::apply(self, &mut s, d, &step.kind),
                _ => fake_reboot::apply(self, &mut s, d, &step.kind),
            }
        } else if step.actor == self.worker_actor() {
            worker::apply(self, &mut s, &step.kind);
        } else if self.supervised.is_some() && step.actor == self.supervisor_actor() {
            supervisor::apply(self, &mut s, &step.kind);
        } else {
            let t = (step.actor - self.thread_actor(0)) as usize;
            api::apply(self, &mut s, t, &step.kind);
        }
        s
    }

    fn step_info(&self, step: &Step) -> StepInfo {
        let (label, upstream) = label(step);
        StepInfo {
            actor: step.actor as ActorId,
            label: label.to_string(),
            upstream: Some(upstream.to_string()),
        }
    }

    fn actor_of(&self, step: &Step) -> ActorId {
        step.actor as ActorId
    }

    fn properties(&self) -> Vec<Property<Self>> {
        Vec::new()
    }

    fn footprint(&self, _state: &State, step: &Step) -> Footprint {
        if step.kind.is_timeout() {
            return Footprint::ALL;
        }
        self.actor_footprint(step.actor)
    }

    fn future_footprint(&self, _state: &State, actor: ActorId) -> Footprint {
        self.actor_footprint(actor)
    }

    fn is_done(&self, state: &State) -> bool {
        state
            .threads
            .iter()
            .zip(&self.programs)
            .all(|(t, p)| t.op as usize >= p.len())
            && match (state.supervisor, self.supervised) {
                (Some(SupervisorPc::Waiting), Some(d)) => {
                    state.domains[d as usize].qemu.run == RunState::Exited
                }
                (Some(pc), _) => pc == SupervisorPc::Done,
                (None, _) => true,
            }
    }
}

impl Lifecycle {
    /// The timers a scenario's `timeouts` setting governs.
    fn long_timers(&self, state: &State, out: &mut Vec<Step>) {
        for t in 0..self.programs.len() {
            api::timeouts(self, state, t, out);
        }
        for d in 0..self.domains() {
            qemu::timeouts(self, state, d, out);
        }
        supervisor::timeouts(self, state, out);
    }

    /// Shared objects: each domain's libvirt object, QEMU and guest, and the worker FIFO. Steps
    /// of one domain touch its three objects (the coarse choice is sound; it only keeps
    /// reduction to independence between domains).
    fn actor_footprint(&self, actor: u16) -> Footprint {
        let domain_objects = |d: usize| {
            let base = (1 + 3 * d) as u8;
            Footprint::NONE.write(base).write(base + 1).write(base + 2)
        };
        let actor = actor as usize;
        if actor < self.domains() * PER_DOMAIN {
            return domain_objects(actor / PER_DOMAIN).write(0);
        }
        if actor as u16 == self.worker_actor() {
            return (0..self.domains())
                .fold(Footprint::NONE.write(0), |f, d| f.union(domain_objects(d)));
        }
        if self.supervised.is_some() && actor as u16 == self.supervisor_actor() {
            return domain_objects(self.supervised.unwrap_or(0) as usize);
        }
        let t = actor - self.thread_actor(0) as usize;
        self.programs[t]
            .iter()
            .fold(Footprint::NONE.write(0), |f, &(_, d)| {
                f.union(domain_objects(d as usize))
            })
    }
}

/// A step's short label and the upstream function it stands for.
fn label(step: &Step) -> (&'static str, &'static str) {
    match &step.kind {
        Kind::ApiEntry => ("api entry", "qemuDomainReboot / qemuDomainShutdownFlags"),
        Kind::AgentCall => (
            "agent: set fakeReboot, guest-sync",
            "qemuDomainRebootAgent / qemuDomainShutdownFlagsAgent → qemuAgentGuestSync",
        ),
        Kind::AgentSyncTimeout => ("guest-sync times out", "qemuAgentSend"),
        Kind::AgentShutdownReturn => ("agent call returns", "qemuDomainObjExitAgent"),
        Kind::AgentShutdownTimeout => ("agent call times out", "qemuAgentSend"),
        Kind::MonitorSend => (
            "monitor: set fakeReboot, QMP",
            "qemuDomainRebootMonitor / qemuDomainShutdownFlagsMonitor / qemuDomainReset",
        ),
        Kind::MonitorReturn => ("QMP reply, end job", "qemuDomainObjExitMonitor"),
        Kind::DestroyBegin => ("destroy: SIGTERM", "qemuProcessBeginStopJob"),
        Kind::DestroySigkill => ("destroy: SIGKILL after timeout", "virProcessKillPainfully"),
        Kind::DestroyStop => ("destroy: stop", "qemuProcessStop"),
        Kind::StartLaunch => ("start: launch -S", "qemuProcessStart"),
        Kind::StartCpus => ("start: cont", "qemuProcessStartCPUs"),
        Kind::WaitDone => ("wait", "(user)"),
        Kind::MonitorEvent(e) => match e {
            QmpEvent::Shutdown { .. } => ("SHUTDOWN", "qemuProcessHandleShutdown"),
            QmpEvent::Reset { .. } => ("RESET", "qemuProcessHandleReset"),
            QmpEvent::Stop => ("STOP", "qemuProcessHandleStop"),
            QmpEvent::Resume => ("RESUME", "qemuProcessHandleResume"),
            QmpEvent::VserportChange { .. } => {
                ("VSERPORT_CHANGE", "qemuProcessHandleSerialChanged")
            }
            QmpEvent::MonitorEof => ("monitor EOF", "qemuProcessHandleMonitorEOF"),
        },
        Kind::MonitorReply => ("QMP reply", "qemuMonitorJSONIOProcessLine"),
        Kind::AgentEvent(AgentIo::Eof) => ("agent EOF", "qemuProcessHandleAgentEOF"),
        Kind::AgentEvent(AgentIo::Error) => ("agent error", "qemuProcessHandleAgentError"),
        Kind::WorkerNotifyClose => ("notify agent close", "qemuAgentNotifyClose"),
        Kind::WorkerRun => ("worker job", "qemuProcessEventHandler"),
        Kind::FakeRebootReset => ("fake reboot: system_reset", "qemuProcessFakeReboot"),
        Kind::FakeRebootCont => ("fake reboot: cont", "qemuProcessStartCPUs"),
        Kind::FakeRebootDone => ("fake reboot: done", "qemuProcessFakeReboot"),
        Kind::Qmp(QmpCommand::SystemPowerdown) => ("system_powerdown", "qmp_system_powerdown"),
        Kind::Qmp(QmpCommand::SystemReset) => ("system_reset", "qmp_system_reset"),
        Kind::Qmp(QmpCommand::Cont) => ("cont", "qmp_cont"),
        Kind::SystemReset => ("reset", "qemu_system_reset"),
        Kind::SystemShutdown => ("shutdown", "qemu_system_shutdown"),
        Kind::Sigterm => ("SIGTERM", "qemu_system_killed"),
        Kind::Sighup => ("SIGHUP", "qemu_system_killed"),
        Kind::SignalScript { ok: true } => ("signal script: system_powerdown", "proposal 3 script"),
        Kind::SignalScript { ok: false } => ("signal script fails", "proposal 3 script"),
        Kind::SigtermTimeout => ("powerdown timeout", "qemu_system_killed (proposal)"),
        Kind::FirmwareReset => ("SeaBIOS hard reboot", "qemu_system_reset"),
        Kind::ThrottleExpire => ("throttle window ends", "monitor_qapi_event_handler"),
        Kind::GuestBoot => ("boot, qemu-ga starts", "guest init"),
        Kind::PowerButton => ("power button", "guest acpi button handler"),
        Kind::GaSync => (
            "qemu-ga answers guest-sync; libvirt writes guest-shutdown",
            "qmp_guest_sync → qemuAgentIOProcessLine → qemuAgentSend",
        ),
        Kind::GaShutdown => ("qemu-ga guest-shutdown", "qmp_guest_shutdown"),
        Kind::StopServices => ("stop qemu-ga", "guest shutdown sequence"),
        Kind::GuestHalt => ("sync, halt", "kernel_power_off / kernel_restart"),
        Kind::SupervisorTerm => ("SIGTERM", "supervisor stop"),
        Kind::SupervisorKill => ("SIGKILL after timeout", "supervisor stop timeout"),
    }
}

impl Observable for Lifecycle {
    fn observe(&self, state: &State) -> Vec<(String, Obs)> {
        let mut out = Vec::new();
        for (c, dom) in self.config.domains.iter().zip(&state.domains) {
            let n = &c.name;
            let s = |v: &str| Obs::Str(v.to_string());
            let lv = &dom.libvirt;
            let dom_state = if !c.libvirt {
                "unmanaged"
            } else {
                match lv.state {
                    DomState::Running => "running",
                    DomState::Paused => "paused",
                    DomState::Shutdown => "shutdown",
                    DomState::Shutoff => "shutoff",
                }
            };
            let result = if c.libvirt {
                match lv.state {
                    DomState::Shutoff | DomState::Shutdown => "SHUTDOWN",
                    DomState::Running if dom.guest.boots > 0 => "REBOOT",
                    DomState::Running => "RUNNING",
                    DomState::Paused => "PAUSED",
                }
            } else if dom.qemu.run == RunState::Exited {
                "SHUTDOWN"
            } else {
                "RUNNING"
            };
            let available =
                c.libvirt && lv.state == DomState::Running && !lv.agent_error && lv.agent;
            let json = |v: &dyn Named| v.name();
            out.push((format!("{n}.state"), s(dom_state)));
            out.push((format!("{n}.qemu"), s(json(&dom.qemu.run))));
            out.push((format!("{n}.guest"), s(json(&dom.guest.power))));
            out.push((format!("{n}.fs"), s(json(&dom.guest.fs))));
            out.push((format!("{n}.boots"), Obs::Int(dom.guest.boots as i64)));
            out.push((format!("{n}.resets"), Obs::Int(lv.reboots as i64)));
            out.push((format!("{n}.killed"), Obs::Bool(lv.killed)));
            out.push((format!("{n}.fake_reboot"), Obs::Bool(lv.fake_reboot)));
            out.push((format!("{n}.agent_connected"), Obs::Bool(lv.agent)));
            out.push((format!("{n}.agent_error"), Obs::Bool(lv.agent_error)));
            out.push((format!("{n}.agent_available"), Obs::Bool(available)));
            out.push((
                format!("{n}.acted"),
                s(dom.guest.acted.as_ref().map_or("none", |a| json(a))),
            ));
            out.push((format!("{n}.result"), s(result)));
        }
        out
    }
}

/// The kebab-case name of a unit enum value, as observations print it.
trait Named {
    fn name(&self) -> &'static str;
}

macro_rules! names {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl Named for $t {
            fn name(&self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
        }
    };
}

names!(RunState { Prelaunch => "prelaunch", Running => "running", Shutdown => "shutdown", Exited => "exited" });
names!(GuestPower { Off => "off", Booting => "booting", Up => "up", PoweringOff => "powering-off", Rebooting => "rebooting" });
names!(Fs { InUse => "in-use", Clean => "clean", Dirty => "dirty" });
names!(Acted { Acpi => "acpi", AgentReboot => "agent-reboot", AgentPowerdown => "agent-powerdown" });
