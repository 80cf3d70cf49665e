//! Reports a person can read: an HTML page with an SVG sequence diagram, a Markdown story with
//! a Mermaid diagram, JSON for tools, plain-English explanations, outcome tables, and the
//! `reports/` bundle. Every output is deterministic (no timestamps, no durations).

pub mod analysis;
pub mod bundle;
pub mod explain;
pub mod html;
pub mod interleaving;
pub mod markdown;
pub mod patches;
pub mod svg;
pub mod table;
pub mod timing;

use crate::scenario::run::{Broken, Run, Seen};
use crate::scenario::{verify, Expected, Job, Scenario};
use analysis::{analyse, Analysis};
use serde::Serialize;
use sim::Trace;

/// What a report says about a witness besides its trace.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Meta {
    /// The scenario's title.
    pub title: String,
    /// Scenario name.
    pub scenario: String,
    /// Matrix case.
    pub case: Option<String>,
    /// Variant.
    pub variant: String,
    /// `violated` or `outcome`.
    pub verdict: String,
    /// The property violated, or the outcome reached.
    pub what: String,
    /// The property in plain words.
    pub means: Option<String>,
    /// Property expressions (the violated one first, then all the scenario's) and observations
    /// whose fields matter.
    pub names: Vec<String>,
}

/// A trace with everything a renderer needs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Witness {
    /// About the witness.
    pub meta: Meta,
    /// The trace.
    pub trace: Trace,
    /// What is derived from it.
    pub analysis: Analysis,
}

impl Witness {
    /// Builds a witness and analyses it.
    /// `breaks` says where the witness's property breaks. A property judged over the whole run
    /// (`at_end`, `eventually`, deadlock) is marked at the last step that changes a field it
    /// names (where the run was decided), else at the last step.
    pub fn new(meta: Meta, trace: Trace, breaks: verify::Breaks) -> Witness {
        let mut analysis = analyse(&trace, &meta.names);
        analysis.break_step = match breaks {
            verify::Breaks::Nowhere => None,
            verify::Breaks::At(i) => Some(i),
            verify::Breaks::OverTheRun => analysis
                .highlights
                .iter()
                .rev()
                .find(|h| h.why == "property")
                .map(|h| h.step)
                .or(trace.steps.len().checked_sub(1)),
        };
        Witness {
            meta,
            trace,
            analysis,
        }
    }

    /// The witness of a violation found by a run.
    pub fn of_broken(scenario: &Scenario, run: &Run, b: &Broken) -> Witness {
        let mut names: Vec<String> = property_text(scenario, &b.property);
        names.extend(all_property_text(scenario));
        names.extend(scenario.file.observe.iter().cloned());
        let meta = Meta {
            verdict: "violated".into(),
            what: b.property.clone(),
            means: b.means.clone(),
            names,
            ..base_meta(scenario, run)
        };
        let breaks = verify::break_step(scenario, &job_of(run), &b.trace);
        Witness::new(meta, b.trace.clone(), breaks)
    }

    /// The witness of an outcome found by a run.
    pub fn of_seen(scenario: &Scenario, run: &Run, o: &Seen) -> Witness {
        let meta = Meta {
            verdict: "outcome".into(),
            what: o.name.clone(),
            means: None,
            names: [scenario.file.observe.clone(), all_property_text(scenario)].concat(),
            ..base_meta(scenario, run)
        };
        Witness::new(meta, o.trace.clone(), verify::Breaks::Nowhere)
    }

