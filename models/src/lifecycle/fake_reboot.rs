//! The `reboot-<name>` thread running `qemuProcessFakeReboot`: under the normal job it sends
//! `system_reset`, then `cont`, then clears pausedShutdown and fakeReboot.

use super::config::FakeRebootClear;
use super::state::*;
use super::step::{Kind, Step};
use super::{monitor_returned, qemu_exit, send_command, take_reply, Lifecycle, REBOOT};

/// The thread's possible step.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let dom = &s.domains[d];
    let me = m.domain_actor(d, REBOOT);
    let kind = match dom.fake_reboot_thread {
        None => return,
        Some(FakeRebootPc::Spawned) if dom.libvirt.job.is_none() => Kind::FakeRebootReset,
        Some(FakeRebootPc::ResetSent) if monitor_returned(dom, me) => Kind::FakeRebootCont,
        Some(FakeRebootPc::ContSent) if monitor_returned(dom, me) => Kind::FakeRebootDone,
        Some(_) => return,
    };
    out.push(m.step(me, kind));
}

fn finish(m: &Lifecycle, dom: &mut Domain) {
    dom.libvirt.paused_shutdown = false;
    if m.config.fake_reboot_clear == FakeRebootClear::OnReset {
        dom.libvirt.fake_reboot = false; // qemuDomainSetFakeReboot(vm, false) in cleanup
    }
    dom.fake_reboot_thread = None;
}

/// A monitor call of the thread failed: end the job, `qemuProcessKill(FORCE)`, clean up.
fn fail(m: &Lifecycle, dom: &mut Domain, managed: bool) {
    dom.libvirt.job = None;
    if dom.qemu.run != RunState::Exited {
        qemu_exit(dom, managed);
    }
    finish(m, dom);
}

/// Applies a step of the thread.
pub(super) fn apply(m: &Lifecycle, s: &mut State, d: usize, kind: &Kind) {
    let me = m.domain_actor(d, REBOOT);
    let managed = m.config.domains[d].libvirt;
    let dom = &mut s.domains[d];
    match kind {
        Kind::FakeRebootReset => {
            if dom.libvirt.state == DomState::Shutoff {
                finish(m, dom); // "guest unexpectedly quit"
                return;
            }
            dom.libvirt.job = Some(me);
            send_command(dom, QmpCommand::SystemReset, me);
            dom.fake_reboot_thread = Some(FakeRebootPc::ResetSent);
        }
        Kind::FakeRebootCont => {
            if !take_reply(dom, me) {
                fail(m, dom, managed);
                return;
            }
            send_command(dom, QmpCommand::Cont, me);
            dom.fake_reboot_thread = Some(FakeRebootPc::ContSent);
        }
        Kind::FakeRebootDone => {
            if !take_reply(dom, me) {
                fail(m, dom, managed);
                return;
            }
            dom.libvirt.state = DomState::Running; // RUNNING_BOOTED
            dom.libvirt.job = None;
            finish(m, dom);
        }
        other => unreachable!("not a fake-reboot step: {other:?}"),
    }
}
