//! The product of a model and a log monitor: explores only interleavings whose observable
//! projection follows the log, and finds the shortest one that ends in the symptom (a violated
//! property, in a state where the symptom holds) once every wanted entry has been matched.
//!
//! A step is *observable* when one of its events is of a kind (`qmp:SHUTDOWN`, `api:reboot`)
//! the log shows: it may then only be taken when its event matches the next wanted entry (or
//! repeats the last one, or is a VSERPORT_CHANGE matched ahead within the throttle window; see
//! [`super::plan`]). Steps of kinds the log never shows are free (a log is an excerpt). An
//! entry that no reachable step produces rules the model out.

use super::plan::{kind, Want};
use models::scenario::{log_matches, LogEvent};
use sim::{fingerprint, Model, PropertyKind};
use std::collections::{BTreeSet, HashSet, VecDeque};

/// Every event the model's reachable steps produce, and whether `max_states` cut the count.
pub fn producible<M: Model>(
    model: &M,
    events: &impl Fn(&M::State, &M::Action) -> &'static [LogEvent],
    max_states: u64,
) -> (BTreeSet<LogEvent>, bool) {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<M::State> = model.init_states().into();
    let mut out = BTreeSet::new();
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(fingerprint(&s)) {
            continue;
        }
        if seen.len() as u64 > max_states {
            return (out, true);
        }
        actions.clear();
        model.actions(&s, &mut actions);
        for a in &actions {
            out.extend(events(&s, a));
            queue.push_back(model.next_state(&s, a));
        }
    }
    (out, false)
}

/// Which steps a match may take after the log's last entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trailing {
    /// Steps showing no event of a kind the log shows (a symptom says what happened after the
    /// log's last event).
    Unobserved,
    /// Only steps showing no event at all (without a symptom the log is the whole report: its
    /// events must show the violation).
    Silent,
}

/// What one search is for.
pub struct Spec<'a, S> {
    /// The wanted entries, in order.
    pub wants: &'a [Want],
    /// The bound on (state, monitor) pairs explored.
    pub max_states: u64,
    /// Only this property's violation counts (the symptom names it).
    pub property: Option<usize>,
    /// The symptom's condition on the final state.
    pub holds: &'a dyn Fn(&S) -> bool,
    /// Which steps may follow the log's last entry.
    pub trailing: Trailing,
}

/// What the product search found.
pub struct Found<M: Model> {
    /// The shortest matching path and the property it violates.
    pub matched: Option<(sim::Path<M>, String)>,
    /// Wanted entries (indices) no reachable step produces.
    pub unmodelled: Vec<usize>,
    /// The most wanted entries any explored path matched.
    pub longest: usize,
    /// Some path matched every wanted entry.
    pub followed: bool,
    /// Some path matched every wanted entry and violated a property, but not in a state where
    /// the symptom holds.
    pub violated: bool,
    /// A bound stopped the search (or the count of producible events).
    pub cut: bool,
    /// (state, monitor) pairs explored.
    pub states: u64,
}

/// The monitor: the next wanted entry, and an entry already matched ahead of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Monitor {
    pos: usize,
    ahead: Option<usize>,
}

struct Node<A> {
    parent: usize,
    action: Option<A>,
}

/// A state's place in the search: the monitor, the first `always` property violated on the
/// path, and whether the wanted property was.
type Key = (u64, Monitor, Option<usize>, bool);

