//! Compilation: every cell gets a bit field in the packed state words, and every expression and
//! statement becomes a closure over those words, built once at load time.

use crate::ir::{BinOp, CellDecl, Place, Quant, TExpr, TStmt};
use crate::sync::{self, CSync};
use std::cell::Cell;
use std::sync::Arc;

/// Where a cell lives: `bits = (words[word] >> shift) & mask`, value `lo + bits`.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    word: u32,
    shift: u32,
    mask: u64,
    lo: i64,
}

impl Slot {
    /// The cell's value in `words`.
    #[inline]
    pub fn get(&self, words: &[u64]) -> i64 {
        ((words[self.word as usize] >> self.shift) & self.mask) as i64 + self.lo
    }

    /// Stores `value` (which must be in the cell's range).
    #[inline]
    pub fn set(&self, words: &mut [u64], value: i64) {
        let w = &mut words[self.word as usize];
        *w = (*w & !(self.mask << self.shift)) | (((value - self.lo) as u64) << self.shift);
    }

    /// The cell's raw bits (for sorting symmetric blocks).
    pub fn bits(&self, words: &[u64]) -> u64 {
        (words[self.word as usize] >> self.shift) & self.mask
    }

    /// Stores raw bits read by [`Slot::bits`].
    pub fn set_bits(&self, words: &mut [u64], bits: u64) {
        let w = &mut words[self.word as usize];
        *w = (*w & !(self.mask << self.shift)) | (bits << self.shift);
    }
}

/// Packs the cells into 64-bit words, each in as few bits as its range needs, none straddling
/// two words. Returns the slots and the number of words.
pub fn layout(cells: &[CellDecl]) -> (Vec<Slot>, usize) {
    let mut slots = Vec::with_capacity(cells.len());
    let (mut word, mut used) = (0u32, 0u32);
    for c in cells {
        let span = (c.hi - c.lo) as u64;
        let width = 64 - span.leading_zeros();
        if used + width > 64 {
            word += 1;
            used = 0;
        }
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        slots.push(Slot {
            word,
            shift: used,
            mask,
            lo: c.lo,
        });
        used += width;
    }
    (slots, word as usize + 1)
}

/// What compiled code sees: the state's words, the acting instance, the bound variables.
pub struct Env<'a> {
    /// The packed state.
    pub words: &'a [u64],
    /// The acting instance's index (`self`).
    pub me: i64,
    /// Bound variables by slot.
    pub bound: &'a [Cell<i64>],
}

/// A compiled expression.
pub type Code = Box<dyn Fn(&Env) -> i64 + Send + Sync>;

/// A compiled scalar place.
pub enum CPlace {
    /// A cell known at load time.
    Fixed(Slot),
    /// A cell computed from index expressions.
    Computed {
        /// Constant part of the cell number.
        base: u32,
        /// Index expressions and strides.
        parts: Vec<(Code, u32)>,
        /// Every cell's slot.
        slots: Arc<[Slot]>,
    },
}

impl CPlace {
    /// The slot the place names in `env`.
    #[inline]
    pub fn slot(&self, env: &Env) -> Slot {
        match self {
            CPlace::Fixed(s) => *s,
            CPlace::Computed { base, parts, slots } => {
                let cell = parts.iter().fold(*base as i64, |c, (index, stride)| {
                    c + index(env) * *stride as i64
                });
                slots[cell as usize]
            }
        }
    }
}

/// Compiles a place.
pub fn place(p: &Place, slots: &Arc<[Slot]>) -> CPlace {
    if p.parts.is_empty() {
        return CPlace::Fixed(slots[p.base as usize]);
    }
    CPlace::Computed {
        base: p.base,
        parts: p.parts.iter().map(|(e, s)| (expr(e, slots), *s)).collect(),
        slots: slots.clone(),
    }
}

/// Compiles an expression.
pub fn expr(e: &TExpr, slots: &Arc<[Slot]>) -> Code {
    match e {
        TExpr::Const(v) => {
            let v = *v;
            Box::new(move |_| v)
        }
        TExpr::Read(p) => match place(p, slots) {
            CPlace::Fixed(s) => Box::new(move |env| s.get(env.words)),
            computed => Box::new(move |env| computed.slot(env).get(env.words)),
        },
        TExpr::SelfIndex => Box::new(|env| env.me),
        TExpr::Bound(slot) => {
            let slot = *slot;
            Box::new(move |env| env.bound[slot].get())
        }
        TExpr::Not(a) => {
            let a = expr(a, slots);
            Box::new(move |env| (a(env) == 0) as i64)
        }
        TExpr::Neg(a) => {
            let a = expr(a, slots);
            Box::new(move |env| -a(env))
        }
        TExpr::Bin(op, a, b) => binary(*op, expr(a, slots), expr(b, slots)),
        TExpr::Bit(a, b) => {
            let (a, b) = (expr(a, slots), expr(b, slots));
            Box::new(move |env| (a(env) >> b(env)) & 1)
        }
        TExpr::Quant(q, slot, lo, hi, body) => {
            let (slot, lo, hi, body) = (*slot, expr(lo, slots), expr(hi, slots), expr(body, slots));
            let q = *q;
            Box::new(move |env| {
                let mut count = 0;
                for v in lo(env)..=hi(env) {
                    env.bound[slot].set(v);
                    let holds = body(env) != 0;
                    match q {
                        Quant::All if !holds => return 0,
                        Quant::Any if holds => return 1,
                        _ => count += holds as i64,
                    }
                }
                match q {
                    Quant::All => 1,
                    Quant::Any => 0,
                    Quant::Count => count,
                }
            })
        }
    }
}

