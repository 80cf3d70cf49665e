//! The product of a model and a log monitor: explores only interleavings whose observable
//! projection follows the log's order, and finds the shortest one that ends in the symptom
//! (a violated `always` property anywhere on the path, or a violated `at_end` property in its
//! terminal state), once every log entry has been matched.
//!
//! A step whose event (the model's `log_event`) matches some log entry is *observable*: it may
//! only be taken when it matches the next expected entry, which the monitor then advances past.
//! Steps whose events the log never shows are free (the log is an excerpt). A log entry that no
//! reachable step of the model can produce rules the model out (it is reported as the entry that
//! could not be matched). API calls (`api:*`) constrain only models that produce API events.

use models::scenario::{log_matches, LogEvent};
use sim::{fingerprint, Model, PropertyKind};
use std::collections::{BTreeSet, HashSet, VecDeque};

/// What the product search found for one model.
pub struct Found<M: Model> {
    /// The shortest matching path and the property it violates.
    pub matched: Option<(sim::Path<M>, String)>,
    /// Indices (into the given events) of the entries no step of the model produces.
    pub unmodelled: Vec<usize>,
    /// The most log entries (among the modelled ones) any explored path matched.
    pub longest: usize,
    /// The modelled entries, as indices into the given events.
    pub modelled: Vec<usize>,
    /// A bound stopped the search.
    pub cut: bool,
}

struct Node<A> {
    parent: usize,
    action: Option<A>,
}

/// Every event the model's reachable steps produce (up to `max_states` states).
fn producible<M: Model>(
    model: &M,
    event: &impl Fn(&M::State, &M::Action) -> Option<LogEvent>,
    max_states: u64,
) -> BTreeSet<LogEvent> {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<M::State> = model.init_states().into();
    let mut out = BTreeSet::new();
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(fingerprint(&s)) || seen.len() as u64 > max_states {
            continue;
        }
        actions.clear();
        model.actions(&s, &mut actions);
        for a in &actions {
            if let Some(e) = event(&s, a) {
                out.insert(e);
            }
            queue.push_back(model.next_state(&s, a));
        }
    }
    out
}

/// Searches `model` constrained by the log `events`.
pub fn search<M: Model>(
    model: &M,
    events: &[String],
    event: impl Fn(&M::State, &M::Action) -> Option<LogEvent>,
    max_states: u64,
) -> Found<M> {
    let can = producible(model, &event, max_states);
    // API calls constrain only models that model API entries.
    let api = can.iter().any(|e| e.starts_with("api:"));
    let (modelled, unmodelled): (Vec<usize>, Vec<usize>) = (0..events.len())
        .filter(|&i| api || !events[i].starts_with("api:"))
        .partition(|&i| can.iter().any(|e| log_matches(e, &events[i])));
    let wanted: Vec<&str> = modelled.iter().map(|&i| events[i].as_str()).collect();
    let observable = |e: &str| wanted.iter().any(|w| log_matches(e, w));
    let props = model.properties();
    let always: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].kind == PropertyKind::Always)
        .collect();
    let at_end: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].kind == PropertyKind::AtEnd)
        .collect();

    let mut nodes: Vec<Node<M::Action>> = Vec::new();
    let mut seen: HashSet<(u64, usize, Option<usize>)> = HashSet::new();
    let mut queue = VecDeque::new();
    for (init, s) in model.init_states().into_iter().enumerate() {
        let bad = always.iter().copied().find(|&p| !props[p].holds(model, &s));
        if seen.insert((fingerprint(&s), 0, bad)) {
            nodes.push(Node {
                parent: usize::MAX - init,
                action: None,
            });
            queue.push_back((nodes.len() - 1, s, 0usize, bad));
        }
    }
    let mut found = Found {
        matched: None,
        unmodelled,
        longest: 0,
        modelled,
        cut: false,
    };
    if !found.unmodelled.is_empty() {
        return found;
    }
    let mut actions = Vec::new();
    while let Some((id, s, pos, bad)) = queue.pop_front() {
        found.longest = found.longest.max(pos);
        actions.clear();
        model.actions(&s, &mut actions);
        if pos == wanted.len() {
            let end = if actions.is_empty() {
                at_end.iter().copied().find(|&p| !props[p].holds(model, &s))
            } else {
                None
            };
            if let Some(p) = bad.or(end) {
                found.matched = Some((path(&nodes, id), props[p].name.clone()));
                return found;
            }
        }
        for a in &actions {
            let next_pos = match event(&s, a) {
                Some(e) if observable(e) => {
                    if pos < wanted.len() && log_matches(e, wanted[pos]) {
                        pos + 1
                    } else {
                        continue;
                    }
                }
                _ => pos,
            };
            let next = model.next_state(&s, a);
            let next_bad = always
                .iter()
                .copied()
                .find(|&p| !props[p].holds(model, &next));
            if !seen.insert((fingerprint(&next), next_pos, next_bad)) {
                continue;
            }
            if seen.len() as u64 > max_states {
                found.cut = true;
                return found;
            }
            nodes.push(Node {
                parent: id,
                action: Some(a.clone()),
            });
            queue.push_back((nodes.len() - 1, next, next_pos, next_bad));
        }
    }
    found
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
