//! The per-domain event-loop thread (`priv->eventThread`): it reads the monitor and the agent
//! socket and runs the `qemuProcessHandle*` callbacks (`src/qemu/qemu_process.c`). The two
//! sockets are separate file descriptors, so their events interleave in any order; each
//! socket is FIFO.

use super::config::{AgentErrorVariant, FakeRebootClear};
use super::state::*;
use super::step::{Kind, Step};
use super::{Lifecycle, EVENT};

/// The dispatches possible now.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let lv = &s.domains[d].libvirt;
    let me = m.domain_actor(d, EVENT);
    if let Some(&e) = lv.monitor.first() {
        out.push(m.step(me, Kind::MonitorEvent(e)));
    }
    if let Some(&io) = lv.agent_io.first() {
        out.push(m.step(me, Kind::AgentEvent(io)));
    }
}

/// Runs one callback.
pub(super) fn apply(m: &Lifecycle, s: &mut State, d: usize, kind: &Kind) {
    match kind {
        Kind::MonitorEvent(_) => {
            let event = s.domains[d]
                .libvirt
                .monitor
                .pop_front()
                .expect("a pending message");
            monitor_event(m, s, d, event);
        }
        Kind::AgentEvent(_) => {
            let io = s.domains[d]
                .libvirt
                .agent_io
                .pop_front()
                .expect("a pending message");
            let lv = &mut s.domains[d].libvirt;
            match io {
                // qemuProcessHandleAgentError
                AgentIo::Error => lv.agent_error = true,
                // qemuProcessHandleAgentEOF
                AgentIo::Eof => {
                    if lv.agent && !lv.being_destroyed {
                        lv.agent = false;
                        lv.agent_io.clear();
                        lv.agent_closed = true;
                        if m.config.agent_error == AgentErrorVariant::ClearOnEof {
                            lv.agent_error = false;
                        }
                    }
                }
            }
        }
        other => unreachable!("not an event-thread step: {other:?}"),
    }
}

fn notify_agent(lv: &mut Libvirt, event: AwaitEvent) {
    // qemuAgentNotifyEvent completes a waiting guest-shutdown only for the awaited event.
    if lv.agent && lv.await_event == Some(event) {
        lv.await_event = Some(AwaitEvent::Done);
    }
}

fn monitor_event(m: &Lifecycle, s: &mut State, d: usize, event: QmpEvent) {
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
            // qemuProcessHandleMonitorEOF
            if !lv.being_destroyed {
                s.worker.send(WorkerJob::MonitorEof { domain: d as u8 });
            }
        }
    }
}
