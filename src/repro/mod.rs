//! `vmrace repro --log FILE`: reproduces a bug report in simulation. The log is parsed into an
//! ordered list of observable events and API calls ([`log`]); each candidate scenario × case ×
//! variant is searched with a monitor that keeps only interleavings following that order
//! ([`plan`], [`search`]); matches end in the symptom ([`symptom`]), are written as traces and
//! ranked by how much of the log they explain ([`report`]). See `docs/repro.md`.

pub mod log;
pub mod new;
mod plan;
mod report;
mod search;
pub mod symptom;

use crate::commands::check::load_all;
use crate::error::{CliError, CliResult};
use crate::gate::fixtures::slug;
use crate::scenario::checked::Checked;
use crate::scenario::{Job, Scenario, WithModel};
use models::lifecycle::Lifecycle;
use models::migration::Migration;
use models::network::Network;
use models::scenario::{LogEvent, Observable};
use plan::Plan;
use serde::Serialize;
use sim::{PropertyKind, Trace};
use std::path::{Path, PathBuf};
use symptom::{Condition, Goal};

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

/// How a match's end state fits the symptom (best first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The symptom names the property the match violates.
    NamedProperty,
    /// The symptom's words name a condition that holds in the match's final state.
    Condition,
    /// No symptom was given, or it names nothing known: any violation.
    AnyViolation,
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
    /// How the match fits the symptom.
    pub rule: Rule,
    /// The condition the symptom names, for [`Rule::Condition`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// The violated property.
    pub property: String,
    /// Log entries the interleaving explains (the launch entries a scenario starts after are
    /// not explained).
    pub explained: usize,
    /// Log entries in all.
    pub events: usize,
    /// Steps in the trace.
    pub steps: usize,
    /// The trace file written.
    pub trace: String,
}

/// How far one job followed the log when nothing matched.
pub struct Miss {
    /// Scenario, case and variant.
    pub place: String,
    /// The scenario states an `always` or `at_end` property.
    pub checks: bool,
    /// Leading launch entries this attempt skipped.
    pub skip: usize,
    /// Entries (indices into the log) no step of the model produces.
    pub unmodelled: Vec<usize>,
    /// Entries matched by the longest path (from `skip`).
    pub longest: usize,
    /// Some path followed the whole log.
    pub followed: bool,
    /// ... and violated a property, but not where the symptom holds.
    pub violated: bool,
    /// A bound cut the search.
    pub cut: bool,
}

/// Runs the command.
pub fn run(log_path: &Path, target: &Target, json: bool) -> CliResult {
    let log = log::load(log_path)?;
    let plan = Plan::new(&log);
    let scenarios = select(target)?;
    let mut found = Vec::new();
    let mut misses = Vec::new();
    for scenario in &scenarios {
        for job in scenario.jobs()? {
            let mut r = Repro {
                plan: &plan,
                symptom: log.symptom.as_deref(),
                max_states: scenario.file.search.max_states.unwrap_or(2_000_000),
                context: scenario.context(&job),
                out: None,
            };
            scenario.with_model(&job, &mut r)?;
            match r.out.expect("the model ran") {
                Ok(hit) => found.push((scenario, job, hit)),
                Err(miss) => misses.push(Miss {
                    place: place(scenario, &job),
                    ..miss
                }),
            }
        }
    }
    found.sort_by(|(sa, ja, a), (sb, jb, b)| {
        (
            a.skip,
            a.rule,
            a.trace.steps.len(),
            &sa.name,
            &ja.case,
            &ja.variant,
        )
            .cmp(&(
                b.skip,
                b.rule,
                b.trace.steps.len(),
                &sb.name,
                &jb.case,
                &jb.variant,
            ))
    });
    let mut cut: Vec<String> = misses
        .iter()
        .filter(|m| m.cut)
        .map(|m| m.place.clone())
        .collect();
    cut.extend(
        found
            .iter()
            .filter(|(_, _, hit)| hit.cut)
            .map(|(scenario, job, _)| place(scenario, job)),
    );
    let mut matches = Vec::new();
    for (scenario, job, hit) in &found {
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
        std::fs::write(&file, hit.trace.to_yaml())
            .map_err(|e| CliError::bad_input(format!("{}: cannot write: {e}", file.display())))?;
        matches.push(Match {
            scenario: scenario.name.clone(),
            case: job.case.clone(),
            variant: job.variant.clone(),
            symptom: log.symptom.clone().unwrap_or_else(|| hit.property.clone()),
            rule: hit.rule,
            condition: hit.condition,
            property: hit.property.clone(),
            explained: log.entries.len() - hit.skip,
            events: log.entries.len(),
            steps: hit.trace.steps.len(),
            trace: file.display().to_string(),
        });
    }
    report::print(
        &report::Report {
            path: log_path,
            log: &log,
            matches: &matches,
            misses: &misses,
            cut: &cut,
        },
        json,
    )
}

