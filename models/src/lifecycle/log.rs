//! The lifecycle model's observable projection for `vmrace repro`: which steps show in a log,
//! and as what (`docs/repro.md` lists the log lines each event is parsed from).

use super::config::Mode;
use super::state::{AgentIo, QmpEvent, State};
use super::step::{Kind, Step};
use super::{Call, Lifecycle};
use crate::scenario::LogEvent;

impl Lifecycle {
    /// The log event `step` shows as in state `s`, if any.
    pub fn log_event(&self, s: &State, step: &Step) -> Option<LogEvent> {
        let api = || {
            let t = step.actor.checked_sub(self.thread_actor(0))? as usize;
            let op = s.threads.get(t)?.op as usize;
            self.programs.get(t)?.get(op).map(|&(c, _)| c)
        };
        Some(match &step.kind {
            Kind::ApiEntry => match api()? {
                Call::Reboot(Mode::Default) => "api:reboot",
                Call::Reboot(Mode::Acpi) => "api:reboot:acpi",
                Call::Reboot(Mode::Agent) => "api:reboot:agent",
                Call::Shutdown(_) => "api:shutdown",
                _ => return None,
            },
            Kind::DestroyBegin => "api:destroy",
            Kind::StartLaunch => "api:start",
            // only a reset sends at its entry; reboot and shutdown send from MonitorJob
            Kind::MonitorSend => match api()? {
                Call::Reset => "api:reset",
                _ => return None,
            },
            Kind::MonitorEvent(QmpEvent::Shutdown { .. }) => "qmp:SHUTDOWN",
            Kind::MonitorEvent(QmpEvent::Reset { .. }) => "qmp:RESET",
            Kind::MonitorEvent(QmpEvent::Stop) => "qmp:STOP",
            Kind::MonitorEvent(QmpEvent::Resume) => "qmp:RESUME",
            Kind::MonitorEvent(QmpEvent::VserportChange { .. }) => "qmp:VSERPORT_CHANGE",
            Kind::AgentEvent(AgentIo::Eof) => "agent:eof",
            Kind::AgentEvent(AgentIo::Error) => "agent:error",
            Kind::Sigterm => "signal:SIGTERM",
            _ => return None,
        })
    }
}
