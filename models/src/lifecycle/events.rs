//! The per-domain event-loop thread (`priv->eventThread`): it reads the monitor and the agent
//! socket and runs the `qemuProcessHandle*` callbacks (`src/qemu/qemu_process.c`). Each socket
//! is one ordered stream: on the monitor, events and command replies come in QEMU's write
//! order, and a reply wakes its waiter only after the callbacks of every event before it have
//! run (`qemuMonitorIOProcess` broadcasts `mon->notify` after processing the buffer). The two
//! sockets are separate file descriptors, so their messages interleave in any order.

use super::state::*;
use super::step::{Kind, Step};
use super::{Lifecycle, EVENT};

/// The dispatches possible now.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let lv = &s.domains[d].libvirt;
    let me = m.domain_actor(d, EVENT);
    match lv.monitor.first() {
        Some(&MonitorMsg::Event(e)) => out.push(m.step(me, Kind::MonitorEvent(e))),
        Some(MonitorMsg::Reply { .. }) => out.push(m.step(me, Kind::MonitorReply)),
        None => {}
    }
    if let Some(&io) = lv.agent_io.first() {
        out.push(m.step(me, Kind::AgentEvent(io)));
    }
}

/// Runs one callback.
pub(super) fn apply(m: &Lifecycle, s: &mut State, d: usize, kind: &Kind) {
    match kind {
        Kind::MonitorEvent(_) | Kind::MonitorReply => {
            match s.domains[d]
                .libvirt
                .monitor
                .pop_front()
                .expect("a pending message")
            {
                MonitorMsg::Event(event) => monitor_event(m, s, d, event),
                // qemuMonitorJSONIOProcessLine: msg->finished; then virCondBroadcast.
                MonitorMsg::Reply { to } => s.domains[d].libvirt.mon_reply = Some(to),
            }
        }
        Kind::AgentEvent(_) => {
            let io = s.domains[d]
                .libvirt
                .agent_io
                .pop_front()
                .expect("a pending message");
            agent_io(m, &mut s.domains[d].libvirt, io);
        }
        other => unreachable!("not an event-thread step: {other:?}"),
    }
}

/// `qemuAgentIO`'s processing of one message, then its callback.
fn agent_io(m: &Lifecycle, lv: &mut Libvirt, io: AgentIo) {
    match io {
        // An I/O error sets agent->lastError and wakes the waiter with it, then
        // qemuProcessHandleAgentError sets agentError.
        AgentIo::Error => {
            fail_waiter(lv);
            lv.agent_error = true;
        }
        AgentIo::Eof => {
            fail_waiter(lv);
            // qemuProcessHandleAgentEOF: "Agent freed already" / "agent EOF is expected".
            if lv.agent && !lv.being_destroyed {
                close_agent(lv);
                if m.config.agent_error.clears_on_eof() {
                    lv.agent_error = false;
                }
            }
        }
    }
}

/// `qemuAgentIO` on error or EOF: `agent->lastError` is set and a waiter wakes with it.
fn fail_waiter(lv: &mut Libvirt) {
    if matches!(lv.agent_msg, Some(AgentMsg::Sync | AgentMsg::Shutdown)) {
        lv.agent_msg = Some(AgentMsg::Finished { ok: false });
    }
}

/// `qemuAgentNotifyClose` (also inside `qemuAgentClose`): `agent->running = false` and a waiter
/// wakes without a reply. A `guest-shutdown` waiting for its event then returns success
/// (`await_event` is set); a first `guest-sync` retries and can only time out.
pub(super) fn notify_close(lv: &mut Libvirt) {
    lv.agent_closing = true;
    if lv.agent_msg == Some(AgentMsg::Shutdown) {
        lv.agent_msg = Some(AgentMsg::Finished { ok: true });
    }
}

/// `qemuAgentClose` + `priv->agent = NULL`: the watch is gone with any unread agent I/O.
pub(super) fn close_agent(lv: &mut Libvirt) {
    notify_close(lv);
    lv.agent = false;
    lv.agent_io.clear();
}

/// `qemuAgentNotifyEvent`: completes a waiting `guest-shutdown` only for the awaited event;
/// during the sync it ends the sync's wait early, which retries.
fn notify_agent(lv: &mut Libvirt, event: AwaitEvent) {
    if lv.agent && lv.await_event == Some(event) {
        lv.await_event = None;
        if lv.agent_msg == Some(AgentMsg::Shutdown) {
            lv.agent_msg = Some(AgentMsg::Finished { ok: true });
        }
    }
}

fn monitor_event(m: &Lifecycle, s: &mut State, d: usize, event: QmpEvent) {
    use super::config::FakeRebootClear;
    let old = m.config.fake_reboot_clear == FakeRebootClear::BeforeThread;
    let dom = &mut s.domains[d];
    let lv = &mut dom.libvirt;
    match event {
        QmpEvent::Shutdown { .. } => {
            // qemuProcessHandleShutdown
            if matches!(lv.state, DomState::Shutdown | DomState::Shutoff) {
                return; // "Ignoring repeated SHUTDOWN event" / inactive
            }
            if lv.fake_reboot {
                lv.paused_shutdown = true;
            } else {
                lv.state = DomState::Shutdown;
            }
            notify_agent(lv, AwaitEvent::Shutdown);
            // qemuProcessShutdownOrReboot
            if lv.fake_reboot {
                if old {
                    lv.fake_reboot = false;
                }
                dom.fake_reboot_thread.get_or_insert(FakeRebootPc::Spawned);
            } else {
                lv.killed = true;
                dom.qemu.sigterm = dom.qemu.run != RunState::Exited; // qemuProcessKill(NOWAIT)
            }
        }
        QmpEvent::Reset { .. } => {
            // qemuProcessHandleReset: ignored while starting up (libvirt itself may reset).
            if lv.state == DomState::Paused && !lv.paused_shutdown {
                return;
            }
            lv.reboots = lv.reboots.saturating_add(1);
            notify_agent(lv, AwaitEvent::Reset);
            if !old {
                lv.fake_reboot = false;
            }
        }
        QmpEvent::Stop => {
            // qemuProcessHandleStop: the STOP after SHUTDOWN under -no-shutdown is transient.
            if !lv.paused_shutdown && lv.state == DomState::Running {
                lv.state = DomState::Paused;
            }
        }
        QmpEvent::Resume => {
            if lv.state == DomState::Paused && lv.job.is_none() {
                lv.state = DomState::Running;
            }
        }
        QmpEvent::VserportChange { open } => {
            // qemuProcessHandleSerialChanged → qemuProcessEventSubmit
            s.worker.send(WorkerJob::SerialChanged {
                domain: d as u8,
                connected: open,
                notified: false,
            });
        }
        QmpEvent::MonitorEof => {
            // qemuMonitorIO: lastError, waiters wake; then qemuProcessHandleMonitorEOF.
            lv.mon_dead = true;
            if !lv.being_destroyed {
                s.worker.send(WorkerJob::MonitorEof { domain: d as u8 });
            }
        }
    }
}
