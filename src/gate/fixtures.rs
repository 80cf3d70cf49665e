//! Regression fixtures: `check --save-traces DIR` keeps every violating trace under a stable
//! name; `check --traces DIR` replays the stored traces first and reports a trace that no longer
//! replays, or no longer violates its property, where the scenario still expects a violation.

use crate::commands::replay::load_trace;
use crate::errln;
use crate::error::CliError;
use crate::scenario::run::Run;
use crate::scenario::verify::{self, PropertyStatus};
use crate::scenario::Expected;
use std::path::{Path, PathBuf};

/// A file-name-safe slug: ASCII alphanumerics kept, runs of anything else become one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The stable file name of a violating trace: `scenario[.case].variant.property.yaml`.
pub fn file_name(run: &Run, property: &str) -> String {
    let mut parts = vec![slug(&run.scenario)];
    if let Some(c) = &run.case {
        parts.push(slug(c));
    }
    parts.push(slug(&run.variant));
    parts.push(slug(property));
    format!("{}.yaml", parts.join("."))
}

/// Writes every violating trace of `run` into `dir`; returns the paths written.
pub fn save(dir: &Path, run: &Run) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::bad_input(format!(
            "--save-traces {}: cannot create: {e}",
            dir.display()
        ))
    })?;
    let mut written = Vec::new();
    for b in &run.broken {
        if b.trace.witness.as_deref() == Some("vacuous") {
            continue;
        }
        let path = dir.join(file_name(run, &b.property));
        std::fs::write(&path, b.trace.to_yaml())
            .map_err(|e| CliError::bad_input(format!("{}: cannot write: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

/// What replaying one stored trace showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It replays and still violates its property.
    StillViolates,
    /// The scenario no longer expects a violation for this variant: not checked.
    NotExpected,
    /// It replays but no longer violates.
    NoLongerViolates,
    /// It no longer replays (the model changed under it).
    NoLongerReplays(String),
}

/// The stored traces (`*.yaml`) in `dir`, sorted.
pub fn stored(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::bad_input(format!("--traces {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Replays one stored trace against its scenario (bad or corrupt traces are bad input).
pub fn verify(path: &Path) -> Result<Verdict, CliError> {
    let trace = load_trace(path)?;
    let property = trace.property.clone().ok_or_else(|| {
        CliError::bad_input(format!(
            "{}: not a violating trace (no `property`)",
            path.display()
        ))
    })?;
    let (scenario, job) = verify::scenario_of(&trace, path)?;
    // `scenario_of` has checked that the case and variant exist.
    let expected = scenario
        .jobs()?
        .into_iter()
        .find(|j| j.case == job.case && j.variant == job.variant)
        .map_or(Expected::Holds, |j| j.expected);
    if expected != Expected::Violated {
        return Ok(Verdict::NotExpected);
    }
    if property != verify::DEADLOCK && !scenario.file.properties.iter().any(|p| p.name == property)
    {
        return Err(CliError::bad_input(format!(
            "{}: the trace's property `{property}` is not a property of scenario {}",
            path.display(),
            scenario.name
        )));
    }
    Ok(match verify::replay(&scenario, &job, &trace)? {
        Err(e) => Verdict::NoLongerReplays(e.to_string()),
        Ok(r) if r.status == PropertyStatus::Violated => Verdict::StillViolates,
        Ok(_) => Verdict::NoLongerViolates,
    })
}

/// Replays every stored trace in `dir`; prints one line per trace on stderr and returns how many
/// failed (no longer replay or no longer violate).
pub fn verify_all(dir: &Path) -> Result<usize, CliError> {
    let mut failed = 0;
    for path in stored(dir)? {
        let verdict = verify(&path)?;
        let line = match &verdict {
            Verdict::StillViolates => "still violates".to_string(),
            Verdict::NotExpected => "skipped: the scenario no longer expects a violation".into(),
            Verdict::NoLongerViolates => {
                failed += 1;
                "REGRESSION: replays but no longer violates its property".into()
            }
            Verdict::NoLongerReplays(e) => {
                failed += 1;
                format!("REGRESSION: no longer replays: {e}")
            }
        };
        errln!("trace {}: {line}", path.display());
    }
    Ok(failed)
}
