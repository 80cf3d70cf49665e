//! The load-time lock analysis of one actor's program, over its step graph (guards ignored):
//! every mutex it unlocks or waits with, it also locks somewhere; and no path leads from a
//! step that locks a mutex to `done` without passing a step that unlocks it (a step counts as
//! unlocking when an `unlock` of that variable is anywhere in it, inside `if` too).

use super::sync::Use;
use crate::error::Diagnostic;
use crate::expr::SyncOp;
use crate::ir::Step;
use std::collections::VecDeque;

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
