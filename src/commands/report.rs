//! `vmrace report TRACE` (one witness as HTML, Markdown, SVG or JSON), `vmrace report --all`
//! (the `reports/` bundle) and `vmrace explain TRACE` (a plain-English account).

use crate::commands::replay::load_trace;
use crate::error::{CliError, CliResult, EXIT_OK};
use crate::report::patches::Patched;
use crate::report::{bundle, explain, html, markdown, svg, Witness};
use crate::scenario::verify::{self, PropertyStatus};
use crate::scenario::{Job, Scenario};
use crate::{errln, out, outln};
use std::path::{Path, PathBuf};

/// What `vmrace report` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Markdown with a Mermaid diagram.
    Md,
    /// One self-contained HTML page.
    Html,
    /// The bare SVG sequence diagram (all steps expanded).
    Svg,
    /// The trace plus derived lifelines, messages and highlights.
    Json,
}

/// Loads a trace and replays it against its scenario before anything is rendered: a trace
/// that does not replay, names an unknown property, or ends before its property is violated
/// is refused.
pub fn witness_of(path: &Path) -> Result<Witness, CliError> {
    Ok(verified_witness(path)?.0)
}

/// [`witness_of`], with the scenario and job it was verified against.
fn verified_witness(path: &Path) -> Result<(Witness, Scenario, Job), CliError> {
    let trace = load_trace(path)?;
    let v = verify::verify(&trace, path)?;
    if v.status == PropertyStatus::NotViolated {
        return Err(CliError::bad_input(format!(
            "{}: the trace ends before its property `{}` is violated (a cut or edited trace)",
            path.display(),
            trace.property.as_deref().unwrap_or_default()
        )));
    }
    let w = Witness::of_trace(trace, Some(&v.scenario));
    Ok((w, v.scenario, v.job))
}

fn emit(text: &str, out: Option<&Path>) -> CliResult {
    match out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::bad_input(format!("{}: cannot write: {e}", p.display())))?,
        None => out!("{text}")?,
    }
    Ok(EXIT_OK)
}

/// Renders one trace.
pub fn run(trace: &Path, format: Format, out: Option<&Path>) -> CliResult {
    let w = witness_of(trace)?;
    let text = match format {
        Format::Md => markdown::report(&w),
        Format::Html => html::report(&w),
        Format::Svg => svg::render(&w.trace, &w.analysis, "w0", false),
        Format::Json => w.to_json(),
    };
    emit(&text, out)
}

/// Writes the `reports/` bundle for every scenario under `paths` into `out`.
pub fn run_all(paths: &[PathBuf], out: &Path, jobs: usize) -> CliResult {
    let written = bundle::write_all(paths, out, jobs)?;
    errln!("wrote {} files into {}", written.len(), out.display());
    Ok(EXIT_OK)
}

/// Explains one trace in plain English (or as JSON); in plain English, a variant that applies
/// patches of its language model follows as their diffs.
pub fn explain(trace: &Path, json: bool) -> CliResult {
    let (w, scenario, job) = verified_witness(trace)?;
    let e = explain::explain(&w);
    if json {
        outln!("{}", serde_json::to_string_pretty(&e).expect("JSON"))?;
    } else {
        outln!("{}", w.heading())?;
        outln!("{}", e.text())?;
        if let Some(p) = Patched::of(&scenario, &job)? {
            out!("\n{}", p.text())?;
        }
    }
    Ok(EXIT_OK)
}
