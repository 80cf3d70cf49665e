//! The checked program: every name resolved to a cell of the flat state, every expression typed
//! and constant-folded, every label resolved to a program counter value.

pub use crate::diff::PatchDiff;
pub use crate::expr::{BinOp, Quant};
use sim::PropertyKind;

/// A scalar value's type. Arrays and records only exist as places, never as values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `bool`: 0 or 1.
    Bool,
    /// A bounded integer, both bounds included.
    Int(i64, i64),
    /// An enum, by index into [`Checked::enums`]; values are the constants' positions.
    Enum(usize),
    /// A record, by index into the checker's record table.
    Record(usize),
    /// A fixed-size array.
    Array(Box<Ty>, usize),
}

/// One scalar cell of the flat state: its inclusive value range, and whether it is an object
/// for footprints (every variable is; program counters are not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellDecl {
    /// Smallest value.
    pub lo: i64,
    /// Largest value.
    pub hi: i64,
    /// False for program counters (only their own actor ever touches them).
    pub shared: bool,
}

/// A variable: its cells are `first .. first + size`.
#[derive(Clone, Debug)]
pub struct Var {
    /// Its name (an actor template's name for its instances' locals).
    pub name: String,
    /// First cell.
    pub first: u32,
    /// Number of cells.
    pub size: u32,
}

/// A scalar place: cell `base + Σ index·stride` of variable `var`.
#[derive(Clone, Debug)]
pub struct Place {
    /// Index into [`Checked::vars`].
    pub var: usize,
    /// The constant part of the cell number.
    pub base: u32,
    /// The computed parts: index expression and the cells per step of that index.
    pub parts: Vec<(TExpr, u32)>,
}

/// A typed, folded expression; its value is an `i64` (booleans 0/1, enums their position).
#[derive(Clone, Debug)]
pub enum TExpr {
    /// A constant.
    Const(i64),
    /// The value of a cell.
    Read(Box<Place>),
    /// The acting instance's index.
    SelfIndex,
    /// A bound variable (`pick` or quantifier), by slot.
    Bound(usize),
    /// Logical not.
    Not(Box<TExpr>),
    /// Negation.
    Neg(Box<TExpr>),
    /// A binary operator.
    Bin(BinOp, Box<TExpr>, Box<TExpr>),
    /// A quantifier binding `slot` over `lo..=hi`.
    Quant(Quant, usize, Box<TExpr>, Box<TExpr>, Box<TExpr>),
}

/// A typed statement.
#[derive(Clone, Debug)]
pub enum TStmt {
    /// `place = value`; `check` is the range to enforce at run time and the check site's number
    /// (in [`Checked::sites`], from 1), when the value's type does not already guarantee it.
    Assign {
        /// Where.
        place: Place,
        /// What.
        value: TExpr,
        /// Run-time range check: low bound, high bound, check site.
        check: Option<(i64, i64, u32)>,
    },
    /// A conditional.
    If(TExpr, Vec<TStmt>, Vec<TStmt>),
    /// Where the actor goes after the step (a program counter value).
    Goto(u32),
}

/// One alternative of a step: its own guard and effects.
#[derive(Clone, Debug)]
pub struct Branch {
    /// Guard (with the step's).
    pub guard: Option<TExpr>,
    /// Effects (after the step's).
    pub body: Vec<TStmt>,
}

/// A labelled atomic step.
#[derive(Clone, Debug)]
pub struct Step {
    /// Its label.
    pub label: String,
    /// The upstream function.
    pub upstream: Option<String>,
    /// Its guard.
    pub guard: Option<TExpr>,
    /// `pick` variables: slot `i` ranges over `picks[i]`.
    pub picks: Vec<(i64, i64)>,
    /// Effects of every alternative.
    pub body: Vec<TStmt>,
    /// Alternatives (at least one: a step without `either` has one unguarded, empty branch).
    pub branches: Vec<Branch>,
    /// The program counter after the step when no `goto` ran.
    pub fallthrough: u32,
}

/// An actor template.
#[derive(Clone, Debug)]
pub struct Template {
    /// Its name.
    pub name: String,
    /// Number of instances; `None` for a single unindexed actor.
    pub instances: Option<usize>,
    /// Interchangeable instances.
    pub symmetric: bool,
    /// A server loop (not needing to reach `done`).
    pub daemon: bool,
    /// Index of its locals' variable (an array of per-instance blocks).
    pub var: usize,
    /// Cells per instance block (locals, then the program counter).
    pub block: u32,
    /// The steps; the program counter `steps.len()` is `done`.
    pub steps: Vec<Step>,
}

/// A piece of the outcome's name.
#[derive(Clone, Debug)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A value, shown as its type says (enum constants by name).
    Value(TExpr, Ty),
}

/// The whole checked program.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The model's name.
    pub name: String,
    /// The parameters' values, `N=2,fix=false`, for the model's name in traces.
    pub params: String,
    /// The applied patches, in order, and what each changed.
    pub patches: Vec<PatchDiff>,
    /// Every cell, in layout order.
    pub cells: Vec<CellDecl>,
    /// Each cell's initial value.
    pub init: Vec<i64>,
    /// Variables.
    pub vars: Vec<Var>,
    /// Each variable's type, by index into [`Checked::vars`] (an actor template's variable is an
    /// array of records: its locals, then the program counter).
    pub types: Vec<Ty>,
    /// Records: each field's name and type, in layout order.
    pub records: Vec<Vec<(String, Ty)>>,
    /// Actor templates.
    pub templates: Vec<Template>,
    /// Enums: name and constants.
    pub enums: Vec<(String, Vec<String>)>,
    /// Properties.
    pub properties: Vec<(String, PropertyKind, TExpr)>,
    /// The outcome's name, piece by piece.
    pub outcome: Option<Vec<Piece>>,
    /// Bound-variable slots any expression needs.
    pub slots: usize,
    /// The run-time range checks: site `n` (from 1) is `sites[n - 1]`, a message naming the
    /// statement's file:line:column.
    pub sites: Vec<String>,
    /// The fault cell (the last cell): which check site failed, 0 while none has.
    pub fault: u32,
}

impl TStmt {
    /// Whether running `stmts` always executes a `goto`.
    pub fn always_jumps(stmts: &[TStmt]) -> bool {
        stmts.iter().any(|s| match s {
            TStmt::Goto(_) => true,
            TStmt::If(_, a, b) => TStmt::always_jumps(a) && TStmt::always_jumps(b),
            TStmt::Assign { .. } => false,
        })
    }

    /// Appends every `goto` target in `stmts` to `out`.
    pub fn targets(stmts: &[TStmt], out: &mut Vec<u32>) {
        for s in stmts {
            match s {
                TStmt::Goto(pc) => out.push(*pc),
                TStmt::If(_, a, b) => {
                    TStmt::targets(a, out);
                    TStmt::targets(b, out);
                }
                TStmt::Assign { .. } => {}
            }
        }
    }
}

impl Step {
    /// The program counters this step may lead to.
    pub fn successors(&self) -> Vec<u32> {
        let mut out = Vec::new();
        TStmt::targets(&self.body, &mut out);
        let body_jumps = TStmt::always_jumps(&self.body);
        for b in &self.branches {
            TStmt::targets(&b.body, &mut out);
            if !body_jumps && !TStmt::always_jumps(&b.body) {
                out.push(self.fallthrough);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How many actions the step has: alternatives times the product of the pick ranges.
    pub fn alternatives(&self) -> usize {
        self.picks
            .iter()
            .map(|(lo, hi)| (hi - lo + 1) as usize)
            .product::<usize>()
            * self.branches.len()
    }
}
