//! libvirt API threads (`src/qemu/qemu_driver.c`): reboot and shutdown with their agent and
//! monitor paths (and DEFAULT mode's fallback from the agent to ACPI), destroy, start, reset,
//! and the scenario's `wait` op. Job rules follow `virDomainObjCanSetJob`: a normal job and an
//! agent job can be held at once; libvirt 4.x–5.x's agent paths took both (`jobs: with-agent`).

use super::config::{AgentErrorVariant, FakeRebootVariant, JobsEra, Mode, WaitFor};
use super::state::*;
use super::step::{Kind, Step};
use super::{
    ga_write, monitor_returned, qemu_exit, send_command, take_reply, worker, Call, Lifecycle,
};

fn call(m: &Lifecycle, s: &State, t: usize) -> Option<(Call, usize)> {
    let op = s.threads[t].op as usize;
    m.programs[t].get(op).map(|&(c, d)| (c, d as usize))
}

/// Whether a `guest-sync` will be answered well within its 5 s timeout: a running qemu-ga has
/// it in its port and libvirt can still read the reply.
fn sync_answerable(dom: &Domain) -> bool {
    let lv = &dom.libvirt;
    let ga_has_it = dom.guest.ga_running && dom.guest.inbox.iter().any(|&r| r == GaRequest::Sync);
    lv.agent && !lv.agent_closing && ga_has_it
}

/// The steps thread `t` can take now.
pub(super) fn enabled(m: &Lifecycle, s: &State, t: usize, out: &mut Vec<Step>) {
    let Some((call, d)) = call(m, s, t) else {
        return;
    };
    let me = m.thread_actor(t);
    let dom = &s.domains[d];
    let lv = &dom.libvirt;
    let with_agent = m.config.jobs == JobsEra::WithAgent;
    let kind = match (s.threads[t].pc, call) {
        (ApiPc::Entry, Call::Reboot(_) | Call::Shutdown(_)) => Some(Kind::ApiEntry),
        (ApiPc::Entry, Call::Destroy { .. }) => Some(Kind::DestroyBegin),
        (ApiPc::Entry, Call::Start) => lv.job.is_none().then_some(Kind::StartLaunch),
        (ApiPc::Entry, Call::Reset) | (ApiPc::MonitorJob, _) => {
            lv.job.is_none().then_some(Kind::MonitorSend)
        }
        (ApiPc::Entry, Call::Wait(until)) => holds(dom, until).then_some(Kind::WaitDone),
        (ApiPc::AgentJob, _) => {
            let free = lv.agent_job.is_none() && (!with_agent || lv.job.is_none());
            free.then_some(Kind::AgentCall)
        }
        (ApiPc::AgentWait, _) => match lv.agent_msg {
            Some(AgentMsg::Finished { .. }) => Some(Kind::AgentShutdownReturn),
            Some(AgentMsg::Sync) if !sync_answerable(dom) => Some(Kind::AgentSyncTimeout),
            _ => None,
        },
        (ApiPc::MonitorWait, _) => monitor_returned(dom, me).then_some(Kind::MonitorReturn),
        (ApiPc::DestroyWait, _) => {
            (dom.qemu.run == RunState::Exited && lv.job.is_none()).then_some(Kind::DestroyStop)
        }
        (ApiPc::StartCpus, _) => Some(Kind::StartCpus),
    };
    if let Some(kind) = kind {
        out.push(m.step(me, kind));
    }
}

/// Long timers of thread `t`: `virProcessKillPainfully`'s SIGKILL.
pub(super) fn timeouts(m: &Lifecycle, s: &State, t: usize, out: &mut Vec<Step>) {
    if let Some((_, d)) = call(m, s, t) {
        let alive = s.domains[d].qemu.run != RunState::Exited;
        if s.threads[t].pc == ApiPc::DestroyWait && alive {
            out.push(m.step(m.thread_actor(t), Kind::DestroySigkill));
        }
    }
}

/// Timers that fire only when nothing else can: `qemuAgentShutdown`'s wait for its event.
pub(super) fn idle_timeouts(m: &Lifecycle, s: &State, t: usize, out: &mut Vec<Step>) {
    if let Some((_, d)) = call(m, s, t) {
        let waiting = s.domains[d].libvirt.agent_msg == Some(AgentMsg::Shutdown);
        if s.threads[t].pc == ApiPc::AgentWait && waiting {
            out.push(m.step(m.thread_actor(t), Kind::AgentShutdownTimeout));
        }
    }
}

fn holds(dom: &Domain, until: WaitFor) -> bool {
    match until {
        WaitFor::AgentConnected => dom.libvirt.agent,
        WaitFor::Shutoff => dom.libvirt.state == DomState::Shutoff,
        WaitFor::GuestActed => dom.guest.taken > 0,
    }
}

