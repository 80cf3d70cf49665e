//! A process supervisor (systemd, runit, s6 …) stopping a bare QEMU: SIGTERM, then SIGKILL when
//! its stop timeout expires (seed 002, LP#1754656).

use super::state::*;
use super::step::{Kind, Step};
use super::{qemu, qemu_exit, Lifecycle};

fn supervised(m: &Lifecycle) -> Option<usize> {
    m.supervised.map(|d| d as usize)
}

/// The supervisor's possible step.
pub(super) fn enabled(m: &Lifecycle, s: &State, out: &mut Vec<Step>) {
    if s.supervisor == Some(SupervisorPc::Stop) && supervised(m).is_some() {
        out.push(m.step(m.supervisor_actor(), Kind::SupervisorTerm));
    }
}

/// Its stop timeout: SIGKILL while QEMU still lives.
pub(super) fn timeouts(m: &Lifecycle, s: &State, out: &mut Vec<Step>) {
    let (Some(d), Some(config)) = (supervised(m), &m.config.supervisor) else {
        return;
    };
    let alive = s.domains[d].qemu.run != RunState::Exited;
    if s.supervisor == Some(SupervisorPc::Waiting) && alive && config.sigkill_on_timeout {
        out.push(m.step(m.supervisor_actor(), Kind::SupervisorKill));
    }
}

/// Applies a supervisor step.
pub(super) fn apply(m: &Lifecycle, s: &mut State, kind: &Kind) {
    let d = supervised(m).expect("a supervised domain");
    let managed = m.config.domains[d].libvirt;
    match kind {
        Kind::SupervisorTerm => {
            let signal = m.config.supervisor.as_ref().map(|c| c.signal);
            qemu::deliver(&mut s.domains[d], signal.unwrap_or_default());
            s.supervisor = Some(SupervisorPc::Waiting);
        }
        Kind::SupervisorKill => {
            qemu_exit(&mut s.domains[d], managed);
            s.supervisor = Some(SupervisorPc::Done);
        }
        other => unreachable!("not a supervisor step: {other:?}"),
    }
}
