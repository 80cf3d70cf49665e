//! The lifecycle model's observable projection for `vmrace repro`: which steps show in a log,
//! and as what (`docs/repro.md` lists the log lines each event is parsed from).

use super::config::{Mode, SigtermVariant};
use super::state::{AgentIo, QmpCommand, QmpEvent, State};
use super::step::{Kind, Step};
use super::{qemu, Call, Lifecycle, PER_DOMAIN};
use crate::scenario::LogEvent;

impl Lifecycle {
    /// The log events `step` shows as in state `s`, in order (none for most steps).
    pub fn log_events(&self, s: &State, step: &Step) -> &'static [LogEvent] {
        let api = || {
            let t = step.actor.checked_sub(self.thread_actor(0))? as usize;
            let op = s.threads.get(t)?.op as usize;
            self.programs.get(t)?.get(op).map(|&(c, _)| c)
        };
        match &step.kind {
            Kind::ApiEntry => match api() {
                Some(Call::Reboot(Mode::Default)) => &["api:reboot:default"],
                Some(Call::Reboot(Mode::Acpi)) => &["api:reboot:acpi"],
                Some(Call::Reboot(Mode::Agent)) => &["api:reboot:agent"],
                Some(Call::Shutdown(Mode::Default)) => &["api:shutdown:default"],
                Some(Call::Shutdown(Mode::Acpi)) => &["api:shutdown:acpi"],
                Some(Call::Shutdown(Mode::Agent)) => &["api:shutdown:agent"],
                _ => &[],
            },
            Kind::DestroyBegin => &["api:destroy"],
            Kind::StartLaunch => &["api:start"],
            // only a reset sends at its entry; reboot and shutdown send from MonitorJob
            Kind::MonitorSend => match api() {
                Some(Call::Reset) => &["api:reset"],
                _ => &[],
            },
            Kind::MonitorEvent(QmpEvent::Shutdown { guest: true }) => &["qmp:SHUTDOWN:guest"],
            Kind::MonitorEvent(QmpEvent::Shutdown { guest: false }) => &["qmp:SHUTDOWN:host"],
            Kind::MonitorEvent(QmpEvent::Reset { guest: true }) => &["qmp:RESET:guest"],
            Kind::MonitorEvent(QmpEvent::Reset { guest: false }) => &["qmp:RESET:host"],
            Kind::MonitorEvent(QmpEvent::Stop) => &["qmp:STOP"],
            Kind::MonitorEvent(QmpEvent::Resume) => &["qmp:RESUME"],
            Kind::MonitorEvent(QmpEvent::VserportChange { open: true }) => {
                &["qmp:VSERPORT_CHANGE:open"]
            }
            Kind::MonitorEvent(QmpEvent::VserportChange { open: false }) => {
                &["qmp:VSERPORT_CHANGE:closed"]
            }
            // qmp_system_powerdown emits POWERDOWN whatever the guest then does with the button
            Kind::Qmp(QmpCommand::SystemPowerdown) | Kind::SignalScript { ok: true } => {
                &["qmp:POWERDOWN"]
            }
            Kind::Sigterm => {
                let d = step.actor as usize / PER_DOMAIN;
                let presses = qemu::sigterm_is_graceful(self, d)
                    && self.config.qemu_sigterm != SigtermVariant::Script;
                if presses {
                    &["signal:SIGTERM", "qmp:POWERDOWN"]
                } else {
                    &["signal:SIGTERM"]
                }
            }
            Kind::AgentEvent(AgentIo::Eof) => &["agent:eof"],
            Kind::AgentEvent(AgentIo::Error) => &["agent:error"],
            _ => &[],
        }
    }
}
