//! What the search expects of a parsed log (`docs/repro.md`, "Matching"): the entries in order,
//! which of them model steps may repeat, which VSERPORT_CHANGE may be matched ahead of the
//! entries QEMU's throttle let it trail, and how many leading entries are the domain's launch.

use super::log::{Entry, Log, Stamp};

/// QEMU holds a VSERPORT_CHANGE back up to this long (its one-per-second throttle).
const THROTTLE_MICROS: i64 = 1_000_000;

/// One log entry as the search expects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    /// The canonical event.
    pub event: String,
    /// Index into the log's entries.
    pub entry: usize,
    /// Consecutive model steps may all show it (a QMP, agent or signal event).
    pub repeats: bool,
    /// The earliest position (index into the wanted list) at which a model step may match it
    /// ahead of the entries before it; its own index when it may not be matched early.
    pub ahead_from: usize,
}

/// The event kind that decides observability: the name up to its detail (`qmp:SHUTDOWN` for
/// `qmp:SHUTDOWN:guest`, `api:reboot` for `api:reboot:acpi`).
pub fn kind(event: &str) -> &str {
    match event.match_indices(':').nth(1) {
        Some((at, _)) => &event[..at],
        None => event,
    }
}

/// Whether `event` may be part of the domain's launch, before a scenario's initial state:
/// its creation, libvirt's `cont` (RESUME), firmware RESETs, qemu-ga connecting.
fn launch_event(event: &str) -> bool {
    event == "api:start"
        || event == "qmp:RESUME"
        || kind(event) == "qmp:RESET"
        || event == "qmp:VSERPORT_CHANGE:open"
}

/// Whether consecutive model steps may all match one entry of `event`: the log shows that a QMP,
/// agent or signal event happened there, not how often (API calls and network operations are
/// counted).
fn repeats(event: &str) -> bool {
    !(event.starts_with("api:") || event.starts_with("net:"))
}

/// The expectations of a log.
pub struct Plan<'a> {
    log: &'a Log,
    /// How many leading entries may be launch events a scenario starts after (never all).
    pub launch: usize,
    /// Per entry, the first entry it may be matched ahead of.
    ahead_from: Vec<usize>,
}

impl<'a> Plan<'a> {
    /// The plan of `log`.
    pub fn new(log: &'a Log) -> Plan<'a> {
        let entries = &log.entries;
        // never all of them: a match must explain something
        let launch = entries
            .iter()
            .take_while(|e| launch_event(&e.event))
            .count()
            .min(entries.len().saturating_sub(1));
        let ahead_from = (0..entries.len()).map(|j| ahead_from(entries, j)).collect();
        Plan {
            log,
            launch,
            ahead_from,
        }
    }

    /// The wanted entries when the first `skip` are taken as launch events.
    pub fn wants(&self, skip: usize) -> Vec<Want> {
        (skip..self.log.entries.len())
            .map(|j| Want {
                event: self.log.entries[j].event.clone(),
                entry: j,
                repeats: repeats(&self.log.entries[j].event),
                ahead_from: self.ahead_from[j].max(skip) - skip,
            })
            .collect()
    }
}

/// The first entry `j` may be matched ahead of: a VSERPORT_CHANGE may trail, by up to the
/// throttle's second, the entries logged before it (none of them another VSERPORT_CHANGE).
fn ahead_from(entries: &[Entry], j: usize) -> usize {
    if kind(&entries[j].event) != "qmp:VSERPORT_CHANGE" {
        return j;
    }
    let Some(at) = entries[j].stamp else {
        return j;
    };
    let within = |e: &Entry| {
        kind(&e.event) != "qmp:VSERPORT_CHANGE"
            && e.stamp
                .and_then(|s: Stamp| at.since(s))
                .is_some_and(|d| (0..=THROTTLE_MICROS).contains(&d))
    };
    let mut i = j;
    while i > 0 && within(&entries[i - 1]) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::log::parse;

    #[test]
    fn launch_repeats_and_the_throttle_window() {
        let log = parse(
            "2026-12-02 02:56:51.226+0000: event RESUME for domain 'A': <null>
2026-12-02 02:57:03.540+0000: event VSERPORT_CHANGE for domain 'A': {\"open\":true}
virsh reboot A
2026-12-02 02:57:04.537+0000: event SHUTDOWN for domain 'A': {\"guest\":true}
2026-12-02 02:57:04.540+0000: event VSERPORT_CHANGE for domain 'A': {\"open\":false}
2026-12-02 02:57:06.000+0000: event VSERPORT_CHANGE for domain 'A': {\"open\":true}
",
        );
        let plan = Plan::new(&log);
        assert_eq!(plan.launch, 2);
        let wants = plan.wants(2);
        let got: Vec<(&str, bool, usize)> = wants
            .iter()
            .map(|w| (w.event.as_str(), w.repeats, w.ahead_from))
            .collect();
        assert_eq!(
            got,
            [
                ("api:reboot", false, 0),
                ("qmp:SHUTDOWN:guest", true, 1),
                ("qmp:VSERPORT_CHANGE:closed", true, 1),
                ("qmp:VSERPORT_CHANGE:open", true, 3),
            ]
        );
        assert_eq!(kind("qmp:SHUTDOWN:guest"), "qmp:SHUTDOWN");
        assert_eq!(kind("agent:eof"), "agent:eof");
    }
}
