//! Footprints derived from the program: the cells a step reads (its guards included) and
//! writes, per actor instance. A cell is one object when every index on the way to it is a
//! constant or `self`; otherwise the step touches every cell of the variable. Program counters
//! are not objects (only their own actor touches them). The fault cell is an object in a model
//! with run-time checks. A synchronisation statement touches its mutex or cond cell, or every
//! cell of its queue; its enabling condition is part of the guard.

use crate::ir::{Checked, Place, Step, SyncStmt, TExpr, TStmt};
use sim::{Footprint, ObjectId};

/// Maps cells to footprint objects.
pub struct Objects {
    of_cell: Vec<Option<ObjectId>>,
}

impl Objects {
    /// Numbers the shared cells in layout order; with more than [`Footprint::MAX_OBJECTS`]
    /// cells several share an object (coarser, never unsound).
    pub fn new(program: &Checked) -> Self {
        let mut next = 0usize;
        let of_cell = program
            .cells
            .iter()
            .map(|c| {
                c.shared.then(|| {
                    let id = (next % Footprint::MAX_OBJECTS) as ObjectId;
                    next += 1;
                    id
                })
            })
            .collect();
        Objects { of_cell }
    }

    /// The `n` cells from the place's (or every cell of its variable when an index is not
    /// known without the state).
    fn cells(&self, program: &Checked, p: &Place, me: Option<i64>, n: u32) -> std::ops::Range<u32> {
        let var = &program.vars[p.var];
        let fixed = p
            .parts
            .iter()
            .try_fold(p.base as i64, |cell, (index, stride)| {
                Some(cell + constant(index, me)? * *stride as i64)
            });
        match fixed {
            Some(cell) => cell as u32..cell as u32 + n,
            None => var.first..var.first + var.size,
        }
    }

    fn touch(&self, program: &Checked, p: &Place, me: Option<i64>, write: bool, f: &mut Footprint) {
        self.touch_n(program, p, me, write, 1, f)
    }

    /// Reads or writes the `n` cells from the place's (its index expressions are read).
    fn touch_n(
        &self,
        program: &Checked,
        p: &Place,
        me: Option<i64>,
        write: bool,
        n: u32,
        f: &mut Footprint,
    ) {
        for (index, _) in &p.parts {
            self.reads(program, index, me, f);
        }
        for cell in self.cells(program, p, me, n) {
            if let Some(object) = self.of_cell[cell as usize] {
                *f = if write {
                    f.write(object)
                } else {
                    f.read(object)
                };
            }
        }
    }

    /// The fault cell's object (none in a model without run-time checks).
    pub fn fault(&self, program: &Checked) -> Option<ObjectId> {
        self.of_cell[program.fault as usize]
    }

    /// Adds what `e` reads to `f`.
    pub fn reads(&self, program: &Checked, e: &TExpr, me: Option<i64>, f: &mut Footprint) {
        match e {
            TExpr::Const(_) | TExpr::SelfIndex | TExpr::Bound(_) => {}
            TExpr::Read(p) => self.touch(program, p, me, false, f),
            TExpr::Not(a) | TExpr::Neg(a) => self.reads(program, a, me, f),
            TExpr::Bin(_, a, b) | TExpr::Bit(a, b) => {
                self.reads(program, a, me, f);
                self.reads(program, b, me, f);
            }
            TExpr::Quant(_, _, lo, hi, body) => {
                for x in [lo, hi, body] {
                    self.reads(program, x, me, f);
                }
            }
        }
    }

    fn stmts(&self, program: &Checked, stmts: &[TStmt], me: Option<i64>, f: &mut Footprint) {
        for s in stmts {
            match s {
                TStmt::Assign {
                    place,
                    value,
                    check,
                } => {
                    self.reads(program, value, me, f);
                    self.touch(program, place, me, true, f);
                    if let (Some(_), Some(fault)) = (check, self.fault(program)) {
                        *f = f.write(fault);
                    }
                }
                TStmt::If(c, a, b) => {
                    self.reads(program, c, me, f);
                    self.stmts(program, a, me, f);
                    self.stmts(program, b, me, f);
                }
                TStmt::Goto(_) => {}
                TStmt::Sync(s) => self.sync(program, s, me, f),
            }
        }
    }

