//! Checking a trace against its scenario before anything trusts it: the scenario file is found
//! relative to the trace (so a trace attached to a bug report replays anywhere) and must be the
//! one the trace was made from (its SHA-256), every step must replay exactly as recorded
//! (initial state, actions, fingerprints, recorded changes), and the trace's property must be
//! one the scenario states. The result says whether that property is still violated at the end.

use super::checked::Checked;
use super::{Expected, Job, Scenario, WithModel};
use crate::error::CliError;
use models::lifecycle::Lifecycle;
use models::migration::Migration;
use models::network::Network;
use models::scenario::Observable;
use sha2::{Digest, Sha256};
use sim::{Model, PropertyKind, ReplayError, Trace};
use std::path::{Path, PathBuf};

/// The context key holding the scenario file's SHA-256.
pub const SCENARIO_SHA256: &str = "scenario_sha256";

/// The context key holding the SHA-256 of a `model: lang` scenario's model file.
pub const MODEL_SHA256: &str = "model_sha256";

/// The property name a deadlock trace carries.
pub const DEADLOCK: &str = "deadlock";

/// The hex SHA-256 of a scenario file's bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What replaying a trace to its end showed about its property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyStatus {
    /// The trace names no property (an outcome witness).
    None,
    /// The property is violated at the trace's end.
    Violated,
    /// The trace replays, but its property is not violated at its end (a cut or edited
    /// trace, or a model that no longer has the bug).
    NotViolated,
}

/// A trace that replayed against its scenario.
pub struct Verified {
    /// The scenario it belongs to.
    pub scenario: Scenario,
    /// Its case and variant.
    pub job: Job,
    /// The observations after the last step.
    pub observations: Vec<(String, String)>,
    /// Its property at the end.
    pub status: PropertyStatus,
}

/// Where the scenario file a trace names is looked for: the path as written (relative to the
/// working directory), then relative to the trace's directory and each of its ancestors.
fn candidates(file: &str, trace_path: &Path) -> Vec<PathBuf> {
    let named = PathBuf::from(file);
    let mut out = vec![named.clone()];
    if named.is_relative() {
        let dir = trace_path.parent().unwrap_or(Path::new("."));
        let base = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        for ancestor in base.ancestors() {
            out.push(ancestor.join(&named));
            if let Some(name) = named.file_name() {
                out.push(ancestor.join(name));
            }
        }
    }
    out
}

/// Finds and loads the scenario a trace names, refusing one whose content changed.
pub fn scenario_of(trace: &Trace, path: &Path) -> Result<(Scenario, Job), CliError> {
    let get = |k: &str| {
        trace.context.get(k).cloned().ok_or_else(|| {
            CliError::bad_input(format!(
                "{}: the trace's context lacks `{k}`",
                path.display()
            ))
        })
    };
    let file = get("file")?;
    let want = trace.context.get(SCENARIO_SHA256);
    let mut changed = None;
    let mut found = None;
    for candidate in candidates(&file, path) {
        // Only regular files: a FIFO named by a hostile trace would block the read.
        if !candidate.is_file() {
            continue;
        }
        let Ok(bytes) = crate::input::read_bytes(&candidate, crate::input::Kind::Scenario) else {
            continue;
        };
        let have = sha256_hex(&bytes);
        match want {
            Some(w) if *w != have => {
                changed.get_or_insert((candidate, have));
            }
            _ => {
                found = Some(candidate);
                break;
            }
        }
    }
    let Some(scenario_path) = found else {
        return Err(CliError::bad_input(match changed {
            Some((p, have)) => format!(
                "{}: the scenario {} changed since the trace was made (its SHA-256 is {have}, \
                 the trace was made from {})",
                path.display(),
                p.display(),
                want.map(String::as_str).unwrap_or("?")
            ),
            None => format!(
                "{}: scenario file `{file}` not found (looked relative to the working directory \
                 and to the trace's directory and its parents)",
                path.display()
            ),
        }));
    };
    let scenario = Scenario::load(&scenario_path)?;
    let job = Job {
        case: trace.context.get("case").cloned(),
        variant: get("variant")?,
        expected: Expected::Holds,
    };
    if let Some(want) = trace.context.get(MODEL_SHA256) {
        let have = scenario.model_file_sha256(&job);
        if have.as_ref() != Some(want) {
            return Err(CliError::bad_input(format!(
                "{}: the model file {} of scenario {} changed since the trace was made (its \
                 SHA-256 is {}, the trace was made from {want})",
                path.display(),
                scenario
                    .model_file(&job)
                    .map_or_else(|| "?".into(), |f| f.display().to_string()),
                scenario.name,
                have.as_deref().unwrap_or("unreadable")
            )));
        }
    }
    if !scenario
        .jobs()?
        .iter()
        .any(|j| j.case == job.case && j.variant == job.variant)
    {
        return Err(CliError::bad_input(format!(
            "{}: scenario {} has no variant `{}`{}",
            path.display(),
            scenario.name,
            job.variant,
            job.case
                .as_deref()
                .map(|c| format!(" in case `{c}`"))
                .unwrap_or_default()
        )));
    }
    Ok((scenario, job))
}

