//! Load-time checking: parameters bound, names resolved (with suggestions), types and integer
//! ranges checked, constants folded, labels resolved; the result is the [`Checked`] program.
//! Every error is a [`Diagnostic`] at its file, line and column.

mod locks;
mod sync;

use crate::error::{suggestion, Diagnostic, Locator};
use crate::expr::{self, Expr, ExprKind, Quant, Stmt, TypeExpr, UnOp};
use crate::ir::*;
use crate::patch::{Patched, Placed};
use crate::syntax::{ActorDecl, File, StmtDecl, VarDecl};
use sim::PropertyKind;
use std::collections::HashMap;

/// An error was recorded; checking goes on elsewhere.
struct Reported;

type R<T> = Result<T, Reported>;

/// The hidden field of an actor's block that holds its program counter.
const PC_FIELD: &str = "@pc";

/// Most bound variables (`pick` and quantifiers) alive at once.
pub const MAX_SLOTS: usize = 16;

/// What a name or an expression denotes while checking.
enum Denot {
    Value(TExpr, Ty),
    Place(Place, Ty),
}

struct Scope<'s> {
    /// The template whose program is being checked.
    actor: Option<usize>,
    /// Bound variables: name, slot, range.
    bound: Vec<(String, usize, (i64, i64))>,
    /// Where errors are placed: anchors ending with the expression's text.
    anchors: Vec<&'s str>,
}

struct Checker<'a> {
    loc: Locator<'a>,
    /// The actors' programs after the configuration's patches.
    patched: &'a Patched<'a>,
    /// The applied patch an error found now is due to (its message then says so).
    blame: Option<usize>,
    /// Where the step being checked starts in the text (errors are searched from there).
    start: usize,
    errors: Vec<Diagnostic>,
    constants: HashMap<String, (i64, Ty)>,
    enum_consts: HashMap<String, (usize, i64)>,
    enums: Vec<(String, Vec<String>)>,
    records: Vec<Vec<(String, Ty, u32)>>,
    types: HashMap<String, Ty>,
    vars: Vec<(Var, Ty)>,
    cells: Vec<CellDecl>,
    init: Vec<i64>,
    templates: Vec<Template>,
    slots: usize,
    /// Every `goto` target written in the step being checked, also those a constant condition
    /// folds away (a label only another variant reaches is not unreachable).
    jumps: Vec<u32>,
    /// The run-time checks, by site number minus one.
    sites: Vec<Site>,
    /// Mutex and cond cells, sized once every actor instance is known: cell, whether a cond,
    /// and its variable.
    sync_cells: Vec<(u32, bool, usize)>,
    /// What the synchronisation statements of the program being checked need.
    sync: sync::Tracker,
    /// The program counter of `done` in the program being checked.
    done: u32,
}

/// Checks `file` (whose text `loc` searches) with its programs as `patched` and parameter
/// values `overrides`.
pub fn check<'a>(
    loc: Locator<'a>,
    file: &'a File,
    patched: &'a Patched<'a>,
    overrides: &[(String, String)],
) -> Result<Checked, Vec<Diagnostic>> {
    let mut c = Checker {
        loc,
        patched,
        blame: None,
        start: 0,
        errors: Vec::new(),
        constants: HashMap::new(),
        enum_consts: HashMap::new(),
        enums: Vec::new(),
        records: Vec::new(),
        types: HashMap::new(),
        vars: Vec::new(),
        cells: Vec::new(),
        init: Vec::new(),
        templates: Vec::new(),
        slots: 0,
        jumps: Vec::new(),
        sites: Vec::new(),
        sync_cells: Vec::new(),
        sync: sync::Tracker::default(),
        done: 0,
    };
    let checked = c.file(file, overrides);
    match checked {
        Ok(checked) if c.errors.is_empty() => Ok(checked),
        _ => Err(c.errors),
    }
}

fn size(ty: &Ty, records: &[Vec<(String, Ty, u32)>]) -> u32 {
    match ty {
        Ty::Bool | Ty::Int(..) | Ty::Enum(_) => 1,
        Ty::Record(r) => records[*r].iter().map(|(_, t, _)| size(t, records)).sum(),
        Ty::Array(elem, n) => size(elem, records) * *n as u32,
        Ty::Mutex | Ty::Cond => 1,
        Ty::Queue(_, capacity) => 1 + *capacity as u32,
    }
}

fn range_of(ty: &Ty, enums: &[(String, Vec<String>)]) -> Option<(i64, i64)> {
    match ty {
        Ty::Bool => Some((0, 1)),
        Ty::Int(lo, hi) => Some((*lo, *hi)),
        Ty::Enum(e) => Some((0, enums[*e].1.len() as i64 - 1)),
        _ => None,
    }
}

fn fold(op: BinOp, a: i64, b: i64) -> i64 {
    match op {
        BinOp::Or => (a != 0 || b != 0) as i64,
        BinOp::And => (a != 0 && b != 0) as i64,
        BinOp::Eq => (a == b) as i64,
        BinOp::Ne => (a != b) as i64,
        BinOp::Lt => (a < b) as i64,
        BinOp::Le => (a <= b) as i64,
        BinOp::Gt => (a > b) as i64,
        BinOp::Ge => (a >= b) as i64,
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
    }
}

impl<'a> Checker<'a> {
    /// Records an error (said to be after the blamed patch, if any).
    fn error<T>(&mut self, anchors: &[&str], inner: usize, message: String) -> R<T> {
        let message = match self.blame {
            Some(p) => format!("after patch `{}`: {message}", self.patched.names[p]),
            None => message,
        };
        let d = self.loc.at_from(self.start, anchors, inner, message);
        self.errors.push(d);
        Err(Reported)
    }

    /// Records an error due to applied patch `p` (or to the one blamed now, if later).
    /// Begins the messages of the errors found since `first` with "after patch `p`: " (for the
    /// checks that make their diagnostics themselves, as [`Checker::error`] does for the others).
    fn blame_since(&mut self, first: usize, patch: Option<usize>) {
        let Some(p) = patch else { return };
        let prefix = format!("after patch `{}`: ", self.patched.names[p]);
        for d in &mut self.errors[first..] {
            if !d.message.starts_with("after patch `") {
                d.message.insert_str(0, &prefix);
            }
        }
    }