    /// A synchronisation statement reads and writes its mutex, cond or whole queue (and the
    /// fault cell when it checks ownership or a range); its enabling condition is in the guard.
    fn sync(&self, program: &Checked, s: &SyncStmt, me: Option<i64>, f: &mut Footprint) {
        let both = |p: &Place, n: u32, f: &mut Footprint| {
            self.touch_n(program, p, me, false, n, f);
            self.touch_n(program, p, me, true, n, f);
        };
        let checked = match s {
            SyncStmt::Lock { mutex, .. } => {
                both(mutex, 1, f);
                false
            }
            SyncStmt::Unlock { mutex, site, .. } => {
                both(mutex, 1, f);
                site.is_some()
            }
            SyncStmt::Wait {
                cond, mutex, site, ..
            } => {
                both(cond, 1, f);
                both(mutex, 1, f);
                site.is_some()
            }
            SyncStmt::Signal { cond, .. } | SyncStmt::Broadcast { cond } => {
                both(cond, 1, f);
                false
            }
            SyncStmt::Send {
                queue,
                capacity,
                value,
                check,
            } => {
                self.reads(program, value, me, f);
                both(queue, 1 + capacity, f);
                check.is_some()
            }
            SyncStmt::Recv {
                queue,
                capacity,
                into,
                check,
            } => {
                both(queue, 1 + capacity, f);
                self.touch(program, into, me, true, f);
                check.is_some()
            }
        };
        if let (true, Some(fault)) = (checked, self.fault(program)) {
            *f = f.write(fault);
        }
    }

    /// Everything any action of `step` taken by instance `me` may read or write, guards
    /// included. Every step reads the fault cell (a fault disables every step); a step with a
    /// run-time range check writes it.
    pub fn step(&self, program: &Checked, step: &Step, me: Option<i64>) -> Footprint {
        let mut f = self
            .fault(program)
            .map_or(Footprint::NONE, |fault| Footprint::NONE.read(fault));
        if let Some(g) = &step.guard {
            self.reads(program, g, me, &mut f);
        }
        self.stmts(program, &step.body, me, &mut f);
        for b in &step.branches {
            if let Some(g) = &b.guard {
                self.reads(program, g, me, &mut f);
            }
            self.stmts(program, &b.body, me, &mut f);
        }
        f
    }
}

/// The value of an index known without the state: constants and `self` combined by arithmetic.
fn constant(e: &TExpr, me: Option<i64>) -> Option<i64> {
    match e {
        TExpr::Const(v) => Some(*v),
        TExpr::SelfIndex => me,
        TExpr::Neg(a) => Some(-constant(a, me)?),
        TExpr::Bin(op, a, b) => {
            let (a, b) = (constant(a, me)?, constant(b, me)?);
            match op {
                crate::ir::BinOp::Add => Some(a + b),
                crate::ir::BinOp::Sub => Some(a - b),
                crate::ir::BinOp::Mul => Some(a * b),
                _ => None,
            }
        }
        _ => None,
    }
}

/// For each program counter of a template, the union of the footprints of every step reachable
/// from it (the actor's future), given each step's own footprint.
pub fn futures(steps: &[Step], own: &[Footprint]) -> Vec<Footprint> {
    let mut future: Vec<Footprint> = own.to_vec();
    future.push(Footprint::NONE); // done
                                  // Propagate backwards along `goto` and fall-through edges until nothing changes.
    let successors: Vec<Vec<u32>> = steps.iter().map(Step::successors).collect();
    loop {
        let mut changed = false;
        for (pc, succ) in successors.iter().enumerate() {
            let merged = succ
                .iter()
                .fold(future[pc], |f, &s| f.union(future[s as usize]));
            if merged != future[pc] {
                future[pc] = merged;
                changed = true;
            }
        }
        if !changed {
            return future;
        }
    }
}
