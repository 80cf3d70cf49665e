//! Named properties, stateright-style: values with a name, a kind and a predicate.

use crate::footprint::Footprint;
use crate::model::Model;
use std::sync::Arc;

/// When a property's predicate is checked and what a failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    /// Must hold in every reachable state.
    Always,
    /// Must hold in every terminal state (no enabled step).
    AtEnd,
    /// Must hold in at least one reachable state, or a complete run reports the property as
    /// vacuous (a cut run reports nothing: the state may lie beyond the bound).
    Sometimes,
    /// Every path must reach a state where it holds: no terminal state and no cycle may be
    /// reached through states where it fails (cycles are reported as lassos).
    Eventually,
}

/// The predicate type: given the model and a state, does the property hold there?
pub type Predicate<M> = Arc<dyn Fn(&M, &<M as Model>::State) -> bool + Send + Sync>;

/// A named property of a model.
pub struct Property<M: Model> {
    /// Name shown in reports.
    pub name: String,
    /// When it is checked.
    pub kind: PropertyKind,
    /// The shared objects the predicate looks at; `Footprint::ALL` when unknown. Reduction keeps
    /// every step that writes one of these (visibility).
    pub reads: Footprint,
    /// The predicate.
    pub check: Predicate<M>,
}

impl<M: Model> Clone for Property<M> {
    fn clone(&self) -> Self {
        Property {
            name: self.name.clone(),
            kind: self.kind,
            reads: self.reads,
            check: self.check.clone(),
        }
    }
}

impl<M: Model> Property<M> {
    fn new(
        kind: PropertyKind,
        name: &str,
        check: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property {
            name: name.to_string(),
            kind,
            reads: Footprint::ALL,
            check: Arc::new(check),
        }
    }

    /// A property that must hold in every reachable state.
    pub fn always(name: &str, f: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static) -> Self {
        Self::new(PropertyKind::Always, name, f)
    }

    /// A property that must hold in every terminal state.
    pub fn at_end(name: &str, f: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static) -> Self {
        Self::new(PropertyKind::AtEnd, name, f)
    }

    /// A property that must be reachable.
    pub fn sometimes(
        name: &str,
        f: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::new(PropertyKind::Sometimes, name, f)
    }

    /// A property every path must eventually satisfy.
    pub fn eventually(
        name: &str,
        f: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::new(PropertyKind::Eventually, name, f)
    }

    /// Declares which shared objects the predicate reads, so reduction may reorder the rest.
    pub fn reading(mut self, reads: Footprint) -> Self {
        self.reads = reads;
        self
    }

    /// Evaluates the predicate.
    pub fn holds(&self, model: &M, state: &M::State) -> bool {
        (self.check)(model, state)
    }
}