    /// A witness from a trace file, with the scenario it names when that can be loaded.
    pub fn of_trace(trace: Trace, scenario: Option<&Scenario>) -> Witness {
        let get = |k: &str| trace.context.get(k).cloned();
        let property = trace.property.clone();
        let mut names = Vec::new();
        let mut means = None;
        let mut title = get("scenario").unwrap_or_else(|| trace.model.clone());
        if let Some(s) = scenario {
            title = s.file.title.clone();
            names = all_property_text(s);
            if let Some(p) = &property {
                means = s
                    .file
                    .properties
                    .iter()
                    .find(|q| &q.name == p)
                    .and_then(|q| q.means.clone());
            }
            names.extend(s.file.observe.iter().cloned());
        }
        let witness = trace.witness.clone().unwrap_or_default();
        let (verdict, what) = match (&property, witness.strip_prefix("outcome: ")) {
            (Some(p), _) => ("violated".to_string(), p.clone()),
            (None, Some(o)) => ("outcome".to_string(), o.to_string()),
            (None, None) => ("trace".to_string(), witness),
        };
        let meta = Meta {
            title,
            scenario: get("scenario").unwrap_or_default(),
            case: get("case"),
            variant: get("variant").unwrap_or_default(),
            verdict,
            what,
            means,
            names,
        };
        let breaks =
            scenario
                .zip(get("variant"))
                .map_or(verify::Breaks::Nowhere, |(s, variant)| {
                    let job = Job {
                        case: get("case"),
                        variant,
                        expected: Expected::Violated,
                    };
                    verify::break_step(s, &job, &trace)
                });
        Witness::new(meta, trace, breaks)
    }

    /// A one-line heading: scenario, case, variant and what was found.
    pub fn heading(&self) -> String {
        let m = &self.meta;
        let case = m
            .case
            .as_ref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        format!(
            "{}{case} · {} · {}: {}",
            m.scenario, m.variant, m.verdict, m.what
        )
    }

    /// The report as JSON (the trace plus derived lifelines, messages and highlights).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialise") + "\n"
    }
}

fn base_meta(scenario: &Scenario, run: &Run) -> Meta {
    Meta {
        title: scenario.file.title.clone(),
        scenario: scenario.name.clone(),
        case: run.case.clone(),
        variant: run.variant.clone(),
        verdict: String::new(),
        what: String::new(),
        means: None,
        names: Vec::new(),
    }
}

/// The expressions of every property of the scenario: a field any of them reads matters.
fn all_property_text(scenario: &Scenario) -> Vec<String> {
    let names: Vec<String> = scenario
        .file
        .properties
        .iter()
        .map(|p| p.name.clone())
        .collect();
    names
        .iter()
        .flat_map(|n| property_text(scenario, n))
        .collect()
}

fn property_text(scenario: &Scenario, name: &str) -> Vec<String> {
    scenario
        .file
        .properties
        .iter()
        .filter(|p| p.name == name)
        .flat_map(|p| [&p.always, &p.at_end, &p.sometimes, &p.eventually])
        .flatten()
        .cloned()
        .collect()
}

/// Every witness of a run: its violations, then its outcomes when it has no violation.
pub fn witnesses(scenario: &Scenario, run: &Run) -> Vec<Witness> {
    let mut out: Vec<Witness> = run
        .broken
        .iter()
        .map(|b| Witness::of_broken(scenario, run, b))
        .collect();
    if out.is_empty() {
        out.extend(
            run.outcomes
                .iter()
                .map(|o| Witness::of_seen(scenario, run, o)),
        );
    }
    out
}

/// Escapes text for HTML and SVG.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// A state value, compactly (strings unquoted).
pub fn short(v: &serde_json::Value) -> String {
    crate::story::short(v)
}

/// A value in a diagram, briefly: lists of records by their `name` (or first key), records by
/// their first key; scalars as [`short`].
pub fn brief(v: &serde_json::Value) -> String {
    use serde_json::Value;
    let item = |v: &Value| match v {
        Value::Object(o) => o
            .get("name")
            .map(short)
            .or_else(|| o.keys().next().cloned())
            .unwrap_or_default(),
        Value::Array(a) => a.first().map(short).unwrap_or_default(),
        other => short(other),
    };
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(item).collect::<Vec<_>>().join(", ")),
        Value::Object(_) => format!("{{{}}}", item(v)),
        other => short(other),
    }
}

/// A file-name-safe slug: lower case letters, digits and `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The case and variant a run ran.
fn job_of(run: &Run) -> Job {
    Job {
        case: run.case.clone(),
        variant: run.variant.clone(),
        expected: run.expected.clone(),
    }
}
