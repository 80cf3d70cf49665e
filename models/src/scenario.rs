//! What every scenario-driven model offers beyond [`sim::Model`]: named observations of a state
//! (the vocabulary of a scenario's properties and outcomes) and a description of its variants.

use serde::Serialize;

/// The value of one observation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Obs {
    /// A flag, e.g. `B.connected`.
    Bool(bool),
    /// A count, e.g. `A.resets`.
    Int(i64),
    /// A named state, e.g. `A.state = "shutoff"`.
    Str(String),
}

impl std::fmt::Display for Obs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Obs::Bool(b) => write!(f, "{b}"),
            Obs::Int(i) => write!(f, "{i}"),
            Obs::Str(s) => write!(f, "{s}"),
        }
    }
}

/// A model whose states can be observed by name.
pub trait Observable: sim::Model {
    /// Every observation of `state`, in a fixed order. Names are dotted, starting with the
    /// domain or component they describe (`A.state`, `A.fs`, `net.ports`).
    fn observe(&self, state: &Self::State) -> Vec<(String, Obs)>;
}

/// One axis along which a model varies (a patch, a version), with the values it takes.
#[derive(Clone, Debug, Serialize)]
pub struct VariantAxis {
    /// The setup key that selects it, e.g. `fake_reboot`.
    pub key: &'static str,
    /// Each value and the upstream code state it stands for.
    pub values: Vec<(&'static str, &'static str)>,
}

/// What `vmrace list` shows about a model.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    /// The name scenarios use in `model:`.
    pub name: &'static str,
    /// One line on what it models.
    pub summary: &'static str,
    /// Its variant axes.
    pub axes: Vec<VariantAxis>,
}

/// An observable event as a log shows it, in the canonical names `vmrace repro` parses logs into
/// (`docs/repro.md`): `qmp:<EVENT>[:<detail>]` (QMP events, e.g. `qmp:SHUTDOWN:guest`,
/// `qmp:VSERPORT_CHANGE:open`, `qmp:MIGRATION:failed`), `api:<call>[:<mode>]` (a libvirt API
/// entry, e.g. `api:reboot:acpi`), `agent:eof`, `agent:error`, `signal:SIGTERM`, `net:<op>`
/// (tap and port operations). A model's event matches a log event when they are equal or one
/// is a `:`-prefix of the other (`api:reboot:acpi` matches `api:reboot`).
pub type LogEvent = &'static str;

/// The name serde gives a unit enum value (`kebab-case` in these models, e.g. `migration-failed`).
pub fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// Refuses a list of named things (`list` is its setup key, e.g. `domains`) in which a name
/// appears twice. The message begins with the key path of the second one
/// (`domains[1].name: …`), where setup messages place themselves.
pub fn distinct_names<'a>(
    list: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let names: Vec<&str> = names.into_iter().collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = names[..i].iter().position(|n| n == name) {
            return Err(format!(
                "{list}[{i}].name: the name `{name}` is used twice ({list}[{first}] has it too)"
            ));
        }
    }
    Ok(())
}

/// Whether a model event matches a log event (equal, or one is a `:`-prefix of the other).
pub fn log_matches(model: &str, log: &str) -> bool {
    let prefix = |a: &str, b: &str| b.starts_with(a) && b[a.len()..].starts_with(':');
    model == log || prefix(model, log) || prefix(log, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_given_twice_is_placed_at_its_second_use() {
        assert_eq!(distinct_names("domains", ["A", "B"]), Ok(()));
        let e = distinct_names("threads", ["a", "b", "a"]).expect_err("twice");
        assert!(e.starts_with("threads[2].name: "), "{e}");
        assert!(e.contains("`a`") && e.contains("threads[0]"), "{e}");
    }
}