/// Searches `model` constrained by `spec.wants`; `can` is [`producible`]'s answer.
pub fn search<M: Model>(
    model: &M,
    can: &(BTreeSet<LogEvent>, bool),
    events: &impl Fn(&M::State, &M::Action) -> &'static [LogEvent],
    spec: &Spec<M::State>,
) -> Found<M> {
    let wants = spec.wants;
    let (can, can_cut) = can;
    let unmodelled: Vec<usize> = match can_cut {
        true => Vec::new(),
        false => (0..wants.len())
            .filter(|&i| !can.iter().any(|e| log_matches(e, &wants[i].event)))
            .collect(),
    };
    let mut found = Found {
        matched: None,
        unmodelled,
        longest: 0,
        followed: false,
        violated: false,
        cut: *can_cut,
        states: 0,
    };
    if !found.unmodelled.is_empty() {
        return found;
    }
    let kinds: BTreeSet<&str> = wants.iter().map(|w| kind(&w.event)).collect();
    let observable = |e: &str| kinds.contains(kind(e));
    let props = model.properties();
    let always: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].kind == PropertyKind::Always)
        .collect();
    let at_end: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].kind == PropertyKind::AtEnd)
        .collect();
    let first_bad = |s: &M::State, was: Option<usize>| {
        was.or_else(|| always.iter().copied().find(|&p| !props[p].holds(model, s)))
    };
    let named_bad = |s: &M::State, was: bool| {
        was || spec
            .property
            .is_some_and(|p| props[p].kind == PropertyKind::Always && !props[p].holds(model, s))
    };

    let mut nodes: Vec<Node<M::Action>> = Vec::new();
    let mut seen: HashSet<Key> = HashSet::new();
    let mut queue = VecDeque::new();
    let start = Monitor {
        pos: 0,
        ahead: None,
    };
    for (init, s) in model.init_states().into_iter().enumerate() {
        let (bad, named) = (first_bad(&s, None), named_bad(&s, false));
        if seen.insert((fingerprint(&s), start, bad, named)) {
            nodes.push(Node {
                parent: usize::MAX - init,
                action: None,
            });
            queue.push_back((nodes.len() - 1, s, start, bad, named));
        }
    }
    let mut actions = Vec::new();
    let mut monitors = Vec::new();
    while let Some((id, s, m, bad, named)) = queue.pop_front() {
        found.longest = found.longest.max(m.pos);
        actions.clear();
        model.actions(&s, &mut actions);
        if m.pos == wants.len() {
            found.followed = true;
            let end = |p: usize| actions.is_empty() && !props[p].holds(model, &s);
            let violated = match spec.property {
                Some(p) if props[p].kind == PropertyKind::AtEnd => end(p).then_some(p),
                Some(p) => named.then_some(p),
                None => bad.or_else(|| at_end.iter().copied().find(|&p| end(p))),
            };
            let any = bad.is_some() || at_end.iter().any(|&p| end(p));
            match violated {
                Some(p) if (spec.holds)(&s) => {
                    found.matched = Some((path(&nodes, id), props[p].name.clone()));
                    found.states = seen.len() as u64;
                    return found;
                }
                _ => found.violated |= any,
            }
        }
        for a in &actions {
            let shown = events(&s, a);
            if m.pos == wants.len() && spec.trailing == Trailing::Silent && !shown.is_empty() {
                continue;
            }
            monitors.clear();
            monitors.push(m);
            for e in shown.iter().filter(|e| observable(e)) {
                let before = std::mem::take(&mut monitors);
                for b in before {
                    moves(wants, b, e, &mut monitors);
                }
            }
            if monitors.is_empty() {
                continue;
            }
            let next = model.next_state(&s, a);
            let next_bad = first_bad(&next, bad);
            let next_named = named_bad(&next, named);
            let fp = fingerprint(&next);
            for &next_m in &monitors {
                if !seen.insert((fp, next_m, next_bad, next_named)) {
                    continue;
                }
                if seen.len() as u64 > spec.max_states {
                    found.cut = true;
                    found.states = seen.len() as u64;
                    return found;
                }
                nodes.push(Node {
                    parent: id,
                    action: Some(a.clone()),
                });
                queue.push_back((nodes.len() - 1, next.clone(), next_m, next_bad, next_named));
            }
        }
    }
    found.states = seen.len() as u64;
    found
}

/// The monitors an observable event `e` leads `m` to: the next wanted entry, a repeat of the
/// last one, or a VSERPORT_CHANGE matched ahead within its window.
fn moves(wants: &[Want], m: Monitor, e: &str, out: &mut Vec<Monitor>) {
    if m.pos < wants.len() && log_matches(e, &wants[m.pos].event) {
        let mut next = Monitor {
            pos: m.pos + 1,
            ahead: m.ahead,
        };
        if next.ahead == Some(next.pos) {
            next = Monitor {
                pos: next.pos + 1,
                ahead: None,
            };
        }
        out.push(next);
    }
    if m.pos > 0 && wants[m.pos - 1].repeats && log_matches(e, &wants[m.pos - 1].event) {
        out.push(m);
    }
    if m.ahead.is_none() {
        let early = (m.pos + 1..wants.len())
            .find(|&j| wants[j].ahead_from <= m.pos && log_matches(e, &wants[j].event));
        if let Some(j) = early {
            out.push(Monitor {
                pos: m.pos,
                ahead: Some(j),
            });
        }
    }
}

fn path<M: Model>(nodes: &[Node<M::Action>], mut id: usize) -> sim::Path<M> {
    let mut actions = Vec::new();
    loop {
        let node = &nodes[id];
        match &node.action {
            Some(a) => {
                actions.push(a.clone());
                id = node.parent;
            }
            None => {
                actions.reverse();
                return sim::Path {
                    init: usize::MAX - node.parent,
                    actions,
                };
            }
        }
    }
}
