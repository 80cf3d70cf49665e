//! Versioned, self-describing traces: steps by actor and label (never by position), the choice
//! taken, what changed in the state, and the fingerprint after each step; and their replay.

use crate::fingerprint::{fingerprint, format_fingerprint};
use crate::model::Model;
use crate::search::Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The trace file format's version; bumped when its layout changes.
pub const TRACE_FORMAT_VERSION: u32 = 1;

/// The `format` marker every trace carries, so foreign YAML is refused with a clear message.
pub const TRACE_FORMAT: &str = "vmrace-trace";

/// A replayable trace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Trace {
    /// Always [`TRACE_FORMAT`].
    pub format: String,
    /// [`TRACE_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The model's [`Model::name`].
    pub model: String,
    /// The model's [`Model::version`].
    pub model_version: u32,
    /// Free-form context: scenario, variant, parameters.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// The property the trace violates, if any.
    #[serde(default)]
    pub property: Option<String>,
    /// What the trace witnesses: a violation kind or an outcome name.
    #[serde(default)]
    pub witness: Option<String>,
    /// Index of the initial state.
    pub init: usize,
    /// Fingerprint of the initial state.
    pub init_fingerprint: String,
    /// For lassos: the step (0-based index into `steps`) at which the repeated cycle starts.
    #[serde(default)]
    pub lasso_start: Option<usize>,
    /// The initial state, for reading.
    pub init_state: Value,
    /// The steps.
    pub steps: Vec<TraceStep>,
}

/// One step of a trace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TraceStep {
    /// The actor's name.
    pub actor: String,
    /// The step's label.
    pub label: String,
    /// The upstream function it models.
    #[serde(default)]
    pub upstream: Option<String>,
    /// The action, with its choice, as data.
    pub action: Value,
    /// What changed in the state.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// Fingerprint of the state after the step.
    pub fingerprint: String,
}

/// One changed field: its path in the state and its value before and after.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Change {
    /// Path such as `domains[0].fake_reboot`.
    pub path: String,
    /// Value before the step.
    pub before: Value,
    /// Value after the step.
    pub after: Value,
}

/// Why a trace could not be replayed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplayError {
    /// Not a vmrace trace at all.
    #[error("not a vmrace trace: expected `format: {TRACE_FORMAT}`, found {0:?}")]
    Foreign(String),
    /// A trace format from another vmrace version.
    #[error("trace format version {found} is not supported (this vmrace reads version {TRACE_FORMAT_VERSION})")]
    FormatVersion {
        /// Version found.
        found: u32,
    },
    /// A trace of another model.
    #[error("trace is of model `{found}`, expected `{expected}`")]
    Model {
        /// Model named by the trace.
        found: String,
        /// Model replaying it.
        expected: String,
    },
    /// A trace made by an older (or newer) version of the model.
    #[error("trace was made by version {found} of model `{model}`, this is version {expected}; re-run the search to regenerate it")]
    ModelVersion {
        /// Model name.
        model: String,
        /// Version in the trace.
        found: u32,
        /// Current version.
        expected: u32,
    },
    /// The initial state does not exist or differs.
    #[error("initial state {init} does not match the model ({reason})")]
    Init {
        /// Index in the trace.
        init: usize,
        /// What differs.
        reason: String,
    },
    /// A step is not enabled, or leads elsewhere than the trace says.
    #[error("step {step} ({actor}: {label}) diverges: {reason}")]
    Diverged {
        /// 1-based step number.
        step: usize,
        /// Actor named by the trace.
        actor: String,
        /// Label named by the trace.
        label: String,
        /// What went wrong.
        reason: String,
    },
}

impl Trace {
    /// Builds the trace of `path` in `model`.
    pub fn from_path<M: Model>(model: &M, path: &Path<M>) -> Trace {
        let actors = model.actors();
        let mut state = model.init_states()[path.init].clone();
        let mut before = model.state_json(&state);
        let init_state = before.clone();
        let init_fingerprint = format_fingerprint(fingerprint(&state));
        let mut steps = Vec::with_capacity(path.actions.len());
        for action in &path.actions {
            state = model.next_state(&state, action);
            let after = model.state_json(&state);
            let info = model.step_info(action);
            let mut changes = Vec::new();
            diff("", &before, &after, &mut changes);
            steps.push(TraceStep {
                actor: actors[info.actor as usize].clone(),
                label: info.label,
                upstream: info.upstream,
                action: to_value(action),
                changes,
                fingerprint: format_fingerprint(fingerprint(&state)),
            });
            before = after;
        }
        Trace {
            format: TRACE_FORMAT.to_string(),
            format_version: TRACE_FORMAT_VERSION,
            model: model.name(),
            model_version: model.version(),
            context: BTreeMap::new(),
            property: None,
            witness: None,
            init: path.init,
            init_fingerprint,
            lasso_start: None,
            init_state,
            steps,
        }
    }