    fn error_after<T>(
        &mut self,
        p: Option<usize>,
        anchors: &[&str],
        inner: usize,
        message: String,
    ) -> R<T> {
        let outer = self.blame;
        self.blame = outer.max(p);
        let result = self.error(anchors, inner, message);
        self.blame = outer;
        result
    }

    fn type_name(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "bool".into(),
            Ty::Int(lo, hi) => format!("int {lo}..{hi}"),
            Ty::Enum(e) => self.enums[*e].0.clone(),
            Ty::Record(_) => "a record".into(),
            Ty::Array(elem, n) => format!("{}[{n}]", self.type_name(elem)),
            Ty::Mutex => "mutex".into(),
            Ty::Cond => "cond".into(),
            Ty::Queue(elem, n) => format!("queue {}[{n}]", self.type_name(elem)),
        }
    }

    fn file(&mut self, file: &File, overrides: &[(String, String)]) -> R<Checked> {
        // Enums first: parameters may be of an enum type.
        for (name, decl) in &file.types.0 {
            let anchors = ["types:", name.as_str()];
            self.fresh_name(name, &anchors);
            match (&decl.enumeration, &decl.record) {
                (Some(values), None) => {
                    let e = self.enums.len();
                    for (i, v) in values.iter().enumerate() {
                        if self.enum_consts.contains_key(v) || self.types.contains_key(v) {
                            let _: R<()> = self.error(
                                &[&anchors[..], &[v.as_str()]].concat(),
                                0,
                                format!("enum constant `{v}` is declared twice (enum constants share one namespace, as in C)"),
                            );
                        }
                        self.enum_consts.insert(v.clone(), (e, i as i64));
                    }
                    if values.is_empty() {
                        let _: R<()> =
                            self.error(&anchors, 0, format!("enum `{name}` has no constants"));
                    }
                    self.enums.push((name.clone(), values.clone()));
                    self.types.insert(name.clone(), Ty::Enum(e));
                }
                (None, Some(_)) => {}
                _ => {
                    let _: R<()> = self.error(
                        &anchors,
                        0,
                        format!("type `{name}` must have exactly one of `enum:` and `record:`"),
                    );
                }
            }
        }
        let mut shown = Vec::new();
        for (name, decl) in &file.params.0 {
            let anchors = ["params:", name.as_str()];
            self.fresh_name(name, &anchors);
            let Ok(ty) = self.ty(&decl.ty, &anchors) else {
                continue;
            };
            let given = overrides.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            let value = match given {
                Some(v) => v.clone(),
                None => decl.default.0.clone(),
            };
            let Ok(v) = self.param_value(name, &value, &ty, &anchors) else {
                continue;
            };
            shown.push(format!("{name}={value}"));
            self.constants.insert(name.clone(), (v, ty));
        }
        if let Some((k, _)) = overrides
            .iter()
            .find(|(k, _)| !file.params.0.iter().any(|(p, _)| p == k))
        {
            let names = file.params.0.iter().map(|(p, _)| p.as_str());
            let _: R<()> = self.error(
                &["params:"],
                0,
                format!(
                    "the model has no parameter `{k}`{}",
                    suggestion(k, names.clone())
                ),
            );
        }
        for (name, text) in &file.consts.0 {
            let anchors = ["consts:", name.as_str(), text.as_str()];
            self.fresh_name(name, &anchors[..2]);
            if let Ok((v, ty)) = self.constant(text, &anchors) {
                self.constants.insert(name.clone(), (v, ty));
            }
        }
        for (name, decl) in &file.types.0 {
            if let Some(fields) = &decl.record {
                let anchors = ["types:", name.as_str()];
                let mut out = Vec::new();
                let mut offset = 0;
                for (field, text) in &fields.0 {
                    let Ok(ty) = self.ty(text, &[&anchors[..], &[field.as_str()]].concat()) else {
                        continue;
                    };
                    let n = size(&ty, &self.records);
                    out.push((field.clone(), ty, offset));
                    offset += n;
                }
                self.types
                    .insert(name.clone(), Ty::Record(self.records.len()));
                self.records.push(out);
            }
        }
        for (name, decl) in &file.globals.0 {
            let anchors = ["globals:", name.as_str()];
            self.fresh_name(name, &anchors);
            let _ = self.global(name, decl, &anchors);
        }
        for (t, (name, actor)) in file.actors.0.iter().enumerate() {
            self.fresh_name(name, &["actors:", name.as_str()]);
            let _ = self.layout_actor(t, name, actor);
        }
        self.size_sync_cells();
        for t in 0..file.actors.0.len() {
            if t < self.templates.len() {
                let _ = self.program(t);
            }
        }
        let mut properties = Vec::new();
        for p in &file.properties {
            let kinds = [
                (PropertyKind::Always, &p.always),
                (PropertyKind::AtEnd, &p.at_end),
                (PropertyKind::Sometimes, &p.sometimes),
            ];
            let set: Vec<_> = kinds.iter().filter(|(_, e)| e.is_some()).collect();
            let anchors = ["properties:", p.name.as_str()];
            if set.len() != 1 {
                let _: R<()> = self.error(
                    &anchors,
                    0,
                    format!(
                        "property `{}` needs exactly one of `always:`, `at_end:`, `sometimes:`",
                        p.name
                    ),
                );
                continue;
            }
            let (kind, Some(text)) = set[0] else {
                continue;
            };
            let mut scope = Scope {
                actor: None,
                bound: Vec::new(),
                anchors: vec!["properties:", p.name.as_str()],
            };
            if let Ok(e) = self.bool_expr(text, &mut scope) {
                properties.push((p.name.clone(), *kind, e));
            }
        }
        let outcome = match &file.outcome {
            Some(text) => self.outcome(text).ok(),
            None => None,
        };
        if self.slots > MAX_SLOTS {
            let _: R<()> = self.error(
                &["model:"],
                0,
                format!("more than {MAX_SLOTS} variables are bound at once (a step's `pick`s and `signal`s, and the quantifiers around an expression)"),
            );
        }
        if !self.errors.is_empty() {
            return Err(Reported);
        }
        let fault = self.cells.len() as u32;
        self.cells.push(CellDecl {
            lo: 0,
            hi: self.sites.len() as i64,
            shared: !self.sites.is_empty(),
        });
        self.init.push(0);
        Ok(Checked {
            name: file.model.clone(),
            params: shown.join(","),
            patches: self.patched.diffs.clone(),
            cells: std::mem::take(&mut self.cells),
            init: std::mem::take(&mut self.init),
            vars: self.vars.iter().map(|(v, _)| v.clone()).collect(),
            types: self.vars.iter().map(|(_, t)| t.clone()).collect(),
            records: self
                .records
                .iter()
                .map(|r| r.iter().map(|(n, t, _)| (n.clone(), t.clone())).collect())
                .collect(),
            templates: std::mem::take(&mut self.templates),
            enums: self.enums.clone(),
            properties,
            outcome,
            slots: self.slots,
            sites: std::mem::take(&mut self.sites),
            fault,
        })
    }

    fn fresh_name(&mut self, name: &str, anchors: &[&str]) {
        let taken = self.constants.contains_key(name)
            || self.vars.iter().any(|(v, _)| v.name == name)
            || self.enum_consts.contains_key(name)
            || (self.types.contains_key(name) && anchors[0] != "types:");
        if expr::is_keyword(name) || name == "done" {
            let _: R<()> = self.error(anchors, 0, format!("`{name}` is a reserved word"));
        } else if taken {
            let _: R<()> = self.error(anchors, 0, format!("`{name}` is already a name here"));
        }
    }

    fn param_value(&mut self, name: &str, value: &str, ty: &Ty, anchors: &[&str]) -> R<i64> {
        let v = match ty {
            Ty::Bool => match value {
                "true" => Some(1),
                "false" => Some(0),
                _ => None,
            },
            Ty::Int(lo, hi) => value.parse::<i64>().ok().filter(|v| v >= lo && v <= hi),
            Ty::Enum(e) => self.enums[*e]
                .1
                .iter()
                .position(|c| c == value)
                .map(|i| i as i64),
            _ => None,
        };
        match v {
            Some(v) => Ok(v),
            None => self.error(
                anchors,
                0,
                format!(
                    "parameter `{name}` = `{value}` is not a value of its type {}",
                    self.type_name(ty)
                ),
            ),
        }
    }

    fn ty(&mut self, text: &str, anchors: &[&str]) -> R<Ty> {
        let full = [anchors, &[text]].concat();
        let parsed = match expr::parse_type(text) {
            Ok(t) => t,
            Err(e) => return self.error(&full, e.at, format!("bad type `{text}`: {}", e.message)),
        };
        self.resolve_type(&parsed, &full)
    }

    fn resolve_type(&mut self, t: &TypeExpr, anchors: &[&str]) -> R<Ty> {
        let mut scope = Scope {
            actor: None,
            bound: Vec::new(),
            anchors: anchors.to_vec(),
        };
        match t {
            TypeExpr::Bool => Ok(Ty::Bool),
            TypeExpr::Mutex => Ok(Ty::Mutex),
            TypeExpr::Cond => Ok(Ty::Cond),
            TypeExpr::Queue(elem, capacity) => {
                let elem = self.resolve_type(elem, anchors)?;
                if range_of(&elem, &self.enums).is_none() {
                    return self.error(
                        anchors,
                        0,
                        format!(
                            "a queue holds scalars (bool, int or an enum), not {}",
                            self.type_name(&elem)
                        ),
                    );
                }
                let n = self.const_of(capacity, &mut scope)?;
                if n < 1 {
                    return self.error(
                        anchors,
                        capacity.at,
                        format!("queue capacity {n} is not positive"),
                    );
                }
                Ok(Ty::Queue(Box::new(elem), n as usize))
            }
            TypeExpr::Int(lo, hi) => {
                let lo = self.const_of(lo, &mut scope)?;
                let hi = self.const_of(hi, &mut scope)?;
                if hi < lo {
                    return self.error(anchors, 0, format!("empty range int {lo}..{hi}"));
                }
                Ok(Ty::Int(lo, hi))
            }
            TypeExpr::Named(name, at) => match self.types.get(name) {
                Some(ty) => Ok(ty.clone()),
                None => {
                    let known: Vec<&str> = self.types.keys().map(String::as_str).collect();
                    let hint = suggestion(name, known);
                    self.error(anchors, *at, format!("unknown type `{name}`{hint}"))
                }
            },
            TypeExpr::Array(elem, len) => {
                let elem = self.resolve_type(elem, anchors)?;
                let n = self.const_of(len, &mut scope)?;
                if n < 1 {
                    return self.error(
                        anchors,
                        len.at,
                        format!("array length {n} is not positive"),
                    );
                }
                Ok(Ty::Array(Box::new(elem), n as usize))
            }
        }
    }

    fn const_of(&mut self, e: &Expr, scope: &mut Scope) -> R<i64> {
        let (t, ty) = self.value(e, scope)?;
        match (t, ty) {
            (TExpr::Const(v), Ty::Int(..)) => Ok(v),
            _ => self.error(
                &scope.anchors,
                e.at,
                "expected a constant integer (numbers, parameters and constants)".into(),
            ),
        }
    }

    fn constant(&mut self, text: &str, anchors: &[&str]) -> R<(i64, Ty)> {
        let mut scope = Scope {
            actor: None,
            bound: Vec::new(),
            anchors: anchors.to_vec(),
        };
        let e = self.parse(text, &scope)?;
        match self.value(&e, &mut scope)? {
            (TExpr::Const(v), Ty::Int(..)) => Ok((v, Ty::Int(v, v))),
            (TExpr::Const(v), ty) => Ok((v, ty)),
            _ => self.error(anchors, e.at, "expected a constant expression".into()),
        }
    }

    fn parse(&mut self, text: &str, scope: &Scope) -> R<Expr> {
        expr::parse_expr(text).or_else(|e| {
            self.error(
                &scope.anchors,
                e.at,
                format!("syntax error in `{text}`: {}", e.message),
            )
        })
    }

    fn push_cells(&mut self, ty: &Ty, init: Option<i64>, shared: bool) {
        match ty {
            Ty::Array(elem, n) => {
                for _ in 0..*n {
                    self.push_cells(elem, init, shared);
                }
            }
            Ty::Record(r) => {
                let fields: Vec<Ty> = self.records[*r].iter().map(|(_, t, _)| t.clone()).collect();
                for t in fields {
                    self.push_cells(&t, None, shared);
                }
            }
            Ty::Mutex | Ty::Cond => {
                // Sized by `size_sync_cells` once every actor instance is known.
                let cond = *ty == Ty::Cond;
                self.sync_cells
                    .push((self.cells.len() as u32, cond, self.vars.len()));
                self.cells.push(CellDecl {
                    lo: 0,
                    hi: 0,
                    shared,
                });
                self.init.push(0);
            }
            Ty::Queue(elem, capacity) => {
                self.cells.push(CellDecl {
                    lo: 0,
                    hi: *capacity as i64,
                    shared,
                });
                self.init.push(0);
                for _ in 0..*capacity {
                    self.push_cells(elem, None, shared);
                }
            }
            scalar => {
                let (lo, hi) = range_of(scalar, &self.enums).expect("a scalar");
                self.cells.push(CellDecl { lo, hi, shared });
                self.init.push(init.unwrap_or(lo));
            }
        }
    }

    fn scalar_of(ty: &Ty) -> &Ty {
        match ty {
            Ty::Array(elem, _) => Checker::scalar_of(elem),
            t => t,
        }
    }

    fn initial(&mut self, decl: &VarDecl, anchors: &[&str]) -> R<(Ty, Option<i64>)> {
        let (text, init) = match decl {
            VarDecl::Type(t) => (t, None),
            VarDecl::Init { ty, init } => (ty, Some(&init.0)),
        };
        let ty = self.ty(text, anchors)?;
        let Some(init) = init else {
            return Ok((ty, None));
        };
        let full = [anchors, &[init.as_str()]].concat();
        let (v, vty) = self.constant(init, &full)?;
        let scalar = Checker::scalar_of(&ty).clone();
        let ok = match (&scalar, &vty) {
            (Ty::Int(lo, hi), Ty::Int(..)) => (*lo..=*hi).contains(&v),
            (a, b) => a == b,
        };
        if !ok {
            return self.error(
                &full,
                0,
                format!(
                    "initial value {init} does not fit type {}",
                    self.type_name(&ty)
                ),
            );
        }
        Ok((ty, Some(v)))
    }

    fn global(&mut self, name: &str, decl: &VarDecl, anchors: &[&str]) -> R<()> {
        let (ty, init) = self.initial(decl, anchors)?;
        let first = self.cells.len() as u32;
        self.push_cells(&ty, init, true);
        let var = Var {
            name: name.to_string(),
            first,
            size: self.cells.len() as u32 - first,
        };
        self.vars.push((var, ty));
        Ok(())
    }

    /// Lays out template `t`'s locals and program counter (its program as patched).
    fn layout_actor(&mut self, t: usize, name: &str, actor: &ActorDecl) -> R<()> {
        let steps = self.patched.programs[t].len();
        let anchors = ["actors:", name];
        let count = match &actor.instances {
            Some(text) => {
                let full = [&anchors[..], &[text.as_str()]].concat();
                match self.constant(text, &full)? {
                    (n, Ty::Int(..)) if (1..=256).contains(&n) => Some(n as usize),
                    (n, _) => {
                        return self.error(
                            &full,
                            0,
                            format!("instances must be an integer from 1 to 256, got {n}"),
                        )
                    }
                }
            }
            None => None,
        };
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        let mut offset = 0;
        for (local, decl) in &actor.locals.0 {
            let a = ["actors:", name, "locals:", local.as_str()];
            let Ok((ty, init)) = self.initial(decl, &a) else {
                continue;
            };
            if matches!(ty, Ty::Record(_) | Ty::Array(..)) && init.is_some() {
                let _: R<()> = self.error(&a, 0, "only scalar locals take `init:`".into());
            }
            if self.has_sync(&ty) {
                let _: R<()> = self.error(
                    &a,
                    0,
                    format!("local `{local}`: mutexes, conds and queues are shared, so they are declared in `globals:`"),
                );
            }
            inits.push(init);
            let n = size(&ty, &self.records);
            fields.push((local.clone(), ty, offset));
            offset += n;
        }
        if steps == 0 {
            let message = format!("actor `{name}` has an empty program");
            return self.error_after(self.patched.edited[t], &anchors, 0, message);
        }
        // The program counter is the block's last cell: a field no name can reach. Its values:
        // the steps, the hidden wake step of each `wait`, and `done`.
        let waits = sync::wait_count(self.patched.programs[t].iter().map(|p| p.decl));
        let pcs = (steps + waits) as i64;
        let pc = Ty::Int(0, pcs);
        let record = self.records.len();
        self.records.push(
            fields
                .iter()
                .cloned()
                .chain([(PC_FIELD.to_string(), pc, offset)])
                .collect(),
        );
        let first = self.cells.len() as u32;
        for _ in 0..count.unwrap_or(1) {
            for ((_, ty, _), init) in fields.iter().zip(&inits) {
                self.push_cells(ty, *init, true);
            }
            // The program counter: one value per step, and `done`.
            self.cells.push(CellDecl {
                lo: 0,
                hi: pcs,
                shared: false,
            });
            self.init.push(0);
        }
        let var = Var {
            name: name.to_string(),
            first,
            size: self.cells.len() as u32 - first,
        };
        self.vars.push((
            var,
            Ty::Array(Box::new(Ty::Record(record)), count.unwrap_or(1)),
        ));
        self.templates.push(Template {
            name: name.to_string(),
            instances: count,
            symmetric: actor.symmetric,
            daemon: actor.daemon,
            var: self.vars.len() - 1,
            block: offset + 1,
            steps: Vec::new(),
        });
        Ok(())
    }

    /// Checks template `t`'s program as patched.
    fn program(&mut self, t: usize) -> R<()> {
        let program = &self.patched.programs[t];
        let labels: Vec<&str> = program.iter().map(|s| s.decl.label.as_str()).collect();
        for (i, l) in labels.iter().enumerate() {
            if labels[..i].contains(l) || *l == "done" {
                self.start = program[i].start;
                let _: R<()> = self.error(
                    &["label:", l],
                    0,
                    format!("label `{l}` is used twice (`done` is reserved)"),
                );
                self.start = 0;
            }
        }
        let written_steps = program.len();
        self.done = (written_steps + sync::wait_count(program.iter().map(|p| p.decl))) as u32;
        self.sync.begin_program(written_steps as u32);
        let mut steps = Vec::new();
        let mut written = Vec::new();
        for (i, placed) in program.iter().enumerate() {
            self.jumps.clear();
            (self.blame, self.start) = (placed.patch, placed.start);
            let step = self.step(t, placed, &labels, i as u32 + 1);
            if let Ok(step) = step {
                let mut next = step.successors();
                next.extend(self.jumps.iter().copied());
                written.push(next);
                steps.push(step);
            }
        }
        (self.blame, self.start) = (None, 0);
        if steps.len() != program.len() {
            return Err(Reported);
        }
        // The hidden wake steps of the `wait`s, after the written ones.
        let first = self.errors.len();
        for step in self.wake_steps(&steps, &labels) {
            written.push(step.successors());
            steps.push(step);
        }
        // Every label must be reachable from the first step.
        let mut seen = vec![false; steps.len() + 1];
        let mut todo = vec![0u32];
        while let Some(pc) = todo.pop() {
            if std::mem::replace(&mut seen[pc as usize], true) {
                continue;
            }
            if let Some(next) = written.get(pc as usize) {
                todo.extend(next.iter().copied());
            }
        }
        for (i, step) in steps.iter().enumerate().take(written_steps) {
            if !seen[i] {
                self.start = program[i].start;
                let message = format!("label `{}` is unreachable: no step goes to it", step.label);
                let _: R<()> =
                    self.error_after(self.patched.edited[t], &["label:", &step.label], 0, message);
            }
        }
        self.start = 0;
        let needed = locks::needed_checks(&steps, self.sync.uses.len());
        self.owner_sites(&mut steps, &needed);
        let vars: Vec<&str> = self.vars.iter().map(|(v, _)| v.name.as_str()).collect();
        let name = self.templates[t].name.clone();
        let errors = locks::check(&name, &steps, &self.sync.uses, &vars);
        self.errors.extend(errors);
        self.blame_since(first, self.patched.edited[t]);
        self.templates[t].steps = steps;
        Ok(())
    }

    /// Checks one step of template `t`, `next` its fall-through program counter.
    fn step(&mut self, t: usize, placed: &'a Placed<'a>, labels: &[&str], next: u32) -> R<Step> {
        let decl = placed.decl;
        let anchors = vec!["label:", decl.label.as_str()];
        let mut scope = Scope {
            actor: Some(t),
            bound: Vec::new(),
            anchors: anchors.clone(),
        };
        let mut picks = Vec::new();
        for (var, text) in &decl.pick.0 {
            let full = [&anchors[..], &[var.as_str(), text.as_str()]].concat();
            let (lo, hi) = match expr::parse_range(text) {
                Ok(r) => r,
                Err(e) => {
                    return self.error(&full, e.at, format!("bad range `{text}`: {}", e.message))
                }
            };
            let mut s = Scope {
                actor: None,
                bound: Vec::new(),
                anchors: full.clone(),
            };
            let (lo, hi) = (self.const_of(&lo, &mut s)?, self.const_of(&hi, &mut s)?);
            if hi < lo {
                return self.error(&full, 0, format!("empty pick range {lo}..{hi}"));
            }
            let slot = scope.bound.len();
            scope.bound.push((var.clone(), slot, (lo, hi)));
            picks.push((lo, hi));
        }
        self.sync.begin_step(next as usize - 1);
        // Each `signal` chooses its waiter with a hidden pick.
        for k in 0..sync::signal_count(decl) {
            let range = (0, self.instance_total() as i64 - 1);
            let slot = scope.bound.len();
            scope.bound.push((format!("@signal{k}"), slot, range));
            picks.push(range);
            self.sync.hidden.push(slot);
        }
        self.sync.picks = scope.bound.len();
        if scope.bound.len() > MAX_SLOTS {
            return self.error(
                &anchors,
                0,
                format!("more than {MAX_SLOTS} `pick` variables and `signal`s in one step"),
            );
        }
        self.slots = self.slots.max(scope.bound.len());
        let guard = self.guard(&decl.when, &mut scope)?;
        let body = self.stmts(&decl.body, &mut scope, labels)?;
        let (enabling, step_signals) = self.sync.end_level();
        let guard = sync::conjoin(guard, enabling);
        let written = self.sync.written();
        let mut branches = Vec::new();
        let mut signals = Vec::new();
        for b in &decl.either {
            self.sync.forget(written);
            let guard = self.guard(&b.when, &mut scope)?;
            let body = self.stmts(&b.body, &mut scope, labels)?;
            let (enabling, used) = self.sync.end_level();
            branches.push(Branch {
                guard: sync::conjoin(guard, enabling),
                body,
            });
            signals.push(used);
        }
        sync::fix_other_signals(&mut branches, &signals, &step_signals);
        if branches.is_empty() {
            branches.push(Branch {
                guard: None,
                body: Vec::new(),
            });
        }
        let step = Step {
            label: decl.label.clone(),
            upstream: decl.upstream.clone(),
            guard,
            picks,
            body,
            branches,
            fallthrough: if next as usize >= labels.len() {
                self.done
            } else {
                next
            },
        };
        let first = self.errors.len();
        let waits = self.check_waits(&step, !decl.either.is_empty());
        self.blame_since(first, self.blame);
        waits?;
        Ok(step)
    }

    /// A guard; a constant-true one is dropped.
    fn guard<'s>(&mut self, text: &'s Option<String>, scope: &mut Scope<'s>) -> R<Option<TExpr>> {
        match text {
            Some(text) => {
                Ok(Some(self.bool_expr(text, scope)?).filter(|g| !matches!(g, TExpr::Const(1))))
            }
            None => Ok(None),
        }
    }

    fn bool_expr<'s>(&mut self, text: &'s str, scope: &mut Scope<'s>) -> R<TExpr> {
        let outer = scope.anchors.len();
        scope.anchors.push(text);
        let result = (|| {
            let e = self.parse(text, scope)?;
            let (t, ty) = self.value(&e, scope)?;
            if ty != Ty::Bool {
                return self.error(
                    &scope.anchors,
                    e.at,
                    format!("expected a bool, found {}", self.type_name(&ty)),
                );
            }
            Ok(t)
        })();
        scope.anchors.truncate(outer);
        result
    }

    fn stmts<'s>(
        &mut self,
        decls: &'s [StmtDecl],
        scope: &mut Scope<'s>,
        labels: &[&str],
    ) -> R<Vec<TStmt>> {
        let mut out = Vec::new();
        let mut failed = false;
        let top = self.sync.top;
        let mut prefix = top;
        for (k, d) in decls.iter().enumerate() {
            self.sync.at = sync::Position {
                prefix,
                last: top && sync::is_last(decls, k),
            };
            let before = out.len();
            match self.stmt(d, scope, labels) {
                Ok(Some(s)) => out.push(s),
                Ok(None) => {}
                Err(Reported) => failed = true,
            }
            prefix = prefix && out.len() > before && out.last().is_some_and(sync::blocks);
        }
        if failed {
            return Err(Reported);
        }
        if top {
            self.sync.merge_wake_goto(&mut out);
        }
        // Constant conditions are folded away: their untaken side is not part of the program.
        Ok(out
            .into_iter()
            .flat_map(|s| match s {
                TStmt::If(TExpr::Const(c), a, b) => {
                    if c != 0 {
                        a
                    } else {
                        b
                    }
                }
                s => vec![s],
            })
            .collect())
    }

    fn stmt<'s>(
        &mut self,
        d: &'s StmtDecl,
        scope: &mut Scope<'s>,
        labels: &[&str],
    ) -> R<Option<TStmt>> {
        match d {
            StmtDecl::If(i) => {
                let cond = self.bool_expr(&i.cond, scope);
                let top = std::mem::replace(&mut self.sync.top, false);
                let then = self.stmts(&i.then, scope, labels);
                let otherwise = self.stmts(&i.otherwise, scope, labels);
                self.sync.top = top;
                Ok(Some(TStmt::If(cond?, then?, otherwise?)))
            }
            StmtDecl::Text(text) => {
                let outer = scope.anchors.len();
                scope.anchors.push(text);
                let result = self.text_stmt(text, scope, labels);
                scope.anchors.truncate(outer);
                result.map(Some)
            }
        }
    }

    fn text_stmt(&mut self, text: &str, scope: &mut Scope, labels: &[&str]) -> R<TStmt> {
        let parsed = match expr::parse_stmt(text) {
            Ok(s) => s,
            Err(e) => {
                // YAML's flow lists split `[wait(c, m)]` at the comma.
                let hint = if text.matches('(').count() > text.matches(')').count() {
                    " (in a YAML flow list `[...]`, quote a statement with a comma: `\"wait(c, m)\"`)"
                } else {
                    ""
                };
                return self.error(
                    &scope.anchors,
                    e.at,
                    format!("syntax error in `{text}`: {}{hint}", e.message),
                );
            }
        };
        match parsed {
            Stmt::Goto(label, at) => {
                if label == "done" {
                    return Ok(TStmt::Goto(self.done));
                }
                match labels.iter().position(|l| *l == label) {
                    Some(pc) => {
                        self.jumps.push(pc as u32);
                        Ok(TStmt::Goto(pc as u32))
                    }
                    None => {
                        let hint = suggestion(&label, labels.iter().copied().chain(["done"]));
                        let removed = scope
                            .actor
                            .and_then(|t| self.patched.removed[t].get(&label).copied());
                        let gone = match removed {
                            Some(p) if self.blame.is_some_and(|b| b > p) => {
                                format!(" (patch `{}` removed it)", self.patched.names[p])
                            }
                            Some(_) => " (the patch removed it)".to_string(),
                            None => String::new(),
                        };
                        let message =
                            format!("`goto {label}`: no such label in this actor{hint}{gone}");
                        self.error_after(removed, &scope.anchors, at, message)
                    }
                }
            }
            Stmt::Assign(lhs, rhs) => {
                let place = self.denote(&lhs, scope)?;
                let (place, pty) = match place {
                    Denot::Place(p, ty) if range_of(&ty, &self.enums).is_some() => (p, ty),
                    _ => {
                        return self.error(
                            &scope.anchors,
                            lhs.at,
                            "the left of `=` must be a scalar variable (bool, int or enum)".into(),
                        )
                    }
                };
                let (value, vty) = self.value(&rhs, scope)?;
                let check = self.fits(&pty, &vty, rhs.at, &format!("`{text}` assigns"), scope)?;
                self.sync.mark(&place);
                Ok(TStmt::Assign {
                    place,
                    value,
                    check,
                })
            }
            Stmt::Sync(op, args) => self.sync_stmt(op, &args, text, scope),
        }
    }

    /// Whether a value of type `vty` may be stored in a place of type `pty`, and the run-time
    /// range check it needs (a new check site whose message starts with `what`, e.g. "`x = y`
    /// assigns"). An int range that never fits is an error at `at`.
    fn fits(
        &mut self,
        pty: &Ty,
        vty: &Ty,
        at: usize,
        what: &str,
        scope: &Scope,
    ) -> R<Option<(i64, i64, u32)>> {
        match (pty, vty) {
            (Ty::Int(lo, hi), Ty::Int(a, b)) => {
                if b < lo || a > hi {
                    return self.error(
                        &scope.anchors,
                        at,
                        if a == b {
                            format!("the value {a} is outside {lo}..{hi}")
                        } else {
                            format!("the value's range {a}..{b} never fits {lo}..{hi}")
                        },
                    );
                }
                Ok((a < lo || b > hi).then(|| {
                    let d = self
                        .loc
                        .at_from(self.start, &scope.anchors, 0, String::new());
                    let message = format!(
                        "{}:{}:{}: {what} a value outside {lo}..{hi}",
                        d.file, d.line, d.column
                    );
                    (*lo, *hi, self.site(Fault::Range, message))
                }))
            }
            (a, b) if a == b => Ok(None),
            (a, b) => {
                let msg = format!(
                    "cannot assign a value of type {} to a place of type {}",
                    self.type_name(b),
                    self.type_name(a)
                );
                self.error(&scope.anchors, at, msg)
            }
        }
    }

    /// A new run-time check site; returns its number.
    fn site(&mut self, fault: Fault, message: String) -> u32 {
        self.sites.push(Site { fault, message });
        self.sites.len() as u32
    }

    fn outcome(&mut self, text: &str) -> R<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                return self.error(&["outcome:"], 0, "unclosed `{` in the outcome".into());
            };
            let inner = &rest[open + 1..open + close];
            let mut scope = Scope {
                actor: None,
                bound: Vec::new(),
                anchors: vec!["outcome:", inner],
            };
            let e = self.parse(inner, &scope)?;
            let (t, ty) = self.value(&e, &mut scope)?;
            pieces.push(Piece::Value(t, ty));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(pieces)
    }

    /// The value of a scalar expression.
    fn value(&mut self, e: &Expr, scope: &mut Scope) -> R<(TExpr, Ty)> {
        match self.denote(e, scope)? {
            Denot::Value(t, ty) => Ok((t, ty)),
            Denot::Place(p, ty) => {
                if range_of(&ty, &self.enums).is_none() {
                    let hint = match ty {
                        Ty::Mutex => "use `locked(m)` or `held(m)`",
                        Ty::Cond => "only `wait`, `signal` and `broadcast` use it",
                        Ty::Queue(..) => "use `len(q)` or `peek(q)`",
                        _ => "index it or name a field",
                    };
                    return self.error(
                        &scope.anchors,
                        e.at,
                        format!("a {} is not a value: {hint}", self.type_name(&ty)),
                    );
                }
                Ok((TExpr::Read(Box::new(p)), ty))
            }
        }
    }

    fn int(&mut self, e: &Expr, scope: &mut Scope) -> R<(TExpr, i64, i64)> {
        match self.value(e, scope)? {
            (t, Ty::Int(lo, hi)) => Ok((t, lo, hi)),
            (_, ty) => {
                let msg = format!("expected an int, found {}", self.type_name(&ty));
                self.error(&scope.anchors, e.at, msg)
            }
        }
    }

    fn boolean(&mut self, e: &Expr, scope: &mut Scope) -> R<TExpr> {
        match self.value(e, scope)? {
            (t, Ty::Bool) => Ok(t),
            (_, ty) => {
                let msg = format!("expected a bool, found {}", self.type_name(&ty));
                self.error(&scope.anchors, e.at, msg)
            }
        }
    }

    fn name(&mut self, name: &str, at: usize, scope: &mut Scope) -> R<Denot> {
        if let Some((_, slot, (lo, hi))) = scope.bound.iter().rev().find(|(n, _, _)| n == name) {
            return Ok(Denot::Value(TExpr::Bound(*slot), Ty::Int(*lo, *hi)));
        }
        if let Some(t) = scope.actor {
            let template = &self.templates[t];
            let (var, ty) = &self.vars[template.var];
            let Ty::Array(rec, _) = ty else {
                unreachable!("actors are arrays of records")
            };
            let Ty::Record(r) = **rec else {
                unreachable!("actors are arrays of records")
            };
            if let Some((_, fty, offset)) = self.records[r].iter().find(|(f, _, _)| f == name) {
                let parts = if template.instances.is_some() {
                    vec![(TExpr::SelfIndex, template.block)]
                } else {
                    Vec::new()
                };
                let place = Place {
                    var: template.var,
                    base: var.first + offset,
                    parts,
                };
                return Ok(Denot::Place(place, fty.clone()));
            }
        }
        if let Some(v) = self.vars.iter().position(|(v, _)| v.name == name) {
            let is_actor = self.templates.iter().any(|t| t.var == v);
            if is_actor && scope.actor.is_some() {
                return self.error(
                    &scope.anchors,
                    at,
                    format!("`{name}` is an actor: actors share only globals, never their locals"),
                );
            }
            let (var, ty) = &self.vars[v];
            let place = Place {
                var: v,
                base: var.first,
                parts: Vec::new(),
            };
            return Ok(Denot::Place(place, ty.clone()));
        }
        if let Some((v, ty)) = self.constants.get(name) {
            return Ok(Denot::Value(TExpr::Const(*v), ty.clone()));
        }
        if let Some((e, v)) = self.enum_consts.get(name) {
            return Ok(Denot::Value(TExpr::Const(*v), Ty::Enum(*e)));
        }
        let mut known: Vec<&str> = scope.bound.iter().map(|(n, _, _)| n.as_str()).collect();
        known.extend(self.vars.iter().map(|(v, _)| v.name.as_str()));
        known.extend(self.constants.keys().map(String::as_str));
        known.extend(self.enum_consts.keys().map(String::as_str));
        if let Some(t) = scope.actor {
            let (_, ty) = &self.vars[self.templates[t].var];
            if let Ty::Array(rec, _) = ty {
                if let Ty::Record(r) = **rec {
                    let fields = self.records[r].iter().map(|(f, _, _)| f.as_str());
                    known.extend(fields.filter(|f| *f != PC_FIELD));
                }
            }
        }
        let hint = suggestion(name, known);
        self.error(&scope.anchors, at, format!("unknown name `{name}`{hint}"))
    }

    fn denote(&mut self, e: &Expr, scope: &mut Scope) -> R<Denot> {
        let at = e.at;
        let value = |t, ty| Ok(Denot::Value(t, ty));
        match &e.kind {
            ExprKind::Int(v) => value(TExpr::Const(*v), Ty::Int(*v, *v)),
            ExprKind::Bool(b) => value(TExpr::Const(*b as i64), Ty::Bool),
            ExprKind::Name(n) => self.name(n, at, scope),
            ExprKind::SelfIndex => {
                let Some(t) = scope.actor else {
                    return self.error(
                        &scope.anchors,
                        at,
                        "`self` exists only in an actor's program".into(),
                    );
                };
                let template = &self.templates[t];
                if template.symmetric {
                    return self.error(
                        &scope.anchors,
                        at,
                        format!("`{}` is symmetric: its program may not use `self` (its instances must be interchangeable)", template.name),
                    );
                }
                let Some(n) = template.instances else {
                    return self.error(
                        &scope.anchors,
                        at,
                        format!("`{}` has no `instances:`, so no `self`", template.name),
                    );
                };
                value(TExpr::SelfIndex, Ty::Int(0, n as i64 - 1))
            }
            ExprKind::Unary(UnOp::Not, a) => {
                let a = self.boolean(a, scope)?;
                match a {
                    TExpr::Const(v) => value(TExpr::Const((v == 0) as i64), Ty::Bool),
                    a => value(TExpr::Not(Box::new(a)), Ty::Bool),
                }
            }
            ExprKind::Unary(UnOp::Neg, a) => {
                let (a, lo, hi) = self.int(a, scope)?;
                match a {
                    TExpr::Const(v) => value(TExpr::Const(-v), Ty::Int(-v, -v)),
                    a => value(TExpr::Neg(Box::new(a)), Ty::Int(-hi, -lo)),
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, scope),
            ExprKind::Call(f, arg) => self.call(*f, arg, at, scope),
            ExprKind::Quant(q, var, lo, hi, body) => {
                let (lo, llo, _) = self.int(lo, scope)?;
                let (hi, _, hhi) = self.int(hi, scope)?;
                let slot = scope.bound.len();
                scope.bound.push((var.clone(), slot, (llo, hhi.max(llo))));
                self.slots = self.slots.max(scope.bound.len());
                let body = self.boolean(body, scope);
                scope.bound.pop();
                let body = body?;
                let ty = match q {
                    Quant::Count => Ty::Int(0, (hhi - llo + 1).max(0)),
                    _ => Ty::Bool,
                };
                value(
                    TExpr::Quant(*q, slot, Box::new(lo), Box::new(hi), Box::new(body)),
                    ty,
                )
            }
            ExprKind::Index(base, index) => {
                let base = self.denote(base, scope)?;
                let Denot::Place(mut place, Ty::Array(elem, len)) = base else {
                    return self.error(
                        &scope.anchors,
                        at,
                        "only arrays (and actors) can be indexed".into(),
                    );
                };
                let (index, lo, hi) = self.int(index, scope)?;
                if lo < 0 || hi >= len as i64 {
                    return self.error(
                        &scope.anchors,
                        at,
                        format!(
                            "the index ranges over {lo}..{hi}, outside the array's 0..{}",
                            len - 1
                        ),
                    );
                }
                if let Some(t) = self.templates.iter().find(|t| t.var == place.var) {
                    if t.symmetric && !matches!(index, TExpr::Bound(_)) {
                        return self.error(
                            &scope.anchors,
                            at,
                            format!("`{}` is symmetric: index its instances with a quantifier's variable only", t.name),
                        );
                    }
                }
                let stride = size(&elem, &self.records);
                match index {
                    TExpr::Const(i) => place.base += i as u32 * stride,
                    index => place.parts.push((index, stride)),
                }
                Ok(Denot::Place(place, *elem))
            }
            ExprKind::Field(base, field) => {
                let base = self.denote(base, scope)?;
                let Denot::Place(mut place, Ty::Record(r)) = base else {
                    return self.error(
                        &scope.anchors,
                        at,
                        format!("`.{field}` of something that is not a record"),
                    );
                };
                match self.records[r].iter().find(|(f, _, _)| f == field) {
                    Some((_, ty, offset)) => {
                        place.base += offset;
                        Ok(Denot::Place(place, ty.clone()))
                    }
                    None => {
                        let fields = self.records[r].iter().map(|(f, _, _)| f.as_str());
                        let hint = suggestion(field, fields.filter(|f| *f != PC_FIELD));
                        self.error(&scope.anchors, at, format!("no field `{field}`{hint}"))
                    }
                }
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, scope: &mut Scope) -> R<Denot> {
        use BinOp::*;
        let (ta, tya) = self.value(a, scope)?;
        let (tb, tyb) = self.value(b, scope)?;
        let ty = match (op, &tya, &tyb) {
            (Or | And, Ty::Bool, Ty::Bool) => Ty::Bool,
            (Eq | Ne, Ty::Int(..), Ty::Int(..)) => Ty::Bool,
            (Eq | Ne, x, y) if x == y => Ty::Bool,
            (Lt | Le | Gt | Ge, Ty::Int(..), Ty::Int(..)) => Ty::Bool,
            (Add, Ty::Int(a, b), Ty::Int(c, d)) => Ty::Int(a + c, b + d),
            (Sub, Ty::Int(a, b), Ty::Int(c, d)) => Ty::Int(a - d, b - c),
            (Mul, Ty::Int(a, b), Ty::Int(c, d)) => {
                let p = [a * c, a * d, b * c, b * d];
                Ty::Int(*p.iter().min().unwrap(), *p.iter().max().unwrap())
            }
            _ => {
                let msg = format!(
                    "`{op:?}` does not apply to {} and {}",
                    self.type_name(&tya),
                    self.type_name(&tyb)
                );
                return self.error(&scope.anchors, b.at, msg);
            }
        };
        let t = match (op, ta, tb) {
            (_, TExpr::Const(x), TExpr::Const(y)) => {
                let v = fold(op, x, y);
                return Ok(Denot::Value(
                    TExpr::Const(v),
                    if let Ty::Int(..) = ty {
                        Ty::Int(v, v)
                    } else {
                        ty
                    },
                ));
            }
            (And, TExpr::Const(x), other) | (And, other, TExpr::Const(x)) if x != 0 => other,
            (Or, TExpr::Const(x), other) | (Or, other, TExpr::Const(x)) if x == 0 => other,
            (And, TExpr::Const(0), _) => TExpr::Const(0),
            (Or, TExpr::Const(_), _) => TExpr::Const(1),
            (op, x, y) => TExpr::Bin(op, Box::new(x), Box::new(y)),
        };
        Ok(Denot::Value(t, ty))
    }
}
