//! The load-time lock analysis of one actor's program, over its step graph (guards ignored).
//! Errors: every mutex it unlocks or waits with, it also locks somewhere; and no path leads
//! from a step that locks a mutex to `done` without passing a step that unlocks it (a step
//! counts as unlocking when an `unlock` of that variable is anywhere in it, inside `if` too).
//! And which `unlock`s and `wait`s need a run-time ownership check: those where the actor does
//! not surely hold the mutex, having locked it on every path there.

use super::sync::Use;
use crate::error::Diagnostic;
use crate::expr::SyncOp;
use crate::ir::{Place, Step, SyncStmt, TExpr, TStmt};
use std::collections::VecDeque;

/// A mutex named by constants and `self` only: its variable, its cell, whether indexed by
/// `self`. Another mutex is never known to be held.
type Key = (usize, u32, bool);

fn key(p: &Place) -> Option<Key> {
    p.parts
        .iter()
        .all(|(e, _)| matches!(e, TExpr::SelfIndex))
        .then_some((p.var, p.base, !p.parts.is_empty()))
}

/// Which of the program's `unlock`s and `wait`s (by use number, of `uses`) need a run-time
/// check: those not surely holding their mutex. `steps` hold the use numbers as check sites.
pub(super) fn needed_checks(steps: &[Step], uses: usize) -> Vec<bool> {
    // Must-held sets at each step's start: the first step holds nothing; `None` is not yet
    // reached (every mutex, for the intersection).
    let mut held: Vec<Option<Vec<Key>>> = vec![None; steps.len()];
    held[0] = Some(Vec::new());
    let mut todo = VecDeque::from([0usize]);
    let mut scratch = vec![false; uses];
    while let Some(pc) = todo.pop_front() {
        let start = held[pc].clone().expect("reached");
        let out = after_step(&steps[pc], start, &mut scratch);
        for next in steps[pc].successors() {
            let next = next as usize;
            if next == steps.len() || next == 0 {
                continue;
            }
            let merged = match &held[next] {
                None => out.clone(),
                Some(h) => h.iter().copied().filter(|k| out.contains(k)).collect(),
            };
            if held[next].as_ref() != Some(&merged) {
                held[next] = Some(merged);
                todo.push_back(next);
            }
        }
    }
    // Which checks are needed is read off the fixpoint (not the larger sets on the way there).
    let mut needed = vec![false; uses];
    for (step, start) in steps.iter().zip(held) {
        if let Some(start) = start {
            after_step(step, start, &mut needed);
        }
    }
    needed
}

/// The mutexes surely held after `step` from `held`; marks the checks it needs.
fn after_step(step: &Step, mut held: Vec<Key>, needed: &mut [bool]) -> Vec<Key> {
    flow(&step.body, &mut held, needed);
    let mut out: Option<Vec<Key>> = None;
    for b in &step.branches {
        let mut h = held.clone();
        flow(&b.body, &mut h, needed);
        out = Some(match out {
            None => h,
            Some(o) => o.into_iter().filter(|k| h.contains(k)).collect(),
        });
    }
    out.unwrap_or(held)
}

fn flow(stmts: &[TStmt], held: &mut Vec<Key>, needed: &mut [bool]) {
    for s in stmts {
        match s {
            TStmt::Sync(SyncStmt::Lock { mutex, .. }) => held.extend(key(mutex)),
            TStmt::Sync(
                SyncStmt::Unlock { mutex, site, .. } | SyncStmt::Wait { mutex, site, .. },
            ) => {
                let k = key(mutex);
                if let Some(u) = site {
                    needed[*u as usize] |= k.is_none_or(|k| !held.contains(&k));
                }
                match k {
                    Some(k) => held.retain(|h| *h != k),
                    None => held.retain(|h| h.0 != mutex.var),
                }
            }
            TStmt::If(_, a, b) => {
                let (mut ha, mut hb) = (held.clone(), held.clone());
                flow(a, &mut ha, needed);
                flow(b, &mut hb, needed);
                held.retain(|k| ha.contains(k) && hb.contains(k));
            }
            TStmt::Assign { .. } | TStmt::Goto(_) | TStmt::Sync(_) => {}
        }
    }
}

/// The errors of actor `actor`'s program: its `steps` (the wake steps included; `done` is
/// `steps.len()`), its `lock`/`unlock`/`wait` statements `uses`, and every variable's name.
pub(super) fn check(actor: &str, steps: &[Step], uses: &[Use], vars: &[&str]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let locks = |var: usize| uses.iter().any(|u| u.op == SyncOp::Lock && u.var == var);
    let unlocks = |step: usize, var: usize| {
        uses.iter()
            .any(|u| u.op == SyncOp::Unlock && u.var == var && u.step == step)
    };
    for u in uses {
        let name = vars[u.var];
        match u.op {
            SyncOp::Unlock | SyncOp::Wait if !locks(u.var) => {
                let verb = if u.op == SyncOp::Wait {
                    "wait with"
                } else {
                    "unlock"
                };
                errors.push(Diagnostic {
                    message: format!(
                        "`{}`: `{actor}` never locks `{name}`, and only the actor holding a mutex may {verb} it",
                        u.text
                    ),
                    ..u.at.clone()
                });
            }
            SyncOp::Lock if !unlocks(u.step, u.var) => {
                if let Some(path) = path_to_done(steps, u.step, |s| unlocks(s, u.var)) {
                    errors.push(Diagnostic {
                        message: format!(
                            "`{}` can reach `done` without unlocking `{name}` ({}): `{actor}` would end holding it",
                            u.text,
                            path.join(" → ")
                        ),
                        ..u.at.clone()
                    });
                }
            }
            _ => {}
        }
    }
    errors
}

/// The labels of a shortest path from step `from` to `done` that passes no step for which
/// `releases` holds, if there is one.
fn path_to_done(
    steps: &[Step],
    from: usize,
    releases: impl Fn(usize) -> bool,
) -> Option<Vec<String>> {
    let done = steps.len();
    let mut parent: Vec<Option<usize>> = vec![None; done + 1];
    let mut queue = VecDeque::from([from]);
    let mut seen = vec![false; done + 1];
    seen[from] = true;
    while let Some(pc) = queue.pop_front() {
        for next in steps[pc].successors() {
            let next = next as usize;
            if seen[next] || (next < done && releases(next)) {
                continue;
            }
            seen[next] = true;
            parent[next] = Some(pc);
            if next == done {
                let mut path = vec!["done".to_string()];
                let mut at = Some(pc);
                while let Some(p) = at {
                    path.push(steps[p].label.clone());
                    at = parent[p];
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(next);
        }
    }
    None
}
