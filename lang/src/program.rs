//! A compiled model: the packed state, the compiled steps of every actor instance, derived
//! footprints, and its `sim::Model` implementation.

use crate::check::MAX_SLOTS;
use crate::compile::{self, CStmt, Code, Env, Slot};
use crate::footprint::{futures, Objects};
use crate::ir::{Checked, Fault, PatchDiff, Piece, Site, Ty};
use models::scenario::{Obs, Observable};
use serde::Serialize;
use sim::{ActorId, Footprint, Model, Property, PropertyKind, StepInfo};
use std::cell::Cell;
use std::sync::Arc;

/// The name of the built-in property that fails in a state where an assignment's value left its
/// variable's range (the model has it when some assignment needs a run-time check).
pub const RANGE_PROPERTY: &str = "every assignment stays in its variable's range";

/// The name of the built-in property that fails in a state where an `unlock(m)` or a
/// `wait(c, m)` ran in an actor not holding `m` (the model has it when it unlocks or waits).
pub const OWNER_PROPERTY: &str = "only a mutex's holder unlocks it or waits with it";

/// Whether `name` is one of the language's built-in properties (a scenario keeps them).
pub fn is_builtin(name: &str) -> bool {
    name == RANGE_PROPERTY || name == OWNER_PROPERTY
}

/// A state: every cell packed into 64-bit words.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct State(Box<[u64]>);

impl State {
    /// The packed words.
    pub fn words(&self) -> &[u64] {
        &self.0
    }
}

/// An action: which actor, which step, and which alternative (`either` branch and `pick`
/// values, numbered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Action {
    actor: ActorId,
    step: u16,
    alt: u32,
}

struct CStep {
    label: String,
    upstream: Option<String>,
    guard: Option<Code>,
    picks: Vec<(i64, i64)>,
    body: Vec<CStmt>,
    branches: Vec<(Option<Code>, Vec<CStmt>)>,
    alternatives: u32,
    fallthrough: u32,
}

struct Instance {
    template: usize,
    me: i64,
    /// The first cell of the instance's block (its locals, then its program counter).
    first: u32,
    pc: Slot,
    /// Per step: what it touches when this instance takes it.
    footprints: Vec<Footprint>,
    /// Per program counter: everything the instance may still touch.
    futures: Vec<Footprint>,
}

enum CPiece {
    Text(String),
    Value(Code, Ty),
}

/// A loaded model, ready for `sim::explore`.
pub struct Program {
    name: String,
    actors: Vec<String>,
    instances: Vec<Instance>,
    steps: Vec<Vec<CStep>>,
    daemons: Vec<bool>,
    init: State,
    properties: Vec<(String, PropertyKind, Code, Footprint)>,
    outcome: Option<Vec<CPiece>>,
    enums: Vec<Vec<String>>,
    /// For each symmetric template: each instance's block of slots.
    symmetric: Vec<Vec<Vec<Slot>>>,
    /// The fault cell: which run-time check failed, 0 while none has.
    fault: Slot,
    /// The check sites (site `n` is `sites[n - 1]`).
    sites: Vec<Site>,
    /// What the built-in properties read (the fault cell's object).
    fault_reads: Footprint,
    /// Every mutex cell: its name (`vm_lock`, `locks[1]`) and slot.
    mutexes: Vec<(String, Slot)>,
    /// Every cell's slot.
    slots: Arc<[Slot]>,
    /// The globals: name, type, first cell.
    globals: Vec<(String, Ty, u32)>,
    /// Each template's locals: name and type, in block order.
    locals: Vec<Vec<(String, Ty)>>,
    /// Records: field names and types.
    records: Vec<Vec<(String, Ty)>>,
    /// The applied patches and what each changed.
    patches: Vec<PatchDiff>,
}

