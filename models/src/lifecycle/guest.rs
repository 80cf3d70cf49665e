//! The guest: its firmware and kernel, the power-button handler, qemu-ga on the virtio-serial
//! port (it answers `guest-sync` and runs `guest-shutdown`), and a shutdown path where the
//! first request takes the lock (as systemd refuses a conflicting job; the replay guest's init
//! does the same). An orderly shutdown stops qemu-ga, syncs, then powers off or reboots.

use super::config::{AcpiBehaviour, AgentStart, GuestPolicy};
use super::state::*;
use super::step::{Kind, Step};
use super::{ga_write, port_change, Lifecycle, GUEST};

/// The guest's possible steps.
pub(super) fn enabled(m: &Lifecycle, s: &State, d: usize, out: &mut Vec<Step>) {
    let g = &s.domains[d].guest;
    let me = m.domain_actor(d, GUEST);
    let mut push = |k| out.push(m.step(me, k));
    // qemu-ga reads its port until the shutdown sequence stops it.
    if g.ga_running {
        match g.inbox.first() {
            Some(GaRequest::Sync) => push(Kind::GaSync),
            Some(_) => push(Kind::GaShutdown),
            None => {}
        }
    }
    match g.power {
        // The kernel boots once the firmware is done (SeaBIOS may reset first).
        GuestPower::Booting if !g.firmware_reset => push(Kind::GuestBoot),
        GuestPower::Up if g.button => push(Kind::PowerButton),
        GuestPower::PoweringOff | GuestPower::Rebooting => push(if g.ga_running {
            Kind::StopServices
        } else {
            Kind::GuestHalt
        }),
        _ => {}
    }
}

/// Applies a guest step.
pub(super) fn apply(m: &Lifecycle, s: &mut State, d: usize, kind: &Kind) {
    let config = &m.config.domains[d];
    let managed = config.libvirt;
    let dom = &mut s.domains[d];
    match kind {
        Kind::GuestBoot => {
            let g = &mut dom.guest;
            g.power = GuestPower::Up;
            g.fs = Fs::InUse;
            if g.initial_boot {
                g.initial_boot = false;
            } else {
                g.boots = g.boots.saturating_add(1);
            }
            if config.agent != AgentStart::None {
                g.ga_running = true;
                port_change(dom, managed, true);
                // QEMU reads the chardev again: a guest-sync left in the socket arrives.
                if std::mem::take(&mut dom.qemu.sync_backlog) {
                    dom.guest.inbox.send(GaRequest::Sync);
                }
            }
        }
        Kind::PowerButton => {
            dom.guest.button = false;
            if config.acpi == AcpiBehaviour::Honour {
                request(&mut dom.guest, config.guest_policy, Acted::Acpi);
            }
        }
        Kind::GaSync => {
            dom.guest.inbox.pop_front();
            // qemuAgentIOProcessLine accepts the reply only while the caller waits for this
            // sync ("Ignoring delayed reply on sync" otherwise); qemuAgentCommand then writes
            // guest-shutdown to the port that just answered.
            let lv = &mut dom.libvirt;
            let waiting = lv.agent && !lv.agent_closing && lv.agent_msg == Some(AgentMsg::Sync);
            if managed && waiting {
                lv.agent_msg = Some(AgentMsg::Shutdown);
                if let Some(request) = lv.agent_request {
                    ga_write(dom, request);
                }
            }
        }
        Kind::GaShutdown => {
            let acted = match dom.guest.inbox.pop_front().expect("a pending message") {
                GaRequest::Reboot => Acted::AgentReboot,
                _ => Acted::AgentPowerdown,
            };
            request(&mut dom.guest, config.guest_policy, acted);
        }
        Kind::StopServices => {
            // qemu-ga exits; what it had not read from its port is gone with it.
            dom.guest.ga_running = false;
            dom.guest.inbox.clear();
            port_change(dom, managed, false);
        }
        Kind::GuestHalt => {
            port_change(dom, managed, false);
            let g = &mut dom.guest;
            g.fs = Fs::Clean;
            g.inbox.clear();
            if g.power == GuestPower::Rebooting {
                dom.qemu.guest_reset_requested = true;
            } else {
                dom.qemu.shutdown_requested = true;
            }
            g.power = GuestPower::Off;
        }
        other => unreachable!("not a guest step: {other:?}"),
    }
}

/// A shutdown or reboot request reaches the shutdown path; the first one takes the lock.
fn request(g: &mut Guest, policy: GuestPolicy, acted: Acted) {
    if g.acted.is_some() {
        return; // "another shutdown already in progress - ignored"
    }
    if policy == GuestPolicy::First && g.first_request != Some(acted) {
        return;
    }
    g.acted = Some(acted);
    g.taken = g.taken.saturating_add(1);
    g.power = match acted {
        Acted::AgentReboot => GuestPower::Rebooting,
        Acted::Acpi | Acted::AgentPowerdown => GuestPower::PoweringOff,
    };
}
