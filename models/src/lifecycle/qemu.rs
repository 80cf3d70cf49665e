//! QEMU: the QMP monitor (commands in, one ordered stream of events and replies out), the main
//! loop's reset and shutdown requests (`main_loop_should_exit`), signal handling
//! (`qemu_system_killed`, and the four proposals of LP#1754656), SeaBIOS's extra reset, and
//! the monitor's one-per-second throttle on VSERPORT_CHANGE (measured on QEMU 7.2).

use super::config::{Firmware, SigtermTimeout, SigtermVariant, StopSignal};
use super::state::*;
use super::step::{Kind, Step};
use super::{emit, port_change, qemu_exit, reply, Lifecycle, QEMU};

/// QEMU's possible steps.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let dom = &s.domains[d];
    let q = &dom.qemu;
    if q.run == RunState::Exited {
        return;
    }
    let me = m.domain_actor(d, QEMU);
    // A reset requested by `system_reset` is performed by main_loop_should_exit before the
    // monitor dispatches the next command, so RESET precedes every later reply on the wire.
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
    if q.sighup {
        out.push(m.step(me, Kind::Sighup));
    }
    if q.script {
        out.push(m.step(me, Kind::SignalScript { ok: true }));
        out.push(m.step(me, Kind::SignalScript { ok: false }));
    }
    if q.throttled {
        out.push(m.step(me, Kind::ThrottleExpire));
    }
    let booting = dom.guest.power == GuestPower::Booting && q.run == RunState::Running;
    if booting && dom.guest.firmware_reset {
        out.push(m.step(me, Kind::FirmwareReset));
    }
}

/// Long timers: a proposal's powerdown timeout.
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
            let (command, from) = dom.qemu.commands.pop_front().expect("a pending message");
            match command {
                // qmp_system_powerdown: POWERDOWN, then the ACPI power button.
                QmpCommand::SystemPowerdown => press_button(dom),
                // qmp_system_reset only requests; RESET comes later from the main loop.
                QmpCommand::SystemReset => dom.qemu.reset_requested = true,
                // qmp_cont → vm_start: RESUME is written before the reply.
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
            reply(dom, managed, from);
        }
        Kind::SystemReset => system_reset(dom, managed, config.firmware),
        Kind::FirmwareReset => {
            // SeaBIOS "Attempting a hard reboot": a guest-initiated qemu_system_reset while the
            // firmware runs: a button press before it is lost; the guest goes on booting.
            dom.guest.firmware_reset = false;
            dom.guest.button = false;
            emit(dom, managed, QmpEvent::Reset { guest: true });
        }
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
            signal(m, dom, managed, sigterm_is_graceful(m, d));
        }
        Kind::Sighup => {
            dom.qemu.sighup = false;
            if m.config.qemu_sigterm == SigtermVariant::SignalMap {
                // -signal SIGHUP,monitorcommand=system_reset
                dom.qemu.reset_requested = true;
            } else {
                signal(m, dom, managed, false);
            }
        }
        Kind::SignalScript { ok } => {
            dom.qemu.script = false;
            if *ok {
                press_button(dom); // the script wrote system_powerdown to the monitor
            }
        }
        Kind::SigtermTimeout => host_signal_exit(dom, managed),
        Kind::ThrottleExpire => match dom.qemu.throttle_pending.take() {
            Some(open) => emit(dom, managed, QmpEvent::VserportChange { open }),
            None => dom.qemu.throttled = false,
        },
        other => unreachable!("not a QEMU step: {other:?}"),
    }
}

/// Whether domain `d`'s QEMU turns SIGTERM into an ACPI powerdown (a proposal's, or the
/// proposal-1 switch) rather than powering off as today.
pub(super) fn sigterm_is_graceful(m: &Lifecycle, d: usize) -> bool {
    match m.config.qemu_sigterm {
        SigtermVariant::Poweroff => false,
        SigtermVariant::Switch => m.config.domains[d].graceful_switch,
        SigtermVariant::PowerdownByDefault | SigtermVariant::SignalMap | SigtermVariant::Script => {
            true
        }
    }
}

/// A host signal reaches the main loop. Today (and without a proposal's switch):
/// `qemu_system_killed` forces a poweroff even under `-no-shutdown`. A proposal turns it into
/// an ACPI powerdown (proposal 3 through its script), with an optional timeout.
fn signal(m: &Lifecycle, dom: &mut Domain, managed: bool, graceful: bool) {
    if !graceful {
        host_signal_exit(dom, managed);
        return;
    }
    if m.config.qemu_sigterm == SigtermVariant::Script {
        dom.qemu.script = true;
    } else {
        press_button(dom);
    }
    dom.qemu.sigterm_timer = m.config.sigterm_timeout == SigtermTimeout::PoweroffAfterTimeout;
}

/// SHUTDOWN{guest:false, reason:host-signal}, then the process exits.
fn host_signal_exit(dom: &mut Domain, managed: bool) {
    emit(dom, managed, QmpEvent::Shutdown { guest: false });
    qemu_exit(dom, managed);
}

/// The ACPI power button: the guest sees it only while it runs.
fn press_button(dom: &mut Domain) {
    if matches!(dom.guest.power, GuestPower::Up | GuestPower::Booting) {
        dom.guest.button = true;
        dom.guest.first_request.get_or_insert(Acted::Acpi);
    }
}

/// `qemu_system_reset`: RESET (guest-initiated or not), devices reset (the agent port closes,
/// whatever QEMU had forwarded into the guest is gone), the guest restarts where vCPUs run;
/// from a stopped state the runstate becomes PRELAUNCH. After this warm reset SeaBIOS will
/// reset once more.
fn system_reset(dom: &mut Domain, managed: bool, firmware: Firmware) {
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
    g.inbox.clear();
    g.firmware_reset = firmware == Firmware::Seabios;
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

/// A supervisor's stop signal arrives.
pub(super) fn deliver(dom: &mut Domain, signal: StopSignal) {
    if dom.qemu.run != RunState::Exited {
        match signal {
            StopSignal::Sigterm => dom.qemu.sigterm = true,
            StopSignal::Sighup => dom.qemu.sighup = true,
        }
    }
}