impl Program {
    /// Compiles a checked program.
    pub fn new(checked: &Checked) -> Program {
        assert!(
            checked.slots <= MAX_SLOTS,
            "checked programs bound few variables"
        );
        let (slot_vec, words) = compile::layout(&checked.cells);
        let slots: Arc<[Slot]> = slot_vec.into();
        let mut init = vec![0u64; words];
        for (slot, v) in slots.iter().zip(&checked.init) {
            slot.set(&mut init, *v);
        }
        let objects = Objects::new(checked);
        let mut actors = Vec::new();
        let mut instances = Vec::new();
        let mut steps = Vec::new();
        let mut symmetric = Vec::new();
        for (t, template) in checked.templates.iter().enumerate() {
            let var = &checked.vars[template.var];
            let count = template.instances.unwrap_or(1);
            for i in 0..count {
                actors.push(match template.instances {
                    Some(_) => format!("{}{i}", template.name),
                    None => template.name.clone(),
                });
                let me = template.instances.map(|_| i as i64);
                let own: Vec<Footprint> = template
                    .steps
                    .iter()
                    .map(|s| objects.step(checked, s, me))
                    .collect();
                let first = var.first + i as u32 * template.block;
                instances.push(Instance {
                    template: t,
                    me: i as i64,
                    first,
                    pc: slots[(first + template.block - 1) as usize],
                    futures: futures(&template.steps, &own),
                    footprints: own,
                });
            }
            if template.symmetric {
                symmetric.push(
                    (0..count as u32)
                        .map(|i| {
                            let first = var.first + i * template.block;
                            (first..first + template.block)
                                .map(|c| slots[c as usize])
                                .collect()
                        })
                        .collect(),
                );
            }
            steps.push(
                template
                    .steps
                    .iter()
                    .map(|s| CStep {
                        label: s.label.clone(),
                        upstream: s.upstream.clone(),
                        guard: s.guard.as_ref().map(|g| compile::expr(g, &slots)),
                        picks: s.picks.clone(),
                        body: compile::stmts(&s.body, &slots),
                        branches: s
                            .branches
                            .iter()
                            .map(|b| {
                                (
                                    b.guard.as_ref().map(|g| compile::expr(g, &slots)),
                                    compile::stmts(&b.body, &slots),
                                )
                            })
                            .collect(),
                        alternatives: s.alternatives() as u32,
                        fallthrough: s.fallthrough,
                    })
                    .collect(),
            );
        }
        let properties = checked
            .properties
            .iter()
            .map(|(name, kind, e)| {
                let mut reads = Footprint::NONE;
                objects.reads(checked, e, None, &mut reads);
                (name.clone(), *kind, compile::expr(e, &slots), reads)
            })
            .collect();
        let fault_reads = objects
            .fault(checked)
            .map_or(Footprint::NONE, |o| Footprint::NONE.read(o));
        let outcome = checked.outcome.as_ref().map(|pieces| {
            pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => CPiece::Text(t.clone()),
                    Piece::Value(e, ty) => CPiece::Value(compile::expr(e, &slots), ty.clone()),
                })
                .collect()
        });
        let globals: Vec<(String, Ty, u32)> = checked
            .vars
            .iter()
            .zip(&checked.types)
            .enumerate()
            .filter(|(v, _)| checked.templates.iter().all(|t| t.var != *v))
            .map(|(_, (var, ty))| (var.name.clone(), ty.clone(), var.first))
            .collect();
        let mut mutexes = Vec::new();
        for (name, ty, first) in &globals {
            let mut cell = *first;
            mutex_cells(name, ty, &checked.records, &mut cell, &mut |name, cell| {
                mutexes.push((name, slots[cell as usize]))
            });
        }
        Program {
            name: format!(
                "{}({}){}",
                checked.name,
                checked.params,
                checked
                    .patches
                    .iter()
                    .map(|p| format!("+{}", p.name))
                    .collect::<String>()
            ),
            patches: checked.patches.clone(),
            actors,
            instances,
            steps,
            daemons: checked.templates.iter().map(|t| t.daemon).collect(),
            init: State(init.into()),
            properties,
            outcome,
            enums: checked.enums.iter().map(|(_, c)| c.clone()).collect(),
            symmetric,
            fault: slots[checked.fault as usize],
            sites: checked.sites.clone(),
            fault_reads,
            mutexes,
            globals,
            locals: checked
                .templates
                .iter()
                .map(|t| match &checked.types[t.var] {
                    Ty::Array(record, _) => match **record {
                        Ty::Record(r) => {
                            let fields = &checked.records[r];
                            fields[..fields.len() - 1].to_vec()
                        }
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                })
                .collect(),
            records: checked.records.clone(),
            slots,
        }
    }

    /// The patches the configuration applied, in order, each with the diff of the programs it
    /// edited.
    pub fn patches(&self) -> &[PatchDiff] {
        &self.patches
    }

    /// The value of type `ty` whose cells start at `*cell` in `words`, as JSON (bools as
    /// bools, enum values by name); advances `*cell` past it.
    fn value_json(&self, ty: &Ty, words: &[u64], cell: &mut u32) -> serde_json::Value {
        use serde_json::Value;
        match ty {
            Ty::Record(r) => Value::Object(
                self.records[*r]
                    .iter()
                    .map(|(name, ty)| (name.clone(), self.value_json(ty, words, cell)))
                    .collect(),
            ),
            Ty::Array(elem, n) => Value::Array(
                (0..*n)
                    .map(|_| self.value_json(elem, words, cell))
                    .collect(),
            ),
            Ty::Mutex => {
                let v = self.slots[*cell as usize].get(words);
                *cell += 1;
                match v {
                    0 => Value::Null,
                    holder => Value::from(self.actors[holder as usize - 1].clone()),
                }
            }
            Ty::Cond => {
                let v = self.slots[*cell as usize].get(words);
                *cell += 1;
                Value::Array(
                    (0..self.actors.len())
                        .filter(|i| v >> i & 1 == 1)
                        .map(|i| Value::from(self.actors[i].clone()))
                        .collect(),
                )
            }
            Ty::Queue(elem, capacity) => {
                let len = self.slots[*cell as usize].get(words) as usize;
                *cell += 1;
                let mut items = Vec::new();
                for k in 0..*capacity {
                    let item = self.value_json(elem, words, cell);
                    if k < len {
                        items.push(item);
                    }
                }
                Value::Array(items)
            }
            scalar => {
                let v = self.slots[*cell as usize].get(words);
                *cell += 1;
                match scalar {
                    Ty::Bool => Value::Bool(v != 0),
                    Ty::Enum(e) => Value::String(self.enums[*e][v as usize].clone()),
                    _ => Value::from(v),
                }
            }
        }
    }

    /// The failed run-time check's message (the statement's file:line:column) when a step of
    /// the path to `state` assigned a value outside its variable's range, or unlocked or waited
    /// with a mutex its actor did not hold.
    pub fn fault(&self, state: &State) -> Option<&str> {
        self.failed(state).map(|s| s.message.as_str())
    }

    fn failed(&self, state: &State) -> Option<&Site> {
        match self.fault.get(&state.0) {
            0 => None,
            site => Some(&self.sites[site as usize - 1]),
        }
    }

    /// The built-in property for the checks of kind `fault`, when the model has such checks.
    fn builtin(&self, fault: Fault) -> Option<Property<Program>> {
        let name = match fault {
            Fault::Range => RANGE_PROPERTY,
            Fault::Owner => OWNER_PROPERTY,
        };
        self.sites.iter().any(|s| s.fault == fault).then(|| {
            Property::always(name, move |m: &Program, s: &State| {
                m.failed(s).is_none_or(|site| site.fault != fault)
            })
            .reading(self.fault_reads)
        })
    }

    /// "m held by worker0, ..." for every held mutex, in a state where some actor is stuck.
    fn holders(&self, state: &State) -> Vec<String> {
        self.mutexes
            .iter()
            .filter_map(|(name, slot)| match slot.get(&state.0) {
                0 => None,
                holder => Some(format!(
                    "{name} held by {}",
                    self.actors[holder as usize - 1]
                )),
            })
            .collect()
    }

    /// Sets the bound variables of `step`'s alternative `alt`; returns its branch.
    fn choose(step: &CStep, alt: u32, bound: &[Cell<i64>]) -> usize {
        let branches = step.branches.len() as u32;
        let mut rest = alt / branches;
        for (slot, (lo, hi)) in step.picks.iter().enumerate() {
            let size = (hi - lo + 1) as u32;
            bound[slot].set(lo + (rest % size) as i64);
            rest /= size;
        }
        (alt % branches) as usize
    }

    /// The model's `outcome:` text in `state` (empty without one).
    fn named_outcome(&self, state: &State) -> String {
        let Some(pieces) = &self.outcome else {
            return String::new();
        };
        let bound: [Cell<i64>; MAX_SLOTS] = Default::default();
        let env = Env {
            words: &state.0,
            me: 0,
            bound: &bound,
        };
        pieces
            .iter()
            .map(|p| match p {
                CPiece::Text(t) => t.clone(),
                CPiece::Value(code, ty) => {
                    let v = code(&env);
                    match ty {
                        Ty::Bool => (v != 0).to_string(),
                        Ty::Enum(e) => self.enums[*e][v as usize].clone(),
                        _ => v.to_string(),
                    }
                }
            })
            .collect()
    }

    fn holds(&self, property: usize, state: &State) -> bool {
        let bound: [Cell<i64>; MAX_SLOTS] = Default::default();
        let env = Env {
            words: &state.0,
            me: 0,
            bound: &bound,
        };
        (self.properties[property].2)(&env) != 0
    }
}

