//! A scenario model: a model plus the scenario's properties (expressions over observations)
//! and its outcome function (the values of the observed names).

use evalexpr::{
    build_operator_tree, ContextWithMutableVariables, DefaultNumericTypes, HashMapContext, Node,
    Value,
};
use models::scenario::{Obs, Observable};
use sim::{ActorId, Footprint, Model, Property, PropertyKind, StepInfo};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A property as a scenario states it: name, kind, expression, plain-words meaning.
pub type PropertyDef = (String, PropertyKind, String, Option<String>);

/// One compiled property.
#[derive(Clone)]
pub struct CompiledProperty {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: PropertyKind,
    /// The expression as written.
    pub expr: String,
    /// Plain-words meaning, for reports.
    pub means: Option<String>,
    tree: Arc<Node<DefaultNumericTypes>>,
}

/// The properties bound per initial state's observations: a scenario's jobs (up to a
/// thousand variants) mostly share them, and binding every property again for each job costs
/// time linear in jobs × properties × expression size.
#[derive(Default)]
pub struct Bound(Mutex<BTreeMap<Vec<(String, Obs)>, Binding>>);

/// The properties bound to one initial state's observations, or why they do not bind.
type Binding = Result<Arc<[CompiledProperty]>, String>;

impl Bound {
    /// `props` bound to `observed` ([`CompiledProperty::bind`]), computed once per distinct
    /// `observed`.
    fn bind(&self, props: &[ParsedProperty], observed: Vec<(String, Obs)>) -> Binding {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = known.get(&observed) {
            return done.clone();
        }
        let fresh: Binding = props
            .iter()
            .map(|parsed| CompiledProperty::bind(parsed, &observed))
            .collect::<Result<Vec<_>, _>>()
            .map(Arc::from);
        known.insert(observed, fresh.clone());
        fresh
    }
}

/// The model a scenario checks.
pub struct Checked<M: Model> {
    /// The underlying model.
    pub inner: M,
    /// Properties.
    pub props: Arc<[CompiledProperty]>,
    /// Observations naming an outcome.
    pub observe: Vec<String>,
    /// The model's own properties the scenario keeps (a language model's built-in range
    /// property), checked after the scenario's.
    pub builtin: Vec<Property<M>>,
}

fn context(obs: Vec<(String, Obs)>) -> HashMapContext<DefaultNumericTypes> {
    let mut ctx = HashMapContext::new();
    for (name, value) in obs {
        let v = match value {
            Obs::Bool(b) => Value::Boolean(b),
            Obs::Int(i) => Value::Int(i),
            Obs::Str(s) => Value::String(s),
        };
        ctx.set_value(name, v)
            .expect("observation names are identifiers");
    }
    ctx
}

