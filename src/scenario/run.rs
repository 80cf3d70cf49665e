//! Running one scenario × case × variant: build the model, search, compare with `expect:`.

use super::checked::Checked;
use super::file::{ScenarioFile, SearchSpec};
use super::Expected;
use models::scenario::Observable;
use serde::Serialize;
use sim::minimise::drop_needless_preemptions;
use sim::{explore, Live, Model, Options, Reduction, Strategy, Trace, ViolationKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a search concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Got {
    /// `holds`, `violated`, or `no violation within <bound>`.
    Verdict(String),
    /// The exact set of outcomes.
    Outcomes(Vec<String>),
}

impl std::fmt::Display for Got {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Got::Verdict(v) => write!(f, "{v}"),
            Got::Outcomes(o) => write!(f, "{{{}}}", o.join(" | ")),
        }
    }
}

/// A violated property with its (minimised) witness.
#[derive(Clone, Debug)]
pub struct Broken {
    /// Property name (`deadlock` for deadlocks).
    pub property: String,
    /// What kind of promise broke.
    pub kind: ViolationKind,
    /// The property's meaning in plain words, when the scenario gives one.
    pub means: Option<String>,
    /// The witness.
    pub trace: Trace,
}

/// One distinct outcome with its witness.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Outcome name.
    pub name: String,
    /// Terminal states with it.
    pub count: u64,
    /// A shortest witness.
    pub trace: Trace,
    /// 0-based step of `trace` after which the observed values last changed (the step that
    /// decides the outcome); `None` when the initial state already has the outcome.
    pub decided: Option<usize>,
}

/// The result of one scenario × case × variant.
#[derive(Clone, Debug)]
pub struct Run {
    /// Scenario name.
    pub scenario: String,
    /// The scenario file.
    pub file: String,
    /// The scenario's sources.
    pub source: Vec<String>,
    /// Matrix case, if any.
    pub case: Option<String>,
    /// Variant.
    pub variant: String,
    /// What the scenario expects.
    pub expected: Expected,
    /// What the search found.
    pub got: Got,
    /// Whether the search was exhaustive.
    pub complete: bool,
    /// The bounds that cut it.
    pub cuts: Vec<String>,
    /// Distinct states.
    pub states: u64,
    /// Seconds.
    pub seconds: f64,
    /// Violations with traces.
    pub broken: Vec<Broken>,
    /// Outcomes with traces.
    pub outcomes: Vec<Seen>,
    /// The search must be complete but a bound cut it.
    pub incomplete_error: bool,
}

impl Run {
    /// Whether what was found is what was expected.
    pub fn matches(&self) -> bool {
        match (&self.expected, &self.got) {
            (Expected::Holds, Got::Verdict(v)) => v == "holds",
            (Expected::Violated, Got::Verdict(v)) => v == "violated",
            (Expected::Outcomes(want), Got::Outcomes(got)) => {
                self.complete && want.iter().cloned().collect::<Vec<_>>() == *got
            }
            _ => false,
        }
    }
}

/// Search options from a scenario's `search:` block.
pub fn options(spec: &SearchSpec) -> Options {
    Options {
        strategy: strategy(spec).unwrap_or(Strategy::Bfs),
        seed: spec.seed,
        reduction: if spec.reduction == "dpor" {
            Reduction::Por
        } else {
            Reduction::None
        },
        max_states: spec.max_states,
        max_depth: spec.max_depth,
        max_seconds: spec.max_seconds,
        ..Options::default()
    }
}

/// The strategy a `search:` block names, or `None` for an unknown name.
pub fn strategy(spec: &SearchSpec) -> Option<Strategy> {
    Some(match spec.strategy.as_str() {
        "bfs" => Strategy::Bfs,
        "dfs" => Strategy::Dfs,
        "random" => Strategy::Random { runs: spec.runs },
        "pct" => Strategy::Pct {
            runs: spec.runs,
            depth: spec.depth,
        },
        "portfolio" => Strategy::Portfolio { runs: spec.runs },
        _ => return None,
    })
}