fn binary(op: BinOp, a: Code, b: Code) -> Code {
    match op {
        BinOp::Or => Box::new(move |env| (a(env) != 0 || b(env) != 0) as i64),
        BinOp::And => Box::new(move |env| (a(env) != 0 && b(env) != 0) as i64),
        BinOp::Eq => Box::new(move |env| (a(env) == b(env)) as i64),
        BinOp::Ne => Box::new(move |env| (a(env) != b(env)) as i64),
        BinOp::Lt => Box::new(move |env| (a(env) < b(env)) as i64),
        BinOp::Le => Box::new(move |env| (a(env) <= b(env)) as i64),
        BinOp::Gt => Box::new(move |env| (a(env) > b(env)) as i64),
        BinOp::Ge => Box::new(move |env| (a(env) >= b(env)) as i64),
        BinOp::Add => Box::new(move |env| a(env) + b(env)),
        BinOp::Sub => Box::new(move |env| a(env) - b(env)),
        BinOp::Mul => Box::new(move |env| a(env) * b(env)),
    }
}

/// A compiled statement.
pub enum CStmt {
    /// `place = value`, with the run-time range check (bounds and site) when one is needed.
    Assign(CPlace, Code, Option<(i64, i64, u32)>),
    /// A conditional.
    If(Code, Vec<CStmt>, Vec<CStmt>),
    /// Sets the next program counter.
    Goto(u32),
    /// A synchronisation statement.
    Sync(CSync),
}

/// Compiles statements.
pub fn stmts(stmts: &[TStmt], slots: &Arc<[Slot]>) -> Vec<CStmt> {
    stmts
        .iter()
        .map(|s| match s {
            TStmt::Assign {
                place: p,
                value,
                check,
            } => CStmt::Assign(place(p, slots), expr(value, slots), *check),
            TStmt::If(c, a, b) => {
                CStmt::If(expr(c, slots), self::stmts(a, slots), self::stmts(b, slots))
            }
            TStmt::Goto(pc) => CStmt::Goto(*pc),
            TStmt::Sync(s) => CStmt::Sync(sync::compile(s, slots)),
        })
        .collect()
}

/// Runs statements in order on `words`; a `goto` sets `next_pc`.
///
/// Stops at the first failed run-time check (an assignment's value outside its variable's
/// range, an unlock by an actor not holding the mutex) and returns that check's site (the model
/// is wrong there; the caller records the fault in the state).
pub fn exec(
    stmts: &[CStmt],
    words: &mut [u64],
    me: i64,
    bound: &[Cell<i64>],
    next_pc: &mut u32,
) -> Result<(), u32> {
    for s in stmts {
        match s {
            CStmt::Assign(place, value, check) => {
                let env = Env { words, me, bound };
                let (slot, v) = (place.slot(&env), value(&env));
                if let Some((lo, hi, site)) = check {
                    if v < *lo || v > *hi {
                        return Err(*site);
                    }
                }
                slot.set(words, v);
            }
            CStmt::If(c, a, b) => {
                let taken = c(&Env { words, me, bound }) != 0;
                exec(if taken { a } else { b }, words, me, bound, next_pc)?;
            }
            CStmt::Goto(pc) => *next_pc = *pc,
            CStmt::Sync(s) => sync::exec(s, words, me, bound, next_pc)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_pack_into_words_without_straddling() {
        let cell = |lo, hi| CellDecl {
            lo,
            hi,
            shared: true,
        };
        let (slots, words) = layout(&[cell(0, 1), cell(-1, 9), cell(0, 0), cell(0, 1 << 60)]);
        assert_eq!(
            words, 2,
            "1 + 4 + 0 bits, then 61 bits do not fit in the same word"
        );
        let mut w = vec![0u64; words];
        slots[1].set(&mut w, -1);
        slots[3].set(&mut w, 7);
        slots[0].set(&mut w, 1);
        assert_eq!(
            (
                slots[0].get(&w),
                slots[1].get(&w),
                slots[2].get(&w),
                slots[3].get(&w)
            ),
            (1, -1, 0, 7)
        );
        slots[1].set(&mut w, 9);
        assert_eq!((slots[0].get(&w), slots[1].get(&w)), (1, 9));
    }
}
