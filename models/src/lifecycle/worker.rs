//! The single `qemu-event` worker thread shared by every domain (`driver->workerPool`, FIFO),
//! running `processSerialChangedEvent` and `processMonitorEOFEvent`, and `qemuProcessStop`.

use super::config::AgentErrorVariant;
use super::events::{close_agent, notify_close};
use super::state::*;
use super::step::{Kind, Step};
use super::{qemu_exit, Lifecycle};

/// The worker's possible step: the head job, or the head's early `qemuAgentNotifyClose`.
pub(super) fn enabled(m: &Lifecycle, s: &State, out: &mut Vec<Step>) {
    let Some(&job) = s.worker.first() else {
        return;
    };
    let me = m.worker_actor();
    if let WorkerJob::SerialChanged {
        connected: false,
        notified: false,
        ..
    } = job
    {
        // processSerialChangedEvent wakes agent waiters before it waits for the job.
        out.push(m.step(me, Kind::WorkerNotifyClose));
        return;
    }
    let d = match job {
        WorkerJob::SerialChanged { domain, .. } | WorkerJob::MonitorEof { domain } => domain,
    };
    if s.domains[d as usize].libvirt.job.is_none() {
        out.push(m.step(me, Kind::WorkerRun));
    }
}

/// Applies a worker step.
pub(super) fn apply(m: &Lifecycle, s: &mut State, kind: &Kind) {
    match kind {
        Kind::WorkerNotifyClose => {
            if let Some(WorkerJob::SerialChanged {
                domain, notified, ..
            }) = s.worker.first_mut()
            {
                *notified = true;
                let lv = &mut s.domains[*domain as usize].libvirt;
                if lv.state != DomState::Shutoff && lv.agent {
                    notify_close(lv);
                }
            }
        }
        Kind::WorkerRun => match s.worker.pop_front().expect("a pending message") {
            WorkerJob::SerialChanged {
                domain, connected, ..
            } => serial_changed(s, domain as usize, connected),
            WorkerJob::MonitorEof { domain } => {
                // processMonitorEOFEvent → qemuProcessBeginStopJob → qemuProcessStop
                let dom = &mut s.domains[domain as usize];
                if dom.libvirt.state != DomState::Shutoff {
                    process_stop(m, dom);
                }
            }
        },
        other => unreachable!("not a worker step: {other:?}"),
    }
}

/// `processSerialChangedEvent` (the 2016 code for the disconnect branch: agentError is cleared
/// only when an agent is still set).
fn serial_changed(s: &mut State, d: usize, connected: bool) {
    let dom = &mut s.domains[d];
    let lv = &mut dom.libvirt;
    if lv.state == DomState::Shutoff {
        return;
    }
    lv.channel_connected = connected;
    if connected {
        // qemuConnectAgent (it leaves agentError alone)
        if !lv.agent && dom.qemu.run != RunState::Exited {
            lv.agent = true;
            lv.agent_closing = false;
        }
    } else if lv.agent {
        // qemuAgentClose unregisters the watch: undelivered agent I/O is gone with it.
        close_agent(lv);
        lv.agent_error = false;
    }
}

/// `qemuProcessStop` (upstream order): close the agent and clear agentError (inside
/// `if (priv->agent)` in the 2015/16 code, unconditionally today), close the monitor (its
/// waiters wake with an error), stop the event thread, kill QEMU for sure, mark the domain
/// shut off.
pub(super) fn process_stop(m: &Lifecycle, dom: &mut Domain) {
    let lv = &mut dom.libvirt;
    if lv.agent || m.config.agent_error == AgentErrorVariant::Current {
        lv.agent_error = false;
    }
    if lv.agent {
        close_agent(lv);
    }
    lv.agent = false;
    lv.agent_closing = false;
    lv.monitor.clear();
    lv.mon_dead = true;
    lv.mon_reply = None;
    lv.agent_io.clear();
    lv.channel_connected = false;
    lv.paused_shutdown = false;
    lv.being_destroyed = false;
    lv.state = DomState::Shutoff;
    if dom.qemu.run != RunState::Exited {
        qemu_exit(dom, false); // the event thread is gone: no EOF is dispatched
    }
}
