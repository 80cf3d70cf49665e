//! `vmrace repro --log FILE`: reproduces a bug report in simulation. The log is parsed into an
//! ordered list of observable events and API calls ([`log`]); each candidate scenario × case ×
//! variant is searched with a monitor that keeps only interleavings following that order
//! ([`search`]); matches end in the symptom (a violated property) and are written as traces,
//! shortest first. See `docs/repro.md`.

pub mod log;
pub mod new;
pub mod search;

use crate::commands::check::load_all;
use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_OK};
use crate::gate::fixtures::slug;
use crate::scenario::checked::Checked;
use crate::scenario::{Job, Scenario, WithModel};
use crate::{errln, outln};
use models::lifecycle::Lifecycle;
use models::migration::Migration;
use models::network::Network;
use models::scenario::Observable;
use serde::Serialize;
use sim::Trace;
use std::path::{Path, PathBuf};

/// Which scenarios to try.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// Only this scenario (a name or a file).
    pub scenario: Option<String>,
    /// Only scenarios of this model.
    pub model: Option<String>,
    /// Where the scenarios are.
    pub paths: Vec<PathBuf>,
    /// Where to write the traces.
    pub out: PathBuf,
}

/// One interleaving that follows the log and ends in the symptom.
#[derive(Clone, Debug, Serialize)]
pub struct Match {
    /// Scenario name.
    pub scenario: String,
    /// Matrix case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Variant.
    pub variant: String,
    /// The symptom: the log's `symptom:` text, else the violated property.
    pub symptom: String,
    /// The violated property.
    pub property: String,
    /// Steps in the trace.
    pub steps: usize,
    /// The trace file written.
    pub trace: String,
}

/// How far one job followed the log when nothing matched.
struct Miss {
    place: String,
    longest: usize,
    modelled: Vec<usize>,
    unmodelled: Vec<usize>,
    cut: bool,
}

/// Runs the command.
pub fn run(log_path: &Path, target: &Target, json: bool) -> CliResult {
    let log = log::load(log_path)?;
    let events: Vec<String> = log.entries.iter().map(|e| e.event.clone()).collect();
    let scenarios = select(target)?;
    let mut matches = Vec::new();
    let mut misses = Vec::new();
    for scenario in &scenarios {
        for job in scenario.jobs()? {
            let mut r = Repro {
                events: &events,
                max_states: scenario.file.search.max_states.unwrap_or(2_000_000),
                context: scenario.context(&job),
                out: None,
            };
            scenario.with_model(&job, &mut r)?;
            let (found, miss) = r.out.expect("the model ran");
            match found {
                Some((trace, property)) => {
                    matches.push((scenario, job, trace, property));
                }
                None => misses.push(Miss {
                    place: place(scenario, &job),
                    ..miss
                }),
            }
        }
    }
    matches.sort_by(|a, b| {
        (a.2.steps.len(), &a.0.name, &a.1.case, &a.1.variant).cmp(&(
            b.2.steps.len(),
            &b.0.name,
            &b.1.case,
            &b.1.variant,
        ))
    });
    if !json {
        outln!(
            "{}: {} events, {} lines skipped; symptom: {}",
            log_path.display(),
            events.len(),
            log.skipped,
            log.symptom.as_deref().unwrap_or("(none given)")
        )?;
    }
    let mut written = Vec::new();
    for (scenario, job, trace, property) in &matches {
        std::fs::create_dir_all(&target.out).map_err(|e| {
            CliError::bad_input(format!(
                "--out {}: cannot create: {e}",
                target.out.display()
            ))
        })?;
        let mut name = vec![slug(&scenario.name)];
        name.extend(job.case.as_deref().map(slug));
        name.push(slug(&job.variant));
        let file = target.out.join(format!("{}.repro.yaml", name.join(".")));
        std::fs::write(&file, trace.to_yaml())
            .map_err(|e| CliError::bad_input(format!("{}: cannot write: {e}", file.display())))?;
        let m = Match {
            scenario: scenario.name.clone(),
            case: job.case.clone(),
            variant: job.variant.clone(),
            symptom: log.symptom.clone().unwrap_or_else(|| property.clone()),
            property: property.clone(),
            steps: trace.steps.len(),
            trace: file.display().to_string(),
        };
        if json {
            outln!("{}", serde_json::to_string(&m).expect("JSON"))?;
        } else {
            outln!(
                "MATCH {} ({} steps): violates `{}`; trace {}",
                place(scenario, job),
                m.steps,
                m.property,
                m.trace
            )?;
        }
        written.push(m);
    }
    if !written.is_empty() {
        return Ok(EXIT_OK);
    }
    errln!("{}", explain_miss(&log, &misses));
    Ok(EXIT_DRIFT)
}

