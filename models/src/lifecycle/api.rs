//! libvirt API threads (`src/qemu/qemu_driver.c`): reboot and shutdown with their agent and
//! monitor paths, destroy, start, reset, and the scenario's `wait` op. Job rules follow
//! `virDomainObjCanSetJob`: a normal job and an agent job can be held at once (FACTS §1.1).

use super::config::{AgentErrorVariant, FakeRebootVariant, Mode, WaitFor};
use super::state::*;
use super::step::{Kind, Step};
use super::{qemu_exit, send_command, worker, Call, Lifecycle};

fn call(m: &Lifecycle, s: &State, t: usize) -> Option<(Call, usize)> {
    let op = s.threads[t].op as usize;
    m.programs[t].get(op).map(|&(c, d)| (c, d as usize))
}

fn my_reply_pending(dom: &Domain, me: u16) -> bool {
    dom.qemu.commands.iter().any(|&(_, who)| who == me)
}

/// The steps thread `t` can take now.
pub(super) fn enabled(m: &Lifecycle, s: &State, t: usize, out: &mut Vec<Step>) {
    let Some((call, d)) = call(m, s, t) else {
        return;
    };
    let me = m.thread_actor(t);
    let dom = &s.domains[d];
    let lv = &dom.libvirt;
    let kind = match (s.threads[t].pc, call) {
        (ApiPc::Entry, Call::Reboot(_) | Call::Shutdown(_)) => Some(Kind::ApiEntry),
        (ApiPc::Entry, Call::Destroy) => Some(Kind::DestroyBegin),
        (ApiPc::Entry, Call::Start) => lv.job.is_none().then_some(Kind::StartLaunch),
        (ApiPc::Entry, Call::Reset) | (ApiPc::MonitorJob, _) => {
            lv.job.is_none().then_some(Kind::MonitorSend)
        }
        (ApiPc::Entry, Call::Wait(until)) => holds(dom, until).then_some(Kind::WaitDone),
        (ApiPc::AgentJob, _) => lv.agent_job.is_none().then_some(Kind::AgentShutdownSend),
        (ApiPc::AgentWait, _) => {
            let woken = lv.await_event == Some(AwaitEvent::Done) || lv.agent_closed || !lv.agent;
            woken.then_some(Kind::AgentShutdownReturn)
        }
        (ApiPc::MonitorWait, _) => (!my_reply_pending(dom, me)).then_some(Kind::MonitorReturn),
        (ApiPc::DestroyWait, _) => lv.job.is_none().then_some(Kind::DestroyStop),
        (ApiPc::StartCpus, _) => Some(Kind::StartCpus),
    };
    if let Some(kind) = kind {
        out.push(m.step(me, kind));
    }
}

/// Timer steps of thread `t` (`qemuAgentShutdown`'s timeout).
pub(super) fn timeouts(m: &Lifecycle, s: &State, t: usize, out: &mut Vec<Step>) {
    if call(m, s, t).is_some() && s.threads[t].pc == ApiPc::AgentWait {
        out.push(m.step(m.thread_actor(t), Kind::AgentShutdownTimeout));
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
            let mode = match call {
                Call::Reboot(mode) | Call::Shutdown(mode) => mode,
                _ => Mode::Default,
            };
            let use_agent = mode == Mode::Agent || (mode == Mode::Default && dom.libvirt.agent);
            s.threads[t].pc = if use_agent {
                ApiPc::AgentJob
            } else {
                ApiPc::MonitorJob
            };
        }
        Kind::AgentShutdownSend => agent_send(m, s, t, call, d),
        Kind::AgentShutdownReturn | Kind::AgentShutdownTimeout => {
            dom.libvirt.agent_job = None;
            dom.libvirt.await_event = None;
            dom.libvirt.agent_closed = false;
            next_op(s, t);
        }
        Kind::MonitorSend => monitor_send(s, t, call, d, me),
        Kind::MonitorReturn => {
            let lv = &mut dom.libvirt;
            match call {
                // qemuDomainReset writes the flag directly after system_reset.
                Call::Reset => lv.fake_reboot = false,
                Call::Start if dom.qemu.run == RunState::Running => lv.state = DomState::Running,
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
            dom.libvirt.being_destroyed = true;
            if dom.qemu.run != RunState::Exited {
                qemu_exit(dom, managed);
            }
            s.threads[t].pc = ApiPc::DestroyWait;
        }
        Kind::DestroyStop => {
            dom.libvirt.being_destroyed = false;
            if dom.libvirt.state != DomState::Shutoff {
                dom.libvirt.fake_reboot = false;
                worker::process_stop(dom);
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

/// `qemuDomainRebootAgent` / `qemuDomainShutdownFlagsAgent`.
fn agent_send(m: &Lifecycle, s: &mut State, t: usize, call: Call, d: usize) {
    let dom = &mut s.domains[d];
    let lv = &mut dom.libvirt;
    let (mode, reboot) = match call {
        Call::Reboot(mode) => (mode, true),
        Call::Shutdown(mode) => (mode, false),
        _ => unreachable!("agent path of a reboot or shutdown"),
    };
    lv.agent_job = Some(m.thread_actor(t));
    // qemuDomainAgentAvailable: running, no agentError, an agent.
    let available = lv.state == DomState::Running && !lv.agent_error && lv.agent;
    if !available {
        lv.agent_job = None;
        if mode == Mode::Agent {
            next_op(s, t); // agentForced: the call fails
        } else {
            s.threads[t].pc = ApiPc::MonitorJob; // DEFAULT falls back to ACPI silently
        }
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
    lv.agent_closed = false;
    let (request, acted) = if reboot {
        (GaRequest::Reboot, Acted::AgentReboot)
    } else {
        (GaRequest::Powerdown, Acted::AgentPowerdown)
    };
    dom.guest.inbox.send(request);
    dom.guest.first_request.get_or_insert(acted);
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
    lv.channel_connected = false;
    lv.monitor.clear();
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
}
