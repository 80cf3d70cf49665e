//! Property checks shared by every strategy: what to look at in each state and in each terminal
//! state, collected into [`Findings`] that merge into a [`Report`].

use super::report::{Report, Violation, ViolationKind};
use crate::model::Model;
use crate::property::{Property, PropertyKind};

/// What one worker saw: merged into the report in a deterministic way (minima, sums).
pub(crate) struct Findings<M: Model> {
    pub transitions: u64,
    pub terminal: u64,
    pub violating_terminal: u64,
    pub violations: Vec<Violation<M>>,
    /// How many times `violations` gained or replaced an entry (which then lacks a path).
    pub recorded: u64,
    pub outcomes: Vec<(String, u64, usize)>,
    pub satisfied: Vec<bool>,
}

impl<M: Model> Findings<M> {
    pub fn new(properties: usize) -> Self {
        Findings {
            transitions: 0,
            terminal: 0,
            violating_terminal: 0,
            violations: Vec::new(),
            recorded: 0,
            outcomes: Vec::new(),
            satisfied: vec![false; properties],
        }
    }

    /// Adds these findings to `report`.
    pub fn merge_into(self, report: &mut Report<M>) {
        report.transitions += self.transitions;
        report.terminal += self.terminal;
        report.violating_terminal += self.violating_terminal;
        for v in self.violations {
            report.add_violation(v);
        }
        for (name, fp, depth) in self.outcomes {
            report.add_outcome(name, fp, depth);
        }
        for (mine, theirs) in report.satisfied.iter_mut().zip(self.satisfied) {
            *mine |= theirs;
        }
    }

    fn violate(&mut self, property: &str, kind: ViolationKind, fp: u64, depth: usize) {
        let v = || Violation {
            property: property.to_string(),
            kind,
            fingerprint: fp,
            path: None,
            lasso_start: None,
            depth,
        };
        // the name is only allocated for a violation that is kept
        match self.violations.iter_mut().find(|w| w.property == property) {
            Some(w) if (depth, fp) < (w.depth, w.fingerprint) => *w = v(),
            Some(_) => return,
            None => self.violations.push(v()),
        }
        self.recorded += 1;
    }
}

/// The properties of a model, sorted by when they are checked.
pub(crate) struct Checker<'m, M: Model> {
    model: &'m M,
    props: Vec<Property<M>>,
    /// Indices of the properties checked in every state (`always` and `sometimes`).
    per_state: Vec<usize>,
}

impl<'m, M: Model> Checker<'m, M> {
    pub fn new(model: &'m M) -> Self {
        let props = model.properties();
        let per_state = (0..props.len())
            .filter(|&i| {
                matches!(
                    props[i].kind,
                    PropertyKind::Always | PropertyKind::Sometimes
                )
            })
            .collect();
        Checker {
            model,
            props,
            per_state,
        }
    }

    pub fn count(&self) -> usize {
        self.props.len()
    }

    /// Checks `always` and `sometimes` properties in a reached state.
    pub fn state(&self, state: &M::State, fp: u64, depth: usize, out: &mut Findings<M>) {
        for &i in &self.per_state {
            let p = &self.props[i];
            match p.kind {
                PropertyKind::Always if !p.holds(self.model, state) => {
                    out.violate(&p.name, ViolationKind::Always, fp, depth)
                }
                PropertyKind::Sometimes if !out.satisfied[i] && p.holds(self.model, state) => {
                    out.satisfied[i] = true
                }
                _ => {}
            }
        }
    }

    /// Checks a terminal state: `at_end` properties, deadlock, and its outcome.
    pub fn terminal(&self, state: &M::State, fp: u64, depth: usize, out: &mut Findings<M>) {
        out.terminal += 1;
        let mut bad = false;
        for p in &self.props {
            if p.kind == PropertyKind::AtEnd && !p.holds(self.model, state) {
                out.violate(&p.name, ViolationKind::AtEnd, fp, depth);
                bad = true;
            }
        }
        if !self.model.is_done(state) {
            out.violate("deadlock", ViolationKind::Deadlock, fp, depth);
            bad = true;
        }
        if bad {
            out.violating_terminal += 1;
        }
        if let Some(name) = self.model.outcome(state) {
            out.outcomes.push((name, fp, depth));
        }
    }
}

impl<M: Model> Checker<'_, M> {
    /// The objects that properties checked in non-terminal states read: reduction must not hide
    /// a step that writes one of them.
    pub fn visible(&self) -> crate::footprint::Footprint {
        self.props
            .iter()
            .filter(|p| p.kind != PropertyKind::AtEnd)
            .fold(crate::footprint::Footprint::NONE, |acc, p| {
                acc.union(p.reads)
            })
    }
}