fn place(scenario: &Scenario, job: &Job) -> String {
    match &job.case {
        Some(c) => format!("{} [{c}] variant {}", scenario.name, job.variant),
        None => format!("{} variant {}", scenario.name, job.variant),
    }
}

/// Says which observed event could not be matched, and where model and log part ways.
fn explain_miss(log: &log::Log, misses: &[Miss]) -> String {
    let Some(best) = misses.iter().max_by_key(|m| {
        (
            m.unmodelled.is_empty(),
            m.longest,
            std::cmp::Reverse(m.unmodelled.len()),
        )
    }) else {
        return "no interleaving matches: no scenario to try".into();
    };
    let mut out = format!("no interleaving matches the log. Closest: {}", best.place);
    let entry = |i: usize| {
        let e = &log.entries[i];
        format!("line {} `{}` ({})", e.line, e.text, e.event)
    };
    if !best.unmodelled.is_empty() {
        out.push_str(&format!(
            ": {} could not be matched (no step of this model produces it)",
            entry(best.unmodelled[0])
        ));
    } else if best.longest < best.modelled.len() {
        out.push_str(&format!(
            ": the model follows the first {} of {} modelled log events, then parts ways: {} \
             could not be matched",
            best.longest,
            best.modelled.len(),
            entry(best.modelled[best.longest])
        ));
        if best.longest > 0 {
            out.push_str(&format!(
                " (last matched: {})",
                entry(best.modelled[best.longest - 1])
            ));
        }
    } else {
        out.push_str(
            ": the model follows every modelled log event, but no such interleaving ends in \
             the symptom (no property of the scenario is violated)",
        );
    }
    if !best.unmodelled.is_empty() {
        let list: Vec<String> = best.unmodelled.iter().map(|&i| entry(i)).collect();
        out.push_str(&format!(
            "\nlog events this model never produces: {}",
            list.join("; ")
        ));
    }
    if best.cut {
        out.push_str("\nthe search was cut by the scenario's max_states");
    }
    out
}

/// The scenarios named by `target`.
fn select(target: &Target) -> Result<Vec<Scenario>, CliError> {
    if let Some(s) = &target.scenario {
        let path = Path::new(s);
        if path.is_file() {
            return Ok(vec![Scenario::load(path)?]);
        }
        let all = load_all(&target.paths)?;
        let names: Vec<String> = all.iter().map(|x| x.name.clone()).collect();
        let found: Vec<Scenario> = all.into_iter().filter(|x| &x.name == s).collect();
        if found.is_empty() {
            return Err(CliError::bad_input(format!(
                "--scenario: no scenario `{s}`; scenarios are {}",
                names.join(", ")
            )));
        }
        return Ok(found);
    }
    let all = load_all(&target.paths)?;
    match &target.model {
        Some(m) => {
            let known: Vec<&str> = crate::scenario::models().iter().map(|i| i.name).collect();
            if !known.contains(&m.as_str()) {
                return Err(CliError::bad_input(format!(
                    "--model: unknown model `{m}`; models are {}",
                    known.join(", ")
                )));
            }
            Ok(all.into_iter().filter(|s| &s.file.model == m).collect())
        }
        None => Ok(all),
    }
}

type Outcome = (Option<(Trace, String)>, Miss);

struct Repro<'a> {
    events: &'a [String],
    max_states: u64,
    context: std::collections::BTreeMap<String, String>,
    out: Option<Outcome>,
}

impl Repro<'_> {
    fn go<M: Observable>(
        &mut self,
        model: &Checked<M>,
        event: impl Fn(&M::State, &M::Action) -> Option<models::scenario::LogEvent>,
    ) {
        let found = search::search(model, self.events, event, self.max_states);
        let matched = found.matched.map(|(path, property)| {
            let mut trace = Trace::from_path(model, &path);
            trace.context = self.context.clone();
            trace.witness = Some("repro".into());
            trace.property = Some(property.clone());
            (trace, property)
        });
        let miss = Miss {
            place: String::new(),
            longest: found.longest,
            modelled: found.modelled,
            unmodelled: found.unmodelled,
            cut: found.cut,
        };
        self.out = Some((matched, miss));
    }
}

impl WithModel for Repro<'_> {
    fn lifecycle(&mut self, model: &Checked<Lifecycle>) {
        self.go(model, |s, a| model.inner.log_event(s, a))
    }
    fn network(&mut self, model: &Checked<Network>) {
        self.go(model, |s, a| model.inner.log_event(s, a))
    }
    fn migration(&mut self, model: &Checked<Migration>) {
        self.go(model, |s, a| model.inner.log_event(s, a))
    }
}