fn place(scenario: &Scenario, job: &Job) -> String {
    match &job.case {
        Some(c) => format!("{} [{c}] variant {}", scenario.name, job.variant),
        None => format!("{} variant {}", scenario.name, job.variant),
    }
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

/// A job's match.
struct Hit {
    trace: Trace,
    property: String,
    rule: Rule,
    condition: Option<Condition>,
    /// Leading launch entries skipped.
    skip: usize,
    /// A search with fewer entries skipped was cut (a match explaining more may exist).
    cut: bool,
}

struct Repro<'a> {
    plan: &'a Plan<'a>,
    symptom: Option<&'a str>,
    max_states: u64,
    context: std::collections::BTreeMap<String, String>,
    out: Option<Result<Hit, Miss>>,
}

impl Repro<'_> {
    /// Tries the model with no launch entry skipped, then one more at a time (a scenario that
    /// starts the domain explains its launch; one that starts with it running does not).
    fn go<M: Observable>(
        &mut self,
        model: &Checked<M>,
        events: impl Fn(&M::State, &M::Action) -> &'static [LogEvent],
    ) {
        let names: Vec<Option<&str>> = model
            .props
            .iter()
            .map(|p| {
                matches!(p.kind, PropertyKind::Always | PropertyKind::AtEnd)
                    .then_some(p.name.as_str())
            })
            .collect();
        let goal = Goal::of(self.symptom, &names);
        let (rule, condition, property) = match goal {
            Goal::AnyViolation => (Rule::AnyViolation, None, None),
            Goal::Property(p) => (Rule::NamedProperty, None, Some(p)),
            Goal::Condition(c) => (Rule::Condition, Some(c), None),
        };
        let holds = |s: &M::State| condition.is_none_or(|c| c.holds(&model.inner.observe(s)));
        let can = search::producible(model, &events, self.max_states);
        let trailing = match self.symptom {
            Some(_) => search::Trailing::Unobserved,
            None => search::Trailing::Silent,
        };
        let mut best: Option<Miss> = None;
        let mut cut = false;
        // one budget for every attempt, so that a long launch prefix cannot multiply the work
        let mut budget = self.max_states;
        for skip in 0..=self.plan.launch {
            let wants = self.plan.wants(skip);
            let spec = search::Spec {
                wants: &wants,
                max_states: budget,
                property,
                holds: &holds,
                trailing,
            };
            let found = search::search(model, &can, &events, &spec);
            if let Some((path, property)) = found.matched {
                let mut trace = Trace::from_path(model, &path);
                trace.context = self.context.clone();
                trace.witness = Some("repro".into());
                trace.property = Some(property.clone());
                self.out = Some(Ok(Hit {
                    trace,
                    property,
                    rule,
                    condition,
                    skip,
                    cut,
                }));
                return;
            }
            let miss = Miss {
                place: String::new(),
                checks: names.iter().any(Option::is_some),
                skip,
                unmodelled: found.unmodelled.iter().map(|&i| wants[i].entry).collect(),
                longest: found.longest,
                followed: found.followed,
                violated: found.violated,
                cut: found.cut,
            };
            cut |= found.cut;
            budget = budget.saturating_sub(found.states);
            if best.as_ref().is_none_or(|b| report::closer(&miss, b)) {
                best = Some(miss);
            }
        }
        let mut best = best.expect("at least one attempt");
        best.cut = cut;
        self.out = Some(Err(best));
    }
}

impl WithModel for Repro<'_> {
    fn lifecycle(&mut self, model: &Checked<Lifecycle>) {
        self.go(model, |s, a| model.inner.log_events(s, a))
    }
    fn network(&mut self, model: &Checked<Network>) {
        self.go(model, |s, a| model.inner.log_events(s, a))
    }
    fn migration(&mut self, model: &Checked<Migration>) {
        self.go(model, |s, a| model.inner.log_events(s, a))
    }
    /// A language model names no log events (its steps are not bound to the real stack).
    fn lang(&mut self, model: &Checked<lang::Program>) {
        self.go(model, |_, _| &[])
    }
}