/// Searches `model` and summarises the result against `expected`.
pub fn run_model<M: Observable>(
    model: &Checked<M>,
    file: &ScenarioFile,
    context: BTreeMap<String, String>,
    expected: Expected,
    jobs: usize,
    live: Option<Arc<Live>>,
) -> Run {
    let mut opts = options(&file.search);
    opts.jobs = jobs;
    opts.live = live;
    let report = explore(model, &opts);
    let traced = |path: &sim::Path<Checked<M>>, witness: String, property: Option<String>| {
        let mut trace = Trace::from_path(model, path);
        trace.context = context.clone();
        trace.witness = Some(witness);
        trace.property = property;
        trace
    };
    let mut broken = Vec::new();
    for v in &report.violations {
        let Some(path) = &v.path else { continue };
        let path = minimise(model, path, &v.property, v.kind);
        let mut trace = traced(
            &path,
            format!("{:?}", v.kind).to_lowercase(),
            Some(v.property.clone()),
        );
        trace.lasso_start = v.lasso_start;
        broken.push(Broken {
            property: v.property.clone(),
            kind: v.kind,
            means: model
                .props
                .iter()
                .find(|p| p.name == v.property)
                .and_then(|p| p.means.clone()),
            trace,
        });
    }
    for name in &report.vacuous {
        let init = sim::Path {
            init: 0,
            actions: Vec::new(),
        };
        broken.push(Broken {
            property: name.clone(),
            kind: ViolationKind::Always,
            means: Some(format!(
                "`{name}` is never reachable (a vacuous `sometimes`)"
            )),
            trace: traced(&init, "vacuous".into(), Some(name.clone())),
        });
    }
    let outcomes: Vec<Seen> = report
        .outcomes
        .iter()
        .filter_map(|(name, o)| {
            let path = o.path.as_ref()?;
            Some(Seen {
                name: name.clone(),
                count: o.count,
                trace: traced(path, format!("outcome: {name}"), None),
                decided: deciding_step(model, path),
            })
        })
        .collect();
    let got = match &expected {
        Expected::Outcomes(_) => Got::Outcomes(outcomes.iter().map(|o| o.name.clone()).collect()),
        _ if !broken.is_empty() => Got::Verdict("violated".into()),
        _ if report.complete => Got::Verdict("holds".into()),
        _ => Got::Verdict(format!(
            "no violation within {}{}",
            report
                .cuts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            report
                .miss_probability
                .map(|p| format!(" (P[missed a depth-{} bug] <= {p:.3e})", file.search.depth))
                .unwrap_or_default()
        )),
    };
    let incomplete_error = !report.complete && file.search.must_complete && broken.is_empty();
    Run {
        scenario: context.get("scenario").cloned().unwrap_or_default(),
        file: context.get("file").cloned().unwrap_or_default(),
        source: file.source.clone(),
        case: context.get("case").cloned(),
        variant: context.get("variant").cloned().unwrap_or_default(),
        expected,
        got,
        complete: report.complete,
        cuts: report.cuts.iter().map(|c| c.to_string()).collect(),
        states: report.states,
        seconds: report.seconds,
        broken,
        outcomes,
        incomplete_error,
    }
}

/// The last step of `path` that changes the observed values: the one after which the path's
/// outcome holds for good.
fn deciding_step<M: Observable>(model: &Checked<M>, path: &sim::Path<Checked<M>>) -> Option<usize> {
    let mut state = model.init_states().get(path.init)?.clone();
    let mut last = model.outcome_of(&state);
    let mut decided = None;
    for (i, action) in path.actions.iter().enumerate() {
        state = model.next_state(&state, action);
        let now = model.outcome_of(&state);
        if now != last {
            decided = Some(i);
            last = now;
        }
    }
    decided
}

/// Drops needless preemptions from a safety counterexample, keeping it a counterexample.
fn minimise<M: Observable>(
    model: &Checked<M>,
    path: &sim::Path<Checked<M>>,
    property: &str,
    kind: ViolationKind,
) -> sim::Path<Checked<M>> {
    let props = model.properties();
    let Some(p) = props.iter().find(|p| p.name == property) else {
        return path.clone();
    };
    match kind {
        ViolationKind::Always => drop_needless_preemptions(model, path, |s| !p.holds(model, s)),
        ViolationKind::AtEnd => drop_needless_preemptions(model, path, |s| {
            let mut acts = Vec::new();
            model.actions(s, &mut acts);
            acts.is_empty() && !p.holds(model, s)
        }),
        _ => path.clone(),
    }
}
