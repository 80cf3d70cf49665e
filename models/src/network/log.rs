//! The network model's observable projection for `vmrace repro`: which steps show in a log
//! (`docs/repro.md` lists the log lines each event is parsed from).

use super::model::{Action, Network};
use super::state::State;
use super::step::Step;
use crate::scenario::LogEvent;

impl Network {
    /// The log event an action shows as, if any.
    pub fn log_event(&self, _: &State, action: &Action) -> Option<LogEvent> {
        Some(match action.step {
            Step::TapCreate => "net:tap-create",
            Step::OvsAddPort => "net:ovs-add-port",
            Step::BridgeAddPort => "net:bridge-add-port",
            Step::Kill => "signal:SIGTERM",
            Step::RemovePort | Step::CheckAndRemovePort | Step::ReattachRemovePort => {
                "net:ovs-del-port"
            }
            _ => return None,
        })
    }
}