fn next_op(s: &mut State, t: usize) {
    s.threads[t].op += 1;
    s.threads[t].pc = ApiPc::Entry;
}

/// Applies a step of thread `t`.
pub(super) fn apply(m: &Lifecycle, s: &mut State, t: usize, kind: &Kind) {
    let (call, d) = call(m, s, t).expect("an op to run");
    let me = m.thread_actor(t);
    let managed = m.config.domains[d].libvirt;
    let dom = &mut s.domains[d];
    match kind {
        Kind::ApiEntry => {
            // qemuDomainReboot / qemuDomainShutdownFlags: useAgent = agentRequested ||
            // (flags == 0 && priv->agent != NULL).
            let use_agent =
                mode(call) == Mode::Agent || (mode(call) == Mode::Default && dom.libvirt.agent);
            s.threads[t].pc = if use_agent {
                ApiPc::AgentJob
            } else {
                ApiPc::MonitorJob
            };
        }
        Kind::AgentCall => agent_call(m, s, t, call, d),
        Kind::AgentSyncTimeout | Kind::AgentShutdownTimeout => {
            dom.libvirt.agent_msg = Some(AgentMsg::Finished { ok: false });
        }
        Kind::AgentShutdownReturn => {
            let ok = dom.libvirt.agent_msg == Some(AgentMsg::Finished { ok: true });
            end_agent_call(m, &mut dom.libvirt);
            if ok {
                next_op(s, t);
            } else {
                agent_failed(s, t, call, d);
            }
        }
        Kind::MonitorSend => monitor_send(s, t, call, d, me),
        Kind::MonitorReturn => {
            let ok = take_reply(dom, me);
            let lv = &mut dom.libvirt;
            match call {
                // qemuDomainReset writes the flag directly after a successful system_reset.
                Call::Reset if ok => lv.fake_reboot = false,
                Call::Start if ok => lv.state = DomState::Running,
                _ => {}
            }
            lv.job = None;
            next_op(s, t);
        }
        Kind::DestroyBegin => {
            if dom.libvirt.state == DomState::Shutoff {
                next_op(s, t); // "domain is not running"
                return;
            }
            // qemuProcessBeginStopJob: beingDestroyed, then qemuProcessKill (SIGTERM first).
            dom.libvirt.being_destroyed = true;
            if dom.qemu.run != RunState::Exited {
                dom.qemu.sigterm = true;
            }
            s.threads[t].pc = ApiPc::DestroyWait;
        }
        Kind::DestroySigkill => {
            if matches!(call, Call::Destroy { graceful: true }) {
                // VIR_DOMAIN_DESTROY_GRACEFUL never escalates: "Failed to terminate process".
                dom.libvirt.being_destroyed = false;
                next_op(s, t);
            } else {
                qemu_exit(dom, managed);
            }
        }
        Kind::DestroyStop => {
            dom.libvirt.being_destroyed = false;
            if dom.libvirt.state != DomState::Shutoff {
                dom.libvirt.fake_reboot = false;
                worker::process_stop(m, dom);
            }
            next_op(s, t);
        }
        Kind::StartLaunch => {
            if dom.libvirt.state != DomState::Shutoff {
                next_op(s, t); // "domain is already running"
                return;
            }
            start_launch(m, dom, me);
            s.threads[t].pc = ApiPc::StartCpus;
        }
        Kind::StartCpus => {
            send_command(dom, QmpCommand::Cont, me);
            s.threads[t].pc = ApiPc::MonitorWait;
        }
        Kind::WaitDone => next_op(s, t),
        other => unreachable!("not an API step: {other:?}"),
    }
}

fn mode(call: Call) -> Mode {
    match call {
        Call::Reboot(mode) | Call::Shutdown(mode) => mode,
        _ => Mode::Default,
    }
}

/// `qemuDomainObjEndAgentJob` (4.x–5.x: `qemuDomainObjEndJobWithAgent`) after
/// `qemuAgentCommand`'s cleanup reset `await_event`.
fn end_agent_call(m: &Lifecycle, lv: &mut Libvirt) {
    lv.agent_job = None;
    if m.config.jobs == JobsEra::WithAgent {
        lv.job = None;
    }
    forget_agent_call(lv);
}

/// No agent message in flight, nothing awaited.
fn forget_agent_call(lv: &mut Libvirt) {
    lv.agent_msg = None;
    lv.await_event = None;
    lv.agent_request = None;
}

