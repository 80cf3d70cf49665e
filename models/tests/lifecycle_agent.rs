//! The lifecycle model's agent channel against libvirt's `qemuAgentCommand`: every reachable
//! state of seed 000's "ACPI reboot, then agent reboot" is checked for what the real code
//! cannot do — a `guest-shutdown` written to a closed port, a request surviving a reset, a
//! `guest-shutdown` without a sync round trip first.

use models::lifecycle::config::Config;
use models::lifecycle::state::{GaRequest, GuestPower, State};
use models::lifecycle::Lifecycle;
use serde_json::json;
use sim::Model;
use std::collections::{HashSet, VecDeque};

fn seed_000(fake_reboot: &str) -> Lifecycle {
    let config: Config = serde_json::from_value(json!({
        "domains": [{"name": "A"}],
        "fake_reboot": fake_reboot,
        "threads": [
            {"name": "api-1", "ops": [{"reboot": {"domain": "A", "mode": "acpi"}}]},
            {"name": "api-2", "ops": [
                {"wait": {"domain": "A", "until": "guest-acted"}},
                {"reboot": {"domain": "A", "mode": "agent"}}
            ]}
        ]
    }))
    .expect("config");
    Lifecycle::new(config).expect("model")
}

/// Every transition (before, step label, after) of the model's reachable state graph.
fn transitions(m: &Lifecycle) -> Vec<(State, String, State)> {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<State> = m.init_states().into();
    let mut out = Vec::new();
    let mut steps = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(s.clone()) {
            continue;
        }
        steps.clear();
        m.actions(&s, &mut steps);
        for step in &steps {
            let next = m.next_state(&s, step);
            out.push((s.clone(), m.step_info(step).label, next.clone()));
            queue.push_back(next);
        }
    }
    assert!(seen.len() > 1000, "explored only {} states", seen.len());
    out
}

fn shutdown_requests(s: &State) -> usize {
    let g = &s.domains[0].guest;
    g.inbox.iter().filter(|r| **r != GaRequest::Sync).count()
}

#[test]
fn guest_shutdown_never_sits_behind_a_closed_port() {
    for variant in ["b0c144c5792", "revert-b0c144c5792"] {
        for (_, label, s) in transitions(&seed_000(variant)) {
            let q = &s.domains[0].qemu;
            assert!(
                q.port_open || shutdown_requests(&s) == 0,
                "{variant}: after `{label}` a guest-shutdown waits in a closed port: {s:?}"
            );
        }
    }
}

#[test]
fn a_reset_or_poweroff_drops_what_the_guest_had_not_read() {
    for (before, label, after) in transitions(&seed_000("revert-b0c144c5792")) {
        let g = &after.domains[0].guest;
        let died = before.domains[0].guest.power != GuestPower::Off
            && matches!(label.as_str(), "reset" | "sync, halt" | "stop qemu-ga");
        if died {
            assert!(
                g.inbox.is_empty(),
                "after `{label}` the guest still holds {:?}",
                g.inbox
            );
        }
    }
}

#[test]
fn every_guest_shutdown_follows_an_answered_sync() {
    let mut writes = 0;
    for (before, label, after) in transitions(&seed_000("b0c144c5792")) {
        if shutdown_requests(&after) > shutdown_requests(&before) {
            writes += 1;
            assert_eq!(
                label, "qemu-ga answers guest-sync; libvirt writes guest-shutdown",
                "guest-shutdown written without a sync round trip"
            );
        }
    }
    assert!(writes > 0, "no guest-shutdown was ever written");
}
