//! What a search found: counts, the bounds that cut it, violations and outcomes with witnesses.

use crate::model::Model;
use crate::property::PropertyKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// A path from an initial state: which initial state, then the actions taken in order.
pub struct Path<M: Model> {
    /// Index into [`Model::init_states`].
    pub init: usize,
    /// The actions, in order.
    pub actions: Vec<M::Action>,
}

impl<M: Model> Clone for Path<M> {
    fn clone(&self) -> Self {
        Path {
            init: self.init,
            actions: self.actions.clone(),
        }
    }
}

impl<M: Model> PartialEq for Path<M> {
    fn eq(&self, other: &Self) -> bool {
        self.init == other.init && self.actions == other.actions
    }
}

impl<M: Model> std::fmt::Debug for Path<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Path")
            .field("init", &self.init)
            .field("actions", &self.actions)
            .finish()
    }
}

/// What kind of promise a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// An `always` property failed in some state.
    Always,
    /// An `at_end` property failed in a terminal state.
    AtEnd,
    /// An `eventually` property: a terminal state or a cycle reached without it ever holding.
    Eventually,
    /// No step enabled while the model says some actor still has work.
    Deadlock,
}

impl std::fmt::Display for ViolationKind {
    /// The scenario keyword of the property kind (`always`, `at_end`, `eventually`, `deadlock`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ViolationKind::Always => "always",
            ViolationKind::AtEnd => "at_end",
            ViolationKind::Eventually => "eventually",
            ViolationKind::Deadlock => "deadlock",
        })
    }
}

impl From<PropertyKind> for ViolationKind {
    fn from(kind: PropertyKind) -> Self {
        match kind {
            PropertyKind::Always | PropertyKind::Sometimes => ViolationKind::Always,
            PropertyKind::AtEnd => ViolationKind::AtEnd,
            PropertyKind::Eventually => ViolationKind::Eventually,
        }
    }
}

/// A broken property with a witness.
pub struct Violation<M: Model> {
    /// The property's name (`deadlock` for deadlocks).
    pub property: String,
    /// What kind of promise broke.
    pub kind: ViolationKind,
    /// Fingerprint of the violating state (the last state of the path).
    pub fingerprint: u64,
    /// The witness, when paths were recorded.
    pub path: Option<Path<M>>,
    /// For lassos: the index in `path.actions` at which the repeated cycle starts.
    pub lasso_start: Option<usize>,
    pub(crate) depth: usize,
}

/// One distinct terminal outcome.
pub struct Outcome<M: Model> {
    /// How many distinct terminal states have this outcome.
    pub count: u64,
    /// Fingerprint of the witness state.
    pub fingerprint: u64,
    /// A shortest witness, when paths were recorded.
    pub path: Option<Path<M>>,
    pub(crate) depth: usize,
}

/// A bound that cut the search short; a cut search never claims a property holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "bound", content = "limit")]
pub enum Cut {
    /// States deeper than this were not expanded.
    Depth(usize),
    /// The distinct-state budget ran out.
    States(u64),
    /// The time budget (seconds) ran out.
    Seconds(String),
    /// Paths with more preemptions were not explored.
    Preemptions(u32),
    /// The search stopped at the first violation.
    FirstViolation,
    /// Randomised search: never exhaustive.
    Sampled(u64),
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Depth(d) => write!(f, "depth {d}"),
            Cut::States(s) => write!(f, "{s} states"),
            Cut::Seconds(s) => write!(f, "{s} s"),
            Cut::Preemptions(p) => write!(f, "{p} preemptions"),
            Cut::FirstViolation => write!(f, "stop at first violation"),
            Cut::Sampled(r) => write!(f, "{r} sampled runs"),
        }
    }
}