/// Says that `n` is not an observation, with a suggestion and the list.
fn unknown(n: &str, observed: &[(String, Obs)]) -> String {
    let names: Vec<&str> = observed.iter().map(|(n, _)| n.as_str()).collect();
    let hint = sim::yaml::closest(n, names.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    format!(
        "unknown observation `{n}`{hint}; this setup observes: {}",
        names.join(", ")
    )
}

/// A property parsed once per scenario (parsing is the costly part), then bound to each job's
/// model by [`CompiledProperty::bind`].
#[derive(Clone)]
pub struct ParsedProperty {
    def: PropertyDef,
    tree: Node<DefaultNumericTypes>,
}

impl ParsedProperty {
    /// Parses a property's expression: it must stay within the limits (docs/scenarios.md),
    /// parse, and call no function.
    pub fn parse(def: PropertyDef) -> Result<Self, String> {
        let (name, _, expr, _) = &def;
        // Limits first: the parser recurses per bracket and per chained operator.
        super::expr::check(expr).map_err(|e| format!("property `{name}`: {e}"))?;
        let tree = build_operator_tree::<DefaultNumericTypes>(expr)
            .map_err(|e| format!("property `{name}`: cannot parse `{expr}`: {e}"))?;
        if let Some(f) = tree.iter_function_identifiers().next() {
            return Err(format!(
                "property `{name}`: `{f}` is a function call; property expressions have none"
            ));
        }
        Ok(ParsedProperty { def, tree })
    }
}

impl CompiledProperty {
    /// Parses and binds one property ([`ParsedProperty::parse`], [`CompiledProperty::bind`]).
    /// Never panics, whatever the text.
    pub fn compile(def: PropertyDef, observed: &[(String, Obs)]) -> Result<Self, String> {
        Self::bind(&ParsedProperty::parse(def)?, observed)
    }

    /// Binds a parsed property to the observations of a state (the initial one): it must name
    /// only observations, combine only values of matching types, and be boolean there.
    pub fn bind(parsed: &ParsedProperty, observed: &[(String, Obs)]) -> Result<Self, String> {
        let (name, kind, expr, means) = parsed.def.clone();
        let tree = Arc::new(parsed.tree.clone());
        for var in tree.iter_variable_identifiers() {
            if !observed.iter().any(|(n, _)| n == var) {
                return Err(format!("property `{name}`: {}", unknown(var, observed)));
            }
        }
        let types = crate::scenario::typecheck::ObsTypes::new(observed);
        crate::scenario::typecheck::expression(&tree, &types)
            .map_err(|e| format!("property `{name}`: `{expr}` {e}"))?;
        tree.eval_boolean_with_context(&context(observed.to_vec()))
            .map_err(|e| {
                format!("property `{name}`: `{expr}` is not a boolean expression here: {e}")
            })?;
        Ok(CompiledProperty {
            name,
            kind,
            expr,
            means,
            tree,
        })
    }
}

impl<M: Observable> Checked<M> {
    /// Binds the parsed properties and checks every expression and observed name against the
    /// initial state (names, and the types of what operators combine), so that typos and mixed
    /// types fail at load time.
    pub fn new(
        inner: M,
        props: &[ParsedProperty],
        observe: Vec<String>,
        bound: &Bound,
    ) -> Result<Self, String> {
        let init = inner
            .init_states()
            .into_iter()
            .next()
            .ok_or("the model has no initial state")?;
        let observed = inner.observe(&init);
        for o in &observe {
            if !observed.iter().any(|(n, _)| n == o) {
                return Err(format!("observe: {}", unknown(o, &observed)));
            }
        }
        let compiled = bound.bind(props, observed)?;
        Ok(Checked {
            inner,
            props: compiled,
            observe,
            builtin: Vec::new(),
        })
    }

    /// Keeps `builtin`, properties of the model itself, besides the scenario's.
    pub fn keeping(mut self, builtin: Vec<Property<M>>) -> Self {
        self.builtin = builtin;
        self
    }

    fn holds(&self, i: usize, state: &M::State) -> bool {
        self.props[i]
            .tree
            .eval_boolean_with_context(&context(self.inner.observe(state)))
            .unwrap_or(false)
    }

    /// The outcome name of a state: `name=value` for each observed name.
    pub fn outcome_of(&self, state: &M::State) -> String {
        let obs = self.inner.observe(state);
        self.observe
            .iter()
            .map(|k| {
                let v = obs.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
                format!("{k}={}", v.unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl<M: Observable> Model for Checked<M> {
    type State = M::State;
    type Action = M::Action;

    fn name(&self) -> String {
        self.inner.name()
    }
    fn version(&self) -> u32 {
        self.inner.version()
    }
    fn actors(&self) -> Vec<String> {
        self.inner.actors()
    }
    fn init_states(&self) -> Vec<Self::State> {
        self.inner.init_states()
    }
    fn actions(&self, state: &Self::State, out: &mut Vec<Self::Action>) {
        self.inner.actions(state, out)
    }
    fn next_state(&self, state: &Self::State, action: &Self::Action) -> Self::State {
        self.inner.next_state(state, action)
    }
    fn step_info(&self, action: &Self::Action) -> StepInfo {
        self.inner.step_info(action)
    }
    fn actor_of(&self, action: &Self::Action) -> ActorId {
        self.inner.actor_of(action)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        (0..self.props.len())
            .map(|i| {
                let p = &self.props[i];
                let f = move |m: &Self, s: &M::State| m.holds(i, s);
                let prop = match p.kind {
                    PropertyKind::Always => Property::always(&p.name, f),
                    PropertyKind::AtEnd => Property::at_end(&p.name, f),
                    PropertyKind::Sometimes => Property::sometimes(&p.name, f),
                    PropertyKind::Eventually => Property::eventually(&p.name, f),
                };
                prop.reading(Footprint::ALL)
            })
            .chain(self.builtin.iter().enumerate().map(|(i, p)| {
                let f = move |m: &Self, s: &M::State| m.builtin[i].holds(&m.inner, s);
                let prop = match p.kind {
                    PropertyKind::Always => Property::always(&p.name, f),
                    PropertyKind::AtEnd => Property::at_end(&p.name, f),
                    PropertyKind::Sometimes => Property::sometimes(&p.name, f),
                    PropertyKind::Eventually => Property::eventually(&p.name, f),
                };
                prop.reading(p.reads)
            }))
            .collect()
    }
    fn footprint(&self, state: &Self::State, action: &Self::Action) -> Footprint {
        self.inner.footprint(state, action)
    }
    fn future_footprint(&self, state: &Self::State, actor: ActorId) -> Footprint {
        self.inner.future_footprint(state, actor)
    }
    fn is_done(&self, state: &Self::State) -> bool {
        self.inner.is_done(state)
    }
    fn outcome(&self, state: &Self::State) -> Option<String> {
        (!self.observe.is_empty()).then(|| self.outcome_of(state))
    }
    fn canonical(&self, state: &Self::State) -> Option<Self::State> {
        self.inner.canonical(state)
    }
    fn state_json(&self, state: &Self::State) -> serde_json::Value {
        self.inner.state_json(state)
    }
}