/// Replays `trace` (read from `path`) against its scenario; a trace that does not replay, or
/// names a property the scenario does not state, is bad input naming what is wrong.
pub fn verify(trace: &Trace, path: &Path) -> Result<Verified, CliError> {
    let (scenario, job) = scenario_of(trace, path)?;
    if let Some(p) = &trace.property {
        let known = p == DEADLOCK
            || scenario.file.properties.iter().any(|q| q.name == *p)
            || (scenario.file.model == "lang" && lang::program::is_builtin(p));
        if !known {
            return Err(CliError::bad_input(format!(
                "{}: the trace's property `{p}` is not a property of scenario {}",
                path.display(),
                scenario.name
            )));
        }
    }
    let r = replay(&scenario, &job, trace)?
        .map_err(|e| CliError::bad_input(format!("{}: does not replay: {e}", path.display())))?;
    Ok(Verified {
        scenario,
        job,
        observations: r.observations,
        status: r.status,
    })
}

/// What replaying a trace to its end gave.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The observations after the last step.
    pub observations: Vec<(String, String)>,
    /// The trace's property at the end.
    pub status: PropertyStatus,
    /// Where the property breaks.
    pub breaks: Breaks,
}

/// The replay's result, or where it diverged.
pub type Outcome = Result<Replayed, ReplayError>;

/// Replays `trace` against `scenario`'s `job` (the model must build).
pub fn replay(scenario: &Scenario, job: &Job, trace: &Trace) -> Result<Outcome, CliError> {
    let mut check = Check { trace, out: None };
    scenario.with_model(job, &mut check)?;
    Ok(check.out.expect("the model replayed"))
}

struct Check<'a> {
    trace: &'a Trace,
    out: Option<Outcome>,
}

impl Check<'_> {
    fn go<M: Observable>(&mut self, model: &Checked<M>) {
        self.out = Some(self.trace.replay(model).map(|states| {
            let last = states.last().expect("the initial state");
            let observations = model
                .inner
                .observe(last)
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
            Replayed {
                observations,
                status: status(model, self.trace, &states),
                breaks: breaks(model, self.trace, &states),
            }
        }));
    }
}

impl WithModel for Check<'_> {
    fn lifecycle(&mut self, model: &Checked<Lifecycle>) {
        self.go(model)
    }
    fn network(&mut self, model: &Checked<Network>) {
        self.go(model)
    }
    fn migration(&mut self, model: &Checked<Migration>) {
        self.go(model)
    }
    fn lang(&mut self, model: &Checked<lang::Program>) {
        self.go(model)
    }
}

/// Where a witness's property breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaks {
    /// Nowhere: an outcome witness, or a trace that does not replay.
    Nowhere,
    /// After this 0-based step an `always` property is false.
    At(usize),
    /// The property is judged over the whole run (`at_end`, `eventually`, deadlock).
    OverTheRun,
}

/// Where the trace's property breaks (replaying it against its scenario).
pub fn break_step(scenario: &Scenario, job: &Job, trace: &Trace) -> Breaks {
    match replay(scenario, job, trace) {
        Ok(Ok(r)) => r.breaks,
        _ => Breaks::Nowhere,
    }
}

/// Where the trace's property breaks along the replayed `states`.
fn breaks<M: Model>(model: &M, trace: &Trace, states: &[M::State]) -> Breaks {
    let Some(property) = &trace.property else {
        return Breaks::Nowhere;
    };
    model
        .properties()
        .iter()
        .find(|p| p.name == *property && p.kind == PropertyKind::Always)
        .and_then(|p| states.iter().position(|s| !p.holds(model, s)))
        .map_or(Breaks::OverTheRun, |i| Breaks::At(i.saturating_sub(1)))
}

/// Whether the trace's property is violated along the replayed `states`.
fn status<M: Model>(model: &M, trace: &Trace, states: &[M::State]) -> PropertyStatus {
    let Some(property) = &trace.property else {
        return PropertyStatus::None;
    };
    let last = states.last().expect("the initial state");
    let mut enabled = Vec::new();
    model.actions(last, &mut enabled);
    let terminal = enabled.is_empty();
    let props = model.properties();
    let violated = match props.iter().find(|p| p.name == *property) {
        Some(p) => match p.kind {
            PropertyKind::Always => states.iter().any(|s| !p.holds(model, s)),
            PropertyKind::AtEnd => terminal && !p.holds(model, last),
            // Never reached on the path, which ends in a terminal state or closes a cycle.
            PropertyKind::Eventually => {
                let never = states.iter().all(|s| !p.holds(model, s));
                let end = sim::fingerprint(last);
                let cycle = trace.lasso_start.is_some()
                    && states[..states.len() - 1]
                        .iter()
                        .any(|s| sim::fingerprint(s) == end);
                never && (terminal || cycle)
            }
            // A vacuity verdict has no path to check: replaying without divergence is all.
            PropertyKind::Sometimes => true,
        },
        // `deadlock`: the run ends in a terminal state the model does not call done.
        None => terminal && !model.is_done(last),
    };
    if violated {
        PropertyStatus::Violated
    } else {
        PropertyStatus::NotViolated
    }
}
