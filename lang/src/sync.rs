//! Compiled synchronisation statements and what they do when they run. A mutex cell holds 0
//! while free, else 1 + its holder's instance number; a cond cell holds its waiters as a bit
//! mask of instance numbers; a queue is its length cell, then its elements from the head (the
//! cells past the length hold the element type's default). Blocking statements' enabling
//! conditions are in their steps' guards, so here they always proceed.

use crate::compile::{self, CPlace, Code, Env, Slot};
use crate::ir::{Place, SyncStmt};
use std::cell::Cell;
use std::sync::Arc;

/// A queue's cells: its length cell is `base + Σ index·stride`, its elements follow.
pub struct CQueue {
    base: u32,
    parts: Vec<(Code, u32)>,
    slots: Arc<[Slot]>,
}

impl CQueue {
    fn new(p: &Place, slots: &Arc<[Slot]>) -> CQueue {
        CQueue {
            base: p.base,
            parts: p
                .parts
                .iter()
                .map(|(e, s)| (compile::expr(e, slots), *s))
                .collect(),
            slots: slots.clone(),
        }
    }

    /// The length cell's slot and the element slots.
    fn cells(&self, env: &Env) -> (Slot, &[Slot]) {
        let first = self
            .parts
            .iter()
            .fold(self.base as i64, |c, (index, stride)| {
                c + index(env) * *stride as i64
            }) as usize;
        (self.slots[first], &self.slots[first + 1..])
    }
}

/// A compiled synchronisation statement (see [`SyncStmt`]).
pub enum CSync {
    /// `lock(m)`.
    Lock(CPlace, Code),
    /// `unlock(m)`: mutex, acting instance, check site.
    Unlock(CPlace, Code, Option<u32>),
    /// `wait(c, m)`: cond, mutex, acting instance, check site, wake step.
    Wait(CPlace, CPlace, Code, Option<u32>, u32),
    /// `signal(c)`: cond, the hidden pick's slot.
    Signal(CPlace, usize),
    /// `broadcast(c)`.
    Broadcast(CPlace),
    /// `send(q, e)`: queue, value, range check.
    Send(CQueue, Code, Option<(i64, i64, u32)>),
    /// `recv(q, place)`: queue, place, range check.
    Recv(CQueue, CPlace, Option<(i64, i64, u32)>),
}

/// Compiles a synchronisation statement.
pub fn compile(s: &SyncStmt, slots: &Arc<[Slot]>) -> CSync {
    let place = |p| compile::place(p, slots);
    let expr = |e| compile::expr(e, slots);
    match s {
        SyncStmt::Lock { mutex, actor } => CSync::Lock(place(mutex), expr(actor)),
        SyncStmt::Unlock { mutex, actor, site } => CSync::Unlock(place(mutex), expr(actor), *site),
        SyncStmt::Wait {
            cond,
            mutex,
            actor,
            site,
            wake,
        } => CSync::Wait(place(cond), place(mutex), expr(actor), *site, *wake),
        SyncStmt::Signal { cond, waiter } => CSync::Signal(place(cond), *waiter),
        SyncStmt::Broadcast { cond } => CSync::Broadcast(place(cond)),
        SyncStmt::Send {
            queue,
            value,
            check,
            ..
        } => CSync::Send(CQueue::new(queue, slots), expr(value), *check),
        SyncStmt::Recv {
            queue, into, check, ..
        } => CSync::Recv(CQueue::new(queue, slots), place(into), *check),
    }
}

/// Ok when `mutex` is held by `actor`, or unchecked; else the check's site.
fn holds(mutex: Slot, actor: i64, words: &[u64], site: Option<u32>) -> Result<(), u32> {
    match site {
        Some(site) if mutex.get(words) != actor + 1 => Err(site),
        _ => Ok(()),
    }
}

/// `v`, or the check site when it leaves the checked range.
fn in_range(v: i64, check: Option<(i64, i64, u32)>) -> Result<i64, u32> {
    match check {
        Some((lo, hi, site)) if v < lo || v > hi => Err(site),
        _ => Ok(v),
    }
}

/// Runs a synchronisation statement on `words`; a `wait` sets `next_pc` to its wake step.
/// Returns the failed check's site (an unlock or wait by an actor not holding the mutex, a
/// value out of its range).
pub fn exec(
    s: &CSync,
    words: &mut [u64],
    me: i64,
    bound: &[Cell<i64>],
    next_pc: &mut u32,
) -> Result<(), u32> {
    let env = Env { words, me, bound };
    match s {
        CSync::Lock(mutex, actor) => {
            let (slot, owner) = (mutex.slot(&env), actor(&env) + 1);
            slot.set(words, owner);
        }
        CSync::Unlock(mutex, actor, site) => {
            let (slot, actor) = (mutex.slot(&env), actor(&env));
            holds(slot, actor, words, *site)?;
            slot.set(words, 0);
        }
        CSync::Wait(cond, mutex, actor, site, wake) => {
            let (c, m, actor) = (cond.slot(&env), mutex.slot(&env), actor(&env));
            holds(m, actor, words, *site)?;
            m.set(words, 0);
            c.set(words, c.get(words) | 1 << actor);
            *next_pc = *wake;
        }
        CSync::Signal(cond, waiter) => {
            let (c, w) = (cond.slot(&env), bound[*waiter].get());
            c.set(words, c.get(words) & !(1 << w));
        }
        CSync::Broadcast(cond) => {
            let c = cond.slot(&env);
            c.set(words, 0);
        }
        CSync::Send(queue, value, check) => {
            let v = in_range(value(&env), *check)?;
            let (len, elems) = queue.cells(&env);
            let n = len.get(words);
            elems[n as usize].set(words, v);
            len.set(words, n + 1);
        }
        CSync::Recv(queue, into, check) => {
            let target = into.slot(&env);
            let (len, elems) = queue.cells(&env);
            let n = len.get(words) as usize;
            let head = elems[0].get(words);
            for k in 1..n {
                let bits = elems[k].bits(words);
                elems[k - 1].set_bits(words, bits);
            }
            elems[n - 1].set_bits(words, 0);
            len.set(words, n as i64 - 1);
            target.set(words, in_range(head, *check)?);
        }
    }
    Ok(())
}
