//! The migration model's observable projection for `vmrace repro`: which steps show in a log
//! (`docs/repro.md` lists the log lines each event is parsed from).

use super::state::{Call, Event, State, Step};
use super::Migration;
use crate::scenario::LogEvent;

impl Migration {
    /// The log events a step shows as, in order (none for most steps).
    pub fn log_events(&self, _: &State, step: &Step) -> &'static [LogEvent] {
        match step {
            Step::Call(Call::Migrate) => &["api:migrate"],
            Step::Call(Call::Resume) => &["api:resume"],
            Step::Call(Call::Suspend) => &["api:suspend"],
            Step::Call(Call::Cont) => &["api:cont"],
            Step::HandleEvent(Event::Stop) => &["qmp:STOP"],
            Step::HandleEvent(Event::Resume) => &["qmp:RESUME"],
            Step::HandleEvent(Event::MigrationCompleted) => &["qmp:MIGRATION:completed"],
            Step::HandleEvent(Event::MigrationFailed) => &["qmp:MIGRATION:failed"],
            Step::HandleEvent(Event::MigrationCancelled) => &["qmp:MIGRATION:cancelled"],
            _ => &[],
        }
    }
}
