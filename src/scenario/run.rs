//! Running one scenario × case × variant: build the model, search, compare with `expect:`.

use super::checked::Checked;
use super::file::{ReductionName, ScenarioFile, SearchSpec, StrategyName};
use super::Expected;
use models::scenario::Observable;
use serde::{Serialize, Serializer};
use sim::minimise::drop_needless_preemptions;
use sim::{
    explore, Cut, Live, Model, Options, Reduction, Strategy, Trace, ViolationKind,
    PORTFOLIO_PCT_DEPTH,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a search concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Got {
    /// The search was exhaustive and nothing is violated.
    Holds,
    /// Some property (or deadlock freedom) is violated: there is a witness.
    Violated,
    /// Nothing is violated as far as the search went, but bounds cut it: no verdict.
    Incomplete(Cuts),
    /// The terminal outcomes found, by name.
    Outcomes(Vec<String>),
}

/// The bounds that cut a search that found no violation.
#[derive(Clone, Debug, PartialEq)]
pub struct Cuts {
    /// The bounds, in order.
    pub cuts: Vec<Cut>,
    /// For PCT: the bug depth, and an upper bound on the probability of having missed a bug of
    /// that depth.
    pub missed: Option<(u32, f64)>,
}

impl std::fmt::Display for Got {
    /// `holds`, `violated`, `no violation within <bounds>` or `{outcome | …}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Got::Holds => write!(f, "holds"),
            Got::Violated => write!(f, "violated"),
            Got::Incomplete(Cuts { cuts, missed }) => {
                let cuts: Vec<String> = cuts.iter().map(Cut::to_string).collect();
                write!(f, "no violation within {}", cuts.join(", "))?;
                match missed {
                    Some((depth, p)) => write!(f, " (P[missed a depth-{depth} bug] <= {p:.3e})"),
                    None => Ok(()),
                }
            }
            Got::Outcomes(o) => write!(f, "{{{}}}", o.join(" | ")),
        }
    }
}

impl Serialize for Got {
    /// A verdict as its text (`"holds"`, `"violated"`, `"no violation within …"`), outcomes as a
    /// list of names.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Got::Outcomes(o) => o.serialize(s),
            verdict => s.collect_str(verdict),
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
            (Expected::Holds, Got::Holds) | (Expected::Violated, Got::Violated) => true,
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
        strategy: strategy(spec),
        seed: spec.seed,
        reduction: match spec.reduction {
            ReductionName::None => Reduction::None,
            ReductionName::Por => Reduction::Por,
        },
        max_states: spec.max_states,
        max_depth: spec.max_depth,
        max_seconds: spec.max_seconds.map(|s| s.0),
        ..Options::default()
    }
}

/// The strategy a `search:` block names.
fn strategy(spec: &SearchSpec) -> Strategy {
    let runs = spec.runs.0;
    match spec.strategy {
        StrategyName::Bfs => Strategy::Bfs,
        StrategyName::Dfs => Strategy::Dfs,
        StrategyName::Random => Strategy::Random { runs },
        StrategyName::Pct => Strategy::Pct {
            runs,
            depth: spec.depth.0,
        },
        StrategyName::Portfolio => Strategy::Portfolio { runs },
    }
}

/// The bug depth of the PCT runs of a `search:` block's strategy.
fn pct_depth(spec: &SearchSpec) -> u32 {
    match spec.strategy {
        StrategyName::Portfolio => PORTFOLIO_PCT_DEPTH,
        _ => spec.depth.0,
    }
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
        let mut trace = traced(&path, v.kind.to_string(), Some(v.property.clone()));
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
        _ if !broken.is_empty() => Got::Violated,
        _ if report.complete => Got::Holds,
        _ => Got::Incomplete(Cuts {
            cuts: report.cuts.clone(),
            missed: report
                .miss_probability
                .map(|p| (pct_depth(&file.search), p)),
        }),
    };
    // A cut search decides nothing, except that an outcome outside the expected set is real.
    let incomplete_error = file.search.must_complete
        && match (&expected, &got) {
            (_, Got::Incomplete(_)) => true,
            (Expected::Outcomes(want), Got::Outcomes(found)) => {
                !report.complete && found.iter().all(|o| want.contains(o))
            }
            _ => false,
        };
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
