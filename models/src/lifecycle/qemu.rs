//! QEMU: the QMP monitor (a FIFO of commands), the main loop's reset and shutdown requests
//! (`main_loop_should_exit`), signal handling (`qemu_system_killed`), and the monitor's
//! one-per-second throttle on VSERPORT_CHANGE. Facts from REAL-QEMU.md and FACTS §1.2–1.3, §4.

use super::config::SigtermVariant;
use super::state::*;
use super::step::{Kind, Step};
use super::{emit, port_change, qemu_exit, Lifecycle, QEMU};

/// QEMU's possible steps.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let q = &s.domains[d].qemu;
    if q.run == RunState::Exited {
        return;
    }
    let me = m.domain_actor(d, QEMU);
    // A host reset requested by `system_reset` is performed by main_loop_should_exit before
    // the monitor can dispatch the next command (libvirt waits for the reply before sending
    // more; measured RESET before RESUME).
    if let Some(&(command, _)) = q.commands.first().filter(|_| !q.reset_requested) {
        out.push(m.step(me, Kind::Qmp(command)));
    }
    if q.reset_requested || q.guest_reset_requested {
        out.push(m.step(me, Kind::SystemReset));
    }
    if q.shutdown_requested {
        out.push(m.step(me, Kind::SystemShutdown));
    }
    if q.sigterm {
        out.push(m.step(me, Kind::Sigterm));
    }
    if q.throttled {
        out.push(m.step(me, Kind::ThrottleExpire));
    }
}

/// Timer steps: the proposal's SIGTERM powerdown timeout.
pub(super) fn timeouts(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let q = &s.domains[d].qemu;
    if q.run != RunState::Exited && q.sigterm_timer {
        out.push(m.step(m.domain_actor(d, QEMU), Kind::SigtermTimeout));
    }
}

/// Applies a QEMU step.
pub(super) fn apply(m: &Lifecycle, s: &mut State, d: usize, kind: &Kind) {
    let config = &m.config.domains[d];
    let managed = config.libvirt;
    let dom = &mut s.domains[d];
    match kind {
        Kind::Qmp(_) => {
            let (command, _) = dom.qemu.commands.pop_front().expect("a pending message");
            match command {
                // qmp_system_powerdown: POWERDOWN, then the ACPI power button.
                QmpCommand::SystemPowerdown => press_button(dom),
                // qmp_system_reset only requests; RESET comes later from the main loop.
                QmpCommand::SystemReset => dom.qemu.reset_requested = true,
                QmpCommand::Cont => {
                    if matches!(dom.qemu.run, RunState::Prelaunch | RunState::Shutdown) {
                        dom.qemu.run = RunState::Running;
                        emit(dom, managed, QmpEvent::Resume);
                        if dom.guest.power == GuestPower::Off {
                            dom.guest.power = GuestPower::Booting;
                        }
                    }
                }
            }
        }
        Kind::SystemReset => system_reset(dom, managed),
        Kind::SystemShutdown => {
            dom.qemu.shutdown_requested = false;
            emit(dom, managed, QmpEvent::Shutdown { guest: true });
            if config.no_shutdown {
                dom.qemu.run = RunState::Shutdown; // vm_stop(RUN_STATE_SHUTDOWN)
                emit(dom, managed, QmpEvent::Stop);
            } else {
                qemu_exit(dom, managed);
            }
        }
        Kind::Sigterm => {
            dom.qemu.sigterm = false;
            match m.config.qemu_sigterm {
                // SHUTDOWN{guest:false, reason:host-signal}, exit; -no-shutdown does not apply.
                SigtermVariant::Poweroff => {
                    emit(dom, managed, QmpEvent::Shutdown { guest: false });
                    qemu_exit(dom, managed);
                }
                SigtermVariant::PowerdownWithTimeout | SigtermVariant::Powerdown => {
                    press_button(dom);
                    dom.qemu.sigterm_timer =
                        m.config.qemu_sigterm == SigtermVariant::PowerdownWithTimeout;
                }
            }
        }
        Kind::SigtermTimeout => {
            emit(dom, managed, QmpEvent::Shutdown { guest: false });
            qemu_exit(dom, managed);
        }
        Kind::ThrottleExpire => match dom.qemu.throttle_pending.take() {
            Some(open) => emit(dom, managed, QmpEvent::VserportChange { open }),
            None => dom.qemu.throttled = false,
        },
        other => unreachable!("not a QEMU step: {other:?}"),
    }
}

/// The ACPI power button: the guest sees it only while it runs.
fn press_button(dom: &mut Domain) {
    if matches!(dom.guest.power, GuestPower::Up | GuestPower::Booting) {
        dom.guest.button = true;
        dom.guest.first_request.get_or_insert(Acted::Acpi);
    }
}

/// `qemu_system_reset`: RESET (guest-initiated or not), devices reset (the agent port closes,
/// the guest restarts where vCPUs run); from a stopped state the runstate becomes PRELAUNCH.
fn system_reset(dom: &mut Domain, managed: bool) {
    let q = &mut dom.qemu;
    let guest = q.guest_reset_requested && !q.reset_requested;
    q.reset_requested = false;
    q.guest_reset_requested = false;
    emit(dom, managed, QmpEvent::Reset { guest });
    port_change(dom, managed, false);
    let g = &mut dom.guest;
    g.ga_running = false;
    g.button = false;
    g.acted = None;
    if g.fs == Fs::InUse {
        g.fs = Fs::Dirty;
    }
    if dom.qemu.run == RunState::Running {
        g.power = GuestPower::Booting;
    } else {
        dom.qemu.run = RunState::Prelaunch;
        g.power = GuestPower::Off;
    }
}
