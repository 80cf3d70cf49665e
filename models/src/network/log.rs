//! The network model's observable projection for `vmrace repro`: which steps show in a log
//! (`docs/repro.md` lists the log lines each event is parsed from).

use super::config::Op;
use super::model::{Action, Network};
use super::state::State;
use super::step::Step;
use crate::scenario::LogEvent;

impl Network {
    /// The log events an action shows as, in order: the first step of a `start` or `stop` op is
    /// also the entry of its API call (`virDomainCreate`, `virDomainDestroy`).
    pub fn log_events(&self, s: &State, action: &Action) -> &'static [LogEvent] {
        let vm = action.vm as usize;
        let entry = s.vms[vm].step == 0;
        let op = self.vms[vm].ops.get(s.vms[vm].pc as usize).copied();
        match (action.step, op) {
            (Step::TapCreate, Some(Op::Start)) if entry => &["api:start", "net:tap-create"],
            (Step::TapCreate, _) => &["net:tap-create"],
            (Step::Kill, Some(Op::Stop)) if entry => &["api:destroy", "signal:SIGTERM"],
            (Step::Kill, _) => &["signal:SIGTERM"],
            (Step::StopInactive, Some(Op::Stop)) => &["api:destroy"],
            (Step::OvsAddPort, _) => &["net:ovs-add-port"],
            (Step::BridgeAddPort, _) => &["net:bridge-add-port"],
            (Step::RemovePort | Step::CheckAndRemovePort | Step::ReattachRemovePort, _) => {
                &["net:ovs-del-port"]
            }
            _ => &[],
        }
    }
}
