//! The symptom a bug report states (`symptom: …` lines), as something a final state can be
//! checked against: the scenario property it names, or an observation condition its words map
//! to (`docs/repro.md`, "The symptom").

use models::scenario::Obs;
use serde::Serialize;

/// An observation condition a symptom's words stand for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The guest's file system was left dirty: some `D.fs == "dirty"`.
    DirtyFs,
    /// The guest agent is unusable on a running domain: some `D.state == "running"` with
    /// `D.agent_available` false.
    AgentUnavailable,
    /// QEMU crashed: some `*.crashed`.
    Crashed,
    /// A migration failed: `migrations_failed > 0`.
    MigrationFailed,
    /// A VM lost its switch port: `net.foreign_removal`, or some `X.state == "running"` with
    /// `X.connected` false.
    PortLost,
    /// libvirt killed QEMU: some `D.killed`.
    Killed,
    /// The domain ended shut off: some `D.result == "SHUTDOWN"` or `X.state == "shutoff"`.
    ShutOff,
}

/// Each condition and the words (lowercase, matched at the start of a word) that name it, tried
/// in this order.
const WORDS: [(Condition, &[&str]); 7] = [
    (
        Condition::DirtyFs,
        &["file system", "filesystem", "fsck", "unmount", "dirty"],
    ),
    (
        Condition::AgentUnavailable,
        &[
            "agent not",
            "agent is not",
            "agent unavailable",
            "agent error",
        ],
    ),
    (Condition::Crashed, &["crash", "abort", "assert"]),
    (Condition::MigrationFailed, &["migrat"]),
    (Condition::PortLost, &["port", "bridge", "disconnect"]),
    (Condition::Killed, &["kill", "sigterm", "terminat"]),
    (
        Condition::ShutOff,
        &[
            "shut off",
            "shutoff",
            "shut down",
            "powered off",
            "not reboot",
        ],
    ),
];

impl Condition {
    /// The condition `text` names, if any (the first of [`WORDS`] with a word in it).
    pub fn of(text: &str) -> Option<Condition> {
        let text = text.to_lowercase();
        let has = |w: &str| {
            text.match_indices(w).any(|(at, _)| {
                text[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric())
            })
        };
        WORDS
            .iter()
            .find(|(_, words)| words.iter().any(|w| has(w)))
            .map(|&(c, _)| c)
    }

    /// Whether the observations of a state satisfy the condition.
    pub fn holds(self, obs: &[(String, Obs)]) -> bool {
        let is =
            |suffix: &str, value: &Obs| obs.iter().any(|(n, v)| n.ends_with(suffix) && v == value);
        let text = |s: &str| Obs::Str(s.to_string());
        // `D.a` true-or-equal and `D.b` equal, for one D
        let both = |a: &str, va: &Obs, b: &str, vb: &Obs| {
            obs.iter().any(|(n, v)| {
                n.strip_suffix(a).is_some_and(|d| {
                    v == va && obs.iter().any(|(m, w)| *m == format!("{d}{b}") && w == vb)
                })
            })
        };
        match self {
            Condition::DirtyFs => is(".fs", &text("dirty")),
            Condition::AgentUnavailable => both(
                ".agent_available",
                &Obs::Bool(false),
                ".state",
                &text("running"),
            ),
            Condition::Crashed => is(".crashed", &Obs::Bool(true)),
            Condition::MigrationFailed => obs
                .iter()
                .any(|(n, v)| n == "migrations_failed" && matches!(v, Obs::Int(i) if *i > 0)),
            Condition::PortLost => {
                is("net.foreign_removal", &Obs::Bool(true))
                    || both(".connected", &Obs::Bool(false), ".state", &text("running"))
            }
            Condition::Killed => is(".killed", &Obs::Bool(true)),
            Condition::ShutOff => {
                is(".result", &text("SHUTDOWN")) || is(".state", &text("shutoff"))
            }
        }
    }
}

/// What a match must end in, for one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Goal {
    /// No symptom given, or one naming nothing known: any violated property.
    AnyViolation,
    /// The symptom names this property (index into the scenario's properties): it must be the
    /// one violated.
    Property(usize),
    /// A violated property, in a state where the condition holds.
    Condition(Condition),
}

impl Goal {
    /// The goal `symptom` sets for a scenario whose `always` and `at_end` properties are
    /// `names` (`None` for the other kinds): a property whose name the symptom contains, else
    /// the condition its words name, else any violation.
    pub fn of(symptom: Option<&str>, names: &[Option<&str>]) -> Goal {
        let Some(text) = symptom else {
            return Goal::AnyViolation;
        };
        let lower = text.to_lowercase();
        let named = names
            .iter()
            .position(|n| n.is_some_and(|n| !n.is_empty() && lower.contains(&n.to_lowercase())));
        match (named, Condition::of(text)) {
            (Some(i), _) => Goal::Property(i),
            (None, Some(c)) => Goal::Condition(c),
            (None, None) => Goal::AnyViolation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_name_conditions() {
        let of = Condition::of;
        assert_eq!(
            of("domain A was killed (shut off) by two reboot requests"),
            Some(Condition::Killed)
        );
        assert_eq!(
            of("SIGTERM: the guest file system was not cleanly unmounted"),
            Some(Condition::DirtyFs)
        );
        assert_eq!(
            of("agent not available due to an error"),
            Some(Condition::AgentUnavailable)
        );
        assert_eq!(
            of("migration failed; the VM is not running on the source"),
            Some(Condition::MigrationFailed)
        );
        assert_eq!(
            of("port vnet0 missing from br-int"),
            Some(Condition::PortLost)
        );
        assert_eq!(
            of("the domain is shut off instead of rebooted"),
            Some(Condition::ShutOff)
        );
        assert_eq!(
            of("killed right after `virsh reboot --mode agent`"),
            Some(Condition::Killed)
        );
        assert_eq!(of("as reported upstream"), None);
    }

    #[test]
    fn conditions_over_observations() {
        let obs = |pairs: &[(&str, Obs)]| -> Vec<(String, Obs)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect()
        };
        let s = |v: &str| Obs::Str(v.into());
        let running_no_agent = obs(&[
            ("A.state", s("running")),
            ("A.agent_available", Obs::Bool(false)),
            ("B.state", s("shutoff")),
            ("B.agent_available", Obs::Bool(true)),
        ]);
        assert!(Condition::AgentUnavailable.holds(&running_no_agent));
        let shut_no_agent = obs(&[
            ("A.state", s("shutoff")),
            ("A.agent_available", Obs::Bool(false)),
        ]);
        assert!(!Condition::AgentUnavailable.holds(&shut_no_agent));
        assert!(Condition::ShutOff.holds(&shut_no_agent));
        assert!(!Condition::Killed.holds(&shut_no_agent));
    }

    #[test]
    fn a_named_property_wins() {
        let names = [Some("reboot requests never kill the domain"), None];
        assert_eq!(
            Goal::of(
                Some("Reboot requests never kill the domain: it was killed"),
                &names
            ),
            Goal::Property(0)
        );
        assert_eq!(
            Goal::of(Some("domain killed"), &names),
            Goal::Condition(Condition::Killed)
        );
        assert_eq!(Goal::of(Some("odd"), &names), Goal::AnyViolation);
        assert_eq!(Goal::of(None, &names), Goal::AnyViolation);
    }
}