    /// Re-executes the trace, returning the states after each step (the initial state first).
    /// Stops at the first step that is not enabled or leads to another state.
    pub fn replay<M: Model>(&self, model: &M) -> Result<Vec<M::State>, ReplayError> {
        if self.format != TRACE_FORMAT {
            return Err(ReplayError::Foreign(self.format.clone()));
        }
        if self.format_version != TRACE_FORMAT_VERSION {
            return Err(ReplayError::FormatVersion {
                found: self.format_version,
            });
        }
        if self.model != model.name() {
            return Err(ReplayError::Model {
                found: self.model.clone(),
                expected: model.name(),
            });
        }
        if self.model_version != model.version() {
            return Err(ReplayError::ModelVersion {
                model: self.model.clone(),
                found: self.model_version,
                expected: model.version(),
            });
        }
        let inits = model.init_states();
        let Some(init) = inits.get(self.init) else {
            return Err(ReplayError::Init {
                init: self.init,
                reason: format!("the model has {} initial states", inits.len()),
            });
        };
        if format_fingerprint(fingerprint(init)) != self.init_fingerprint {
            return Err(ReplayError::Init {
                init: self.init,
                reason: "fingerprint differs".to_string(),
            });
        }
        let mut before = model.state_json(init);
        if let Some(first) = first_difference(&self.init_state, &before) {
            return Err(ReplayError::Init {
                init: self.init,
                reason: format!("the trace's `init_state` differs at `{first}`"),
            });
        }
        let actors = model.actors();
        let mut states = vec![init.clone()];
        let mut enabled = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let state = states.last().expect("initial state");
            enabled.clear();
            model.actions(state, &mut enabled);
            let diverged = |reason: String| ReplayError::Diverged {
                step: i + 1,
                actor: step.actor.clone(),
                label: step.label.clone(),
                reason,
            };
            let found = enabled.iter().find(|a| {
                let info = model.step_info(a);
                actors[info.actor as usize] == step.actor
                    && info.label == step.label
                    && to_value(*a) == step.action
            });
            let Some(action) = found else {
                let same_name = enabled.iter().find(|a| {
                    let info = model.step_info(a);
                    actors[info.actor as usize] == step.actor && info.label == step.label
                });
                if let Some(a) = same_name {
                    return Err(diverged(format!(
                        "a step of that name is enabled here, but its action is {}, the trace says {}",
                        to_value(a),
                        step.action
                    )));
                }
                let names: Vec<String> = enabled
                    .iter()
                    .map(|a| {
                        let info = model.step_info(a);
                        format!("{}: {}", actors[info.actor as usize], info.label)
                    })
                    .collect();
                return Err(diverged(format!(
                    "not enabled here; enabled steps are [{}]",
                    names.join(", ")
                )));
            };
            let next = model.next_state(state, action);
            let fp = format_fingerprint(fingerprint(&next));
            if fp != step.fingerprint {
                return Err(diverged(format!(
                    "the state after it has fingerprint {fp}, the trace says {}",
                    step.fingerprint
                )));
            }
            let after = model.state_json(&next);
            let mut changes = Vec::new();
            diff("", &before, &after, &mut changes);
            if changes != step.changes {
                let first = changes
                    .iter()
                    .zip(&step.changes)
                    .find(|(m, t)| m != t)
                    .map(|(m, _)| m.path.clone())
                    .or_else(|| changes.get(step.changes.len()).map(|c| c.path.clone()))
                    .or_else(|| step.changes.get(changes.len()).map(|c| c.path.clone()))
                    .unwrap_or_default();
                return Err(diverged(format!(
                    "the trace's recorded changes differ from the model's at `{first}`"
                )));
            }
            before = after;
            states.push(next);
        }
        Ok(states)
    }

    /// The trace as YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("traces serialise")
    }

    /// Parses a trace, refusing anything that is not one.
    pub fn from_yaml(text: &str) -> Result<Trace, String> {
        crate::yaml::check(text).map_err(|e| format!("not a readable trace: {e}"))?;
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if format != TRACE_FORMAT {
            return Err(ReplayError::Foreign(format.to_string()).to_string());
        }
        serde_yaml_ng::from_value(value).map_err(|e| format!("malformed trace: {e}"))
    }
}

/// The first path at which two JSON values differ, if they do.
fn first_difference(a: &Value, b: &Value) -> Option<String> {
    let mut changes = Vec::new();
    diff("", a, b, &mut changes);
    changes.into_iter().next().map(|c| {
        if c.path.is_empty() {
            "(the whole state)".to_string()
        } else {
            c.path
        }
    })
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).expect("model actions serialise to JSON")
}

/// Appends the leaves that differ between `before` and `after` to `out`.
pub fn diff(path: &str, before: &Value, after: &Value, out: &mut Vec<Change>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff(
                    &sub,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if before != after => out.push(Change {
            path: path.to_string(),
            before: before.clone(),
            after: after.clone(),
        }),
        _ => {}
    }
}