/// The agent path failed: an AGENT-mode call fails; DEFAULT mode falls back to ACPI
/// (`if (!useAgent || (ret < 0 && (acpiRequested || !flags)))`), except that shutdown skips
/// the fallback once the domain is gone.
fn agent_failed(s: &mut State, t: usize, call: Call, d: usize) {
    let inactive = s.domains[d].libvirt.state == DomState::Shutoff;
    let shutdown_gone = matches!(call, Call::Shutdown(_)) && inactive;
    if mode(call) == Mode::Default && !shutdown_gone {
        s.threads[t].pc = ApiPc::MonitorJob;
    } else {
        next_op(s, t);
    }
}

/// `qemuDomainRebootAgent` / `qemuDomainShutdownFlagsAgent` up to `qemuAgentGuestSync`
/// writing `guest-sync`: the job(s), `qemuDomainAgentAvailable`, `qemuDomainSetFakeReboot`,
/// `qemuDomainObjEnterAgent`, `await_event`, `agent->running`.
fn agent_call(m: &Lifecycle, s: &mut State, t: usize, call: Call, d: usize) {
    let me = m.thread_actor(t);
    let dom = &mut s.domains[d];
    let lv = &mut dom.libvirt;
    let reboot = matches!(call, Call::Reboot(_));
    lv.agent_job = Some(me);
    if m.config.jobs == JobsEra::WithAgent {
        lv.job = Some(me);
    }
    // qemuDomainShutdownFlagsAgent requires RUNNING; qemuDomainAgentAvailable: running, no
    // agentError, an agent.
    let available = lv.state == DomState::Running && !lv.agent_error && lv.agent;
    if !available {
        end_agent_call(m, lv);
        agent_failed(s, t, call, d);
        return;
    }
    let clears = !reboot || m.config.fake_reboot == FakeRebootVariant::B0c144c5792;
    if clears {
        lv.fake_reboot = false; // qemuDomainSetFakeReboot(vm, false)
    }
    lv.await_event = Some(if reboot {
        AwaitEvent::Reset
    } else {
        AwaitEvent::Shutdown
    });
    lv.agent_request = Some(if reboot {
        GaRequest::Reboot
    } else {
        GaRequest::Powerdown
    });
    if lv.agent_closing {
        // qemuAgentCommandFull: "Guest agent disappeared while executing command".
        lv.agent_msg = Some(AgentMsg::Finished { ok: false });
    } else {
        lv.agent_msg = Some(AgentMsg::Sync);
        ga_write(dom, GaRequest::Sync);
    }
    s.threads[t].pc = ApiPc::AgentWait;
}

/// `qemuDomainRebootMonitor` / `qemuDomainShutdownFlagsMonitor` / `qemuDomainReset`.
fn monitor_send(s: &mut State, t: usize, call: Call, d: usize, me: u16) {
    let lv = &mut s.domains[d].libvirt;
    let running_required = matches!(call, Call::Shutdown(_));
    let inactive = lv.state == DomState::Shutoff;
    if inactive || (running_required && lv.state != DomState::Running) {
        next_op(s, t); // "domain is not running"
        return;
    }
    lv.job = Some(me);
    let command = match call {
        Call::Reboot(_) => {
            lv.fake_reboot = true; // qemuDomainSetFakeReboot(vm, isReboot)
            QmpCommand::SystemPowerdown
        }
        Call::Shutdown(_) => {
            lv.fake_reboot = false;
            QmpCommand::SystemPowerdown
        }
        _ => QmpCommand::SystemReset,
    };
    send_command(&mut s.domains[d], command, me);
    s.threads[t].pc = ApiPc::MonitorWait;
}

/// `qemuProcessStart` up to the launch: `qemuProcessInit` resets fakeReboot, a new QEMU starts
/// with `-S`, and `qemuConnectAgent` is deferred until VSERPORT_CHANGE (QEMU has the cap).
fn start_launch(m: &Lifecycle, dom: &mut Domain, me: u16) {
    let lv = &mut dom.libvirt;
    lv.job = Some(me);
    lv.fake_reboot = false;
    lv.paused_shutdown = false;
    lv.being_destroyed = false;
    if m.config.agent_error == AgentErrorVariant::ClearOnStart {
        lv.agent_error = false;
    }
    lv.agent = false;
    lv.agent_closing = false;
    forget_agent_call(lv);
    lv.channel_connected = false;
    lv.monitor.clear();
    lv.mon_reply = None;
    lv.mon_dead = false;
    lv.agent_io.clear();
    lv.state = DomState::Paused;
    dom.qemu = Qemu::started(
        dom.qemu.instance.wrapping_add(1),
        RunState::Prelaunch,
        false,
    );
    let g = &mut dom.guest;
    g.power = GuestPower::Off;
    g.button = false;
    g.inbox.clear();
    g.ga_running = false;
    g.acted = None;
    g.first_request = None;
    g.firmware_reset = false;
}
