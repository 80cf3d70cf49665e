//! `eventually` properties: a depth-first search restricted to the states where the property
//! does not hold yet. Reaching a terminal state there, or closing a cycle there (a lasso), is a
//! path on which the property never holds. Runs without reduction, so it is exact.

use super::fpset::FingerprintSet;
use super::report::{Cut, Path, Report, Violation, ViolationKind};
use super::Options;
use crate::fingerprint::fingerprint;
use crate::model::Model;
use crate::property::{Property, PropertyKind};
use std::collections::HashMap;
use std::time::Instant;

/// Checks every `eventually` property of the model and records violations in `report`; expands
/// no state at `options.max_depth`, and stops at `options.max_states` states per property or once
/// `options.max_seconds` have passed since `started` (each cuts the report).
pub(super) fn check_eventually<M: Model>(
    model: &M,
    options: &Options,
    started: Instant,
    report: &mut Report<M>,
) {
    for property in model.properties() {
        if property.kind == PropertyKind::Eventually {
            if let Some(v) = search(model, options, started, &property, report) {
                report.add_violation(v);
            }
        }
    }
}

struct Frame<M: Model> {
    state: M::State,
    fp: u64,
    actions: Vec<M::Action>,
    next: usize,
    via: Option<M::Action>,
}

fn search<M: Model>(
    model: &M,
    options: &Options,
    started: Instant,
    property: &Property<M>,
    report: &mut Report<M>,
) -> Option<Violation<M>> {
    let mut visited = FingerprintSet::default();
    for (init, state) in model.init_states().into_iter().enumerate() {
        if property.holds(model, &state) {
            continue;
        }
        let fp = fingerprint(&state);
        if !visited.insert(fp) {
            continue;
        }
        let mut on_stack: HashMap<u64, usize> = HashMap::new();
        let mut stack: Vec<Frame<M>> = Vec::new();
        let path = |stack: &[Frame<M>]| Path {
            init,
            actions: stack.iter().filter_map(|f| f.via.clone()).collect(),
        };
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        on_stack.insert(fp, 0);
        stack.push(Frame {
            state,
            fp,
            actions,
            next: 0,
            via: None,
        });
        loop {
            // The top frame's depth, and whether the depth bound forbids expanding it.
            let depth = stack.len().saturating_sub(1);
            let too_deep = options.max_depth.filter(|&max| depth >= max);
            let Some(top) = stack.last_mut() else {
                break;
            };
            if top.actions.is_empty() {
                let fp = top.fp;
                return Some(violation(property, fp, path(&stack), None));
            }
            if let Some(max) = too_deep {
                report.cut(Cut::Depth(max));
                top.next = top.actions.len();
            }
            if top.next >= top.actions.len() {
                let done = stack.pop().expect("non-empty stack");
                on_stack.remove(&done.fp);
                continue;
            }
            let action = top.actions[top.next].clone();
            top.next += 1;
            let next = model.next_state(&top.state, &action);
            if property.holds(model, &next) {
                continue;
            }
            let fp = fingerprint(&next);
            if let Some(&start) = on_stack.get(&fp) {
                let mut lasso = path(&stack);
                lasso.actions.push(action);
                return Some(violation(property, fp, lasso, Some(start)));
            }
            if !visited.insert(fp) {
                continue;
            }
            if options
                .max_states
                .is_some_and(|max| visited.len() as u64 > max)
            {
                report.cut(Cut::States(options.max_states.unwrap_or_default()));
                return None;
            }
            if let Some(max) = options
                .max_seconds
                .filter(|&max| started.elapsed().as_secs_f64() > max)
            {
                report.cut(Cut::Seconds(format!("{max}")));
                return None;
            }
            let mut actions = Vec::new();
            model.actions(&next, &mut actions);
            on_stack.insert(fp, stack.len());
            stack.push(Frame {
                state: next,
                fp,
                actions,
                next: 0,
                via: Some(action),
            });
        }
    }
    None
}

fn violation<M: Model>(
    property: &Property<M>,
    fp: u64,
    path: Path<M>,
    lasso_start: Option<usize>,
) -> Violation<M> {
    Violation {
        property: property.name.clone(),
        kind: ViolationKind::Eventually,
        fingerprint: fp,
        depth: path.actions.len(),
        path: Some(path),
        lasso_start,
    }
}