/// Everything a search learned.
pub struct Report<M: Model> {
    /// Distinct states visited.
    pub states: u64,
    /// Edges explored (every selected step from every expanded state).
    pub transitions: u64,
    /// Distinct terminal states.
    pub terminal: u64,
    /// Terminal states that violate an `at_end` property or deadlock.
    pub violating_terminal: u64,
    /// Deepest state reached.
    pub max_depth: usize,
    /// True when no bound cut the search.
    pub complete: bool,
    /// The bounds that cut it.
    pub cuts: Vec<Cut>,
    /// At most one violation per property (the shallowest, ties broken by fingerprint).
    pub violations: Vec<Violation<M>>,
    /// `sometimes` properties never satisfied in a complete search. A cut search judges none
    /// vacuous: what it did not reach may lie beyond the bound.
    pub vacuous: Vec<String>,
    /// Distinct outcomes of terminal states, by name.
    pub outcomes: BTreeMap<String, Outcome<M>>,
    /// For randomised strategies: upper bound on the probability of having missed a bug of the
    /// given depth (PCT's guarantee), when it applies.
    pub miss_probability: Option<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
    pub(crate) satisfied: Vec<bool>,
}

impl<M: Model> Report<M> {
    pub(crate) fn new(properties: usize) -> Self {
        Report {
            states: 0,
            transitions: 0,
            terminal: 0,
            violating_terminal: 0,
            max_depth: 0,
            complete: true,
            cuts: Vec::new(),
            violations: Vec::new(),
            vacuous: Vec::new(),
            outcomes: BTreeMap::new(),
            miss_probability: None,
            seconds: 0.0,
            satisfied: vec![false; properties],
        }
    }

    /// True when some property (or deadlock freedom) is violated.
    pub fn violated(&self) -> bool {
        !self.violations.is_empty()
    }

    pub(crate) fn cut(&mut self, cut: Cut) {
        self.complete = false;
        if !self.cuts.contains(&cut) {
            self.cuts.push(cut);
            self.cuts.sort();
        }
    }

    /// Keeps the shallowest violation per property (ties: smallest fingerprint).
    pub(crate) fn add_violation(&mut self, v: Violation<M>) {
        match self
            .violations
            .iter_mut()
            .find(|w| w.property == v.property)
        {
            Some(w) => {
                if (v.depth, v.fingerprint) < (w.depth, w.fingerprint) {
                    *w = v;
                }
            }
            None => self.violations.push(v),
        }
    }

    /// Counts a terminal state's outcome, keeping the shallowest witness.
    pub(crate) fn add_outcome(&mut self, name: String, fingerprint: u64, depth: usize) {
        let entry = self.outcomes.entry(name).or_insert(Outcome {
            count: 0,
            fingerprint,
            path: None,
            depth,
        });
        entry.count += 1;
        if (depth, fingerprint) < (entry.depth, entry.fingerprint) {
            entry.fingerprint = fingerprint;
            entry.depth = depth;
        }
    }

    /// Merges what another (partial) search found into this one.
    pub(crate) fn absorb(&mut self, other: Report<M>) {
        for v in other.violations {
            self.add_violation(v);
        }
        for (name, o) in other.outcomes {
            let entry = self.outcomes.entry(name).or_insert(Outcome {
                count: 0,
                fingerprint: o.fingerprint,
                path: o.path.clone(),
                depth: o.depth,
            });
            entry.count = entry.count.max(o.count);
            if entry.path.is_none() {
                entry.path = o.path;
            }
        }
        for (mine, theirs) in self.satisfied.iter_mut().zip(other.satisfied) {
            *mine |= theirs;
        }
        for cut in other.cuts {
            self.cut(cut);
        }
        self.miss_probability = other.miss_probability.or(self.miss_probability);
    }

    /// Orders violations by property order and, when the search is complete, lists vacuous
    /// `sometimes` properties.
    pub(crate) fn finish(&mut self, model: &M) {
        let props = model.properties();
        let index = |name: &str| {
            props
                .iter()
                .position(|p| p.name == name)
                .unwrap_or(props.len())
        };
        self.violations.sort_by(|a, b| {
            (index(&a.property), &a.property).cmp(&(index(&b.property), &b.property))
        });
        self.vacuous = if self.complete {
            props
                .iter()
                .zip(&self.satisfied)
                .filter(|(p, &sat)| p.kind == PropertyKind::Sometimes && !sat)
                .map(|(p, _)| p.name.clone())
                .collect()
        } else {
            Vec::new()
        };
    }
}
