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
    /// A mutex: one cell, 0 while free, else 1 + the holder's instance number.
    Mutex,
    /// A condition variable: one cell, the set of waiting instances as a bit mask.
    Cond,
    /// A bounded FIFO of scalars: a length cell, then `capacity` element cells (those past the
    /// length hold the element type's default).
    Queue(Box<Ty>, usize),
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
    /// Bit `index` (the second) of the first value: whether an instance waits on a cond.
    Bit(Box<TExpr>, Box<TExpr>),
}

/// A synchronisation statement. `actor` is the acting instance's number among all actor
/// instances (every template's, in declaration order); a blocking statement's enabling
/// condition is part of its step's (or alternative's) guard, so here it always proceeds.
#[derive(Clone, Debug)]
pub enum SyncStmt {
    /// `lock(m)`: the actor holds `m`.
    Lock {
        /// The mutex.
        mutex: Place,
        /// The acting instance's number.
        actor: TExpr,
    },
    /// `unlock(m)`: `m` is free; a fault at `site` when the actor does not hold it (no check
    /// when the program's every path to it took `m`).
    Unlock {
        /// The mutex.
        mutex: Place,
        /// The acting instance's number.
        actor: TExpr,
        /// The ownership check's site.
        site: Option<u32>,
    },
    /// `wait(c, m)`: releases `m`, joins `c`'s waiters and goes to the wake step `wake`; a fault
    /// at `site` when the actor does not hold `m` (no check when it surely does).
    Wait {
        /// The cond.
        cond: Place,
        /// The mutex.
        mutex: Place,
        /// The acting instance's number.
        actor: TExpr,
        /// The ownership check's site.
        site: Option<u32>,
        /// The program counter of the hidden step that takes `m` again once woken.
        wake: u32,
    },
    /// `signal(c)`: removes the waiter numbered by the hidden pick in bound slot `waiter` (the
    /// guard lets that pick range over the waiters only, or just 0 when there is none).
    Signal {
        /// The cond.
        cond: Place,
        /// The slot of the hidden pick.
        waiter: usize,
    },
    /// `broadcast(c)`: removes every waiter.
    Broadcast {
        /// The cond.
        cond: Place,
    },
    /// `send(q, value)`: appends (the guard says `q` is not full).
    Send {
        /// The queue (its length cell).
        queue: Place,
        /// Its capacity.
        capacity: u32,
        /// What is sent.
        value: TExpr,
        /// Run-time range check of the value against the element type, as for assignments.
        check: Option<(i64, i64, u32)>,
    },
    /// `recv(q, into)`: pops the head into `into` (the guard says `q` is not empty).
    Recv {
        /// The queue (its length cell).
        queue: Place,
        /// Its capacity.
        capacity: u32,
        /// Where the head goes.
        into: Place,
        /// Run-time range check of the head against `into`'s type, as for assignments.
        check: Option<(i64, i64, u32)>,
    },
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
    /// A synchronisation statement.
    Sync(SyncStmt),
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

/// What a run-time check guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// An assignment's value stays in its variable's range.
    Range,
    /// `unlock(m)` and `wait(c, m)` are by `m`'s holder.
    Owner,
}

/// A run-time check site: what it guards and a message naming the statement's
/// file:line:column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// What the check guards.
    pub fault: Fault,
    /// `file:line:column: ...`.
    pub message: String,
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
    /// The run-time checks: site `n` (from 1) is `sites[n - 1]`.
    pub sites: Vec<Site>,
    /// The fault cell (the last cell): which check site failed, 0 while none has.
    pub fault: u32,
}

impl TStmt {
    /// Whether running `stmts` always executes a `goto`.
    pub fn always_jumps(stmts: &[TStmt]) -> bool {
        stmts.iter().any(|s| match s {
            TStmt::Goto(_) | TStmt::Sync(SyncStmt::Wait { .. }) => true,
            TStmt::If(_, a, b) => TStmt::always_jumps(a) && TStmt::always_jumps(b),
            TStmt::Assign { .. } | TStmt::Sync(_) => false,
        })
    }

    /// Appends every `goto` target in `stmts` to `out` (and every `wait`'s wake step).
    pub fn targets(stmts: &[TStmt], out: &mut Vec<u32>) {
        for s in stmts {
            match s {
                TStmt::Goto(pc) | TStmt::Sync(SyncStmt::Wait { wake: pc, .. }) => out.push(*pc),
                TStmt::If(_, a, b) => {
                    TStmt::targets(a, out);
                    TStmt::targets(b, out);
                }
                TStmt::Assign { .. } | TStmt::Sync(_) => {}
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