/// Appends the leaves of `value` (a state's JSON view) to `out`, named from `prefix`: `x`,
/// `arr[0]`, `rec.field`, `worker0.tap`.
fn leaves(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, Obs)>) {
    use serde_json::Value;
    let dot = |key: &str| match prefix {
        "" => key.to_string(),
        _ => format!("{prefix}.{key}"),
    };
    match value {
        Value::Object(fields) => {
            for (key, v) in fields {
                leaves(&dot(key), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Bool(b) => out.push((prefix.to_string(), Obs::Bool(*b))),
        Value::Number(n) => out.push((prefix.to_string(), Obs::Int(n.as_i64().unwrap_or(0)))),
        Value::String(s) => out.push((prefix.to_string(), Obs::Str(s.clone()))),
        Value::Null => {}
    }
}

/// Every variable by name: globals as `x`, `arr[0]`, `rec.field`; each actor instance's
/// program counter and locals as `worker0.pc` (a label) and `worker0.local`.
impl Observable for Program {
    fn observe(&self, state: &State) -> Vec<(String, Obs)> {
        let mut out = Vec::new();
        if let serde_json::Value::Object(view) = self.state_json(state) {
            for (key, value) in &view {
                match key.as_str() {
                    "globals" => leaves("", value, &mut out),
                    "fault" => {}
                    actor => leaves(actor, value, &mut out),
                }
            }
        }
        out
    }
}

impl Model for Program {
    type State = State;
    type Action = Action;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn actors(&self) -> Vec<String> {
        self.actors.clone()
    }

    fn init_states(&self) -> Vec<State> {
        vec![self.init.clone()]
    }

    fn actions(&self, state: &State, out: &mut Vec<Action>) {
        if self.fault(state).is_some() {
            return;
        }
        let bound: [Cell<i64>; MAX_SLOTS] = Default::default();
        for (id, inst) in self.instances.iter().enumerate() {
            let pc = inst.pc.get(&state.0) as usize;
            let Some(step) = self.steps[inst.template].get(pc) else {
                continue;
            };
            let env = Env {
                words: &state.0,
                me: inst.me,
                bound: &bound,
            };
            for alt in 0..step.alternatives {
                let branch = Program::choose(step, alt, &bound);
                let enabled = step.guard.as_ref().is_none_or(|g| g(&env) != 0)
                    && step.branches[branch]
                        .0
                        .as_ref()
                        .is_none_or(|g| g(&env) != 0);
                if enabled {
                    out.push(Action {
                        actor: id as ActorId,
                        step: pc as u16,
                        alt,
                    });
                }
            }
        }
    }

    fn next_state(&self, state: &State, action: &Action) -> State {
        let inst = &self.instances[action.actor as usize];
        let step = &self.steps[inst.template][action.step as usize];
        let bound: [Cell<i64>; MAX_SLOTS] = Default::default();
        let branch = Program::choose(step, action.alt, &bound);
        let mut words = state.0.clone();
        let mut next = step.fallthrough;
        let run =
            compile::exec(&step.body, &mut words, inst.me, &bound, &mut next).and_then(|()| {
                compile::exec(
                    &step.branches[branch].1,
                    &mut words,
                    inst.me,
                    &bound,
                    &mut next,
                )
            });
        match run {
            Ok(()) => inst.pc.set(&mut words, next as i64),
            Err(site) => self.fault.set(&mut words, site as i64),
        }
        State(words)
    }

    fn step_info(&self, action: &Action) -> StepInfo {
        let inst = &self.instances[action.actor as usize];
        let step = &self.steps[inst.template][action.step as usize];
        StepInfo {
            actor: action.actor,
            label: step.label.clone(),
            upstream: step.upstream.clone(),
        }
    }

    fn actor_of(&self, action: &Action) -> ActorId {
        action.actor
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let builtin = [Fault::Range, Fault::Owner].map(|f| self.builtin(f));
        self.properties
            .iter()
            .enumerate()
            .map(|(i, (name, kind, _, reads))| {
                let check = move |m: &Program, s: &State| m.holds(i, s);
                let p = match kind {
                    PropertyKind::Always => Property::always(name, check),
                    PropertyKind::AtEnd => Property::at_end(name, check),
                    PropertyKind::Sometimes => Property::sometimes(name, check),
                    PropertyKind::Eventually => Property::eventually(name, check),
                };
                p.reading(*reads)
            })
            .chain(builtin.into_iter().flatten())
            .collect()
    }

    fn footprint(&self, _state: &State, action: &Action) -> Footprint {
        self.instances[action.actor as usize].footprints[action.step as usize]
    }

    fn future_footprint(&self, state: &State, actor: ActorId) -> Footprint {
        let inst = &self.instances[actor as usize];
        inst.futures[inst.pc.get(&state.0) as usize]
    }

    fn is_done(&self, state: &State) -> bool {
        self.fault(state).is_some()
            || self.instances.iter().all(|inst| {
                self.daemons[inst.template]
                    || inst.pc.get(&state.0) as usize == self.steps[inst.template].len()
            })
    }

    /// The model's outcome; a fault's message instead when a run-time check failed; and in a
    /// deadlock (a terminal state that is not done) with mutexes held, who holds them.
    fn outcome(&self, state: &State) -> Option<String> {
        if let Some(site) = self.failed(state) {
            let kind = match site.fault {
                Fault::Range => "range",
                Fault::Owner => "lock",
            };
            return Some(format!("{kind} fault: {}", site.message));
        }
        let held = if self.mutexes.is_empty() || self.is_done(state) {
            Vec::new()
        } else {
            self.holders(state)
        };
        if self.outcome.is_none() && held.is_empty() {
            return None;
        }
        let mut text = self.named_outcome(state);
        if !held.is_empty() {
            let sep = if text.is_empty() { "" } else { "; " };
            text = format!("{text}{sep}deadlock with {}", held.join(", "));
        }
        Some(text)
    }

    /// `{"globals": {name: value}, "<actor>": {"pc": label, local: value}}`, and `"fault"` (the
    /// failed check's message, or null) in a model with run-time checks. A mutex shows its
    /// holder's name (null while free), a cond its waiters' names, a queue its elements from
    /// the head.
    fn state_json(&self, state: &State) -> serde_json::Value {
        use serde_json::{Map, Value};
        let words = &state.0;
        let mut out = Map::new();
        let mut globals = Map::new();
        for (name, ty, first) in &self.globals {
            let mut cell = *first;
            globals.insert(name.clone(), self.value_json(ty, words, &mut cell));
        }
        out.insert("globals".into(), Value::Object(globals));
        for (inst, actor) in self.instances.iter().zip(&self.actors) {
            let steps = &self.steps[inst.template];
            let pc = inst.pc.get(words) as usize;
            let label = steps.get(pc).map_or("done", |s| s.label.as_str());
            let mut fields = Map::new();
            fields.insert("pc".into(), Value::from(label));
            let mut cell = inst.first;
            for (name, ty) in &self.locals[inst.template] {
                fields.insert(name.clone(), self.value_json(ty, words, &mut cell));
            }
            out.insert(actor.clone(), Value::Object(fields));
        }
        if !self.sites.is_empty() {
            out.insert("fault".into(), Value::from(self.fault(state)));
        }
        Value::Object(out)
    }

    fn canonical(&self, state: &State) -> Option<State> {
        if self.symmetric.is_empty() {
            return None;
        }
        let mut words = state.0.clone();
        for blocks in &self.symmetric {
            let mut values: Vec<Vec<u64>> = blocks
                .iter()
                .map(|b| b.iter().map(|s| s.bits(&words)).collect())
                .collect();
            values.sort_unstable();
            for (block, v) in blocks.iter().zip(values) {
                for (slot, bits) in block.iter().zip(v) {
                    slot.set_bits(&mut words, bits);
                }
            }
        }
        Some(State(words))
    }
}

/// Calls `found` with the name and cell of every mutex in a variable of type `ty` named `name`
/// whose cells start at `*cell`; advances `*cell` past it.
fn mutex_cells(
    name: &str,
    ty: &Ty,
    records: &[Vec<(String, Ty)>],
    cell: &mut u32,
    found: &mut dyn FnMut(String, u32),
) {
    match ty {
        Ty::Mutex => {
            found(name.to_string(), *cell);
            *cell += 1;
        }
        Ty::Array(elem, n) => {
            for i in 0..*n {
                mutex_cells(&format!("{name}[{i}]"), elem, records, cell, found);
            }
        }
        Ty::Record(r) => {
            for (field, t) in &records[*r] {
                mutex_cells(&format!("{name}.{field}"), t, records, cell, found);
            }
        }
        Ty::Queue(_, capacity) => *cell += 1 + *capacity as u32,
        Ty::Bool | Ty::Int(..) | Ty::Enum(_) | Ty::Cond => *cell += 1,
    }
}
