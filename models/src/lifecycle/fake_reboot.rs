//! The `reboot-<name>` thread running `qemuProcessFakeReboot`: under the normal job it sends
//! `system_reset`, then `cont`, then clears pausedShutdown and fakeReboot.

use super::config::FakeRebootClear;
use super::state::*;
use super::step::{Kind, Step};
use super::{send_command, Lifecycle, REBOOT};

fn reply_pending(dom: &Domain, me: u16) -> bool {
    dom.qemu.commands.iter().any(|&(_, who)| who == me)
}

/// The thread's possible step.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let dom = &s.domains[d];
    let me = m.domain_actor(d, REBOOT);
    let kind = match dom.fake_reboot_thread {
        None => return,
        Some(FakeRebootPc::Spawned) if dom.libvirt.job.is_none() => Kind::FakeRebootReset,
        Some(FakeRebootPc::ResetSent) if !reply_pending(dom, me) => Kind::FakeRebootCont,
        Some(FakeRebootPc::ContSent) if !reply_pending(dom, me) => Kind::FakeRebootDone,
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

/// Applies a step of the thread.
pub(super) fn apply(m: &Lifecycle, s: &mut State, d: usize, kind: &Kind) {
    let me = m.domain_actor(d, REBOOT);
    let dom = &mut s.domains[d];
    let dead = dom.qemu.run == RunState::Exited;
    match kind {
        Kind::FakeRebootReset => {
            if dom.libvirt.state == DomState::Shutoff || dead {
                finish(m, dom); // "guest unexpectedly quit"
                return;
            }
            dom.libvirt.job = Some(me);
            send_command(dom, QmpCommand::SystemReset, me);
            dom.fake_reboot_thread = Some(FakeRebootPc::ResetSent);
        }
        Kind::FakeRebootCont => {
            if dead {
                dom.libvirt.job = None;
                finish(m, dom);
                return;
            }
            send_command(dom, QmpCommand::Cont, me);
            dom.fake_reboot_thread = Some(FakeRebootPc::ContSent);
        }
        Kind::FakeRebootDone => {
            if !dead {
                dom.libvirt.state = DomState::Running; // RUNNING_BOOTED
            }
            dom.libvirt.job = None;
            finish(m, dom);
        }
        other => unreachable!("not a fake-reboot step: {other:?}"),
    }
}
