//! What a report derives from a trace: lifelines, messages, highlighted changes and folds.
//!
//! The rules are generic (they read only the trace's state diffs and actor names):
//!
//! - **Lifelines**: one per actor that takes a step, ordered by role (API threads, event thread,
//!   worker, reboot thread, QEMU, guest, agent, supervisor, others), then by name; then one per
//!   shared resource a step touches (see [`RESOURCES`]: `taps` → `kernel`, `ovs_ports` → `ovs`).
//! - **Messages** (the producer/consumer rule): a step by X that *sends* on a state path P —
//!   appends to a list, sets a null field, or raises a `false` flag — and the first later step
//!   by another actor Y that changes P (or a path inside/around it) other than by sending on P
//!   too (a third party appending to the same queue is not its reader) is its receipt: an arrow
//!   X → Y from the sending step to the receiving step. Peers of the same role (two API
//!   threads) racing on a field do not message each other. A change to a shared resource is an
//!   arrow from the actor to the resource's lifeline, received in the same step.
//! - **Highlights** (the state change that matters): a change whose field name is named by the
//!   violated property's expression or by the scenario's observations (`A.killed` → `*.killed`,
//!   ignoring case, `_` and `-`), or a change to a field that two actors of the same role both
//!   change in the trace (a write–write race between peers, e.g. `fake_reboot` set by `api-1`
//!   and cleared by `api-2`).
//! - **Folds**: runs of four or more consecutive steps that have no highlighted change (never the
//!   first or last step) are collapsed into an expandable "… N steps" group.

use serde::Serialize;
use serde_json::Value;
use sim::Trace;

/// Shared resources drawn as their own lifeline: top-level state field → lifeline name.
pub const RESOURCES: &[(&str, &str)] = &[
    ("taps", "kernel"),
    ("next_id", "kernel"),
    ("ovs_ports", "ovs"),
    ("host_links", "kernel"),
    ("namespace", "kernel"),
];

/// Actor roles in diagram order (a prefix of the actor's name, before its instance suffix).
const ROLE_ORDER: &[&str] = &[
    "api",
    "mgmt",
    "event",
    "qemu-event",
    "worker",
    "reboot",
    "qemu",
    "guest",
    "agent",
    "supervisor",
];

/// Everything a renderer needs beyond the trace itself.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Analysis {
    /// Lifelines, left to right.
    pub lifelines: Vec<Lifeline>,
    /// Messages between lifelines.
    pub messages: Vec<Message>,
    /// Highlighted changes.
    pub highlights: Vec<Highlight>,
    /// The fields the highlights are about (paths of race fields and property/observation fields).
    pub decisive: Vec<String>,
    /// 0-based index of the step after which the property was found broken (or the outcome
    /// reached): the last step.
    pub break_step: Option<usize>,
    /// Collapsed runs of uninteresting steps.
    pub folds: Vec<Fold>,
}

/// One lifeline.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Lifeline {
    /// Actor or resource name.
    pub name: String,
    /// `actor` or `resource`.
    pub kind: String,
}

/// One message (an arrow).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Message {
    /// Sending lifeline.
    pub from: String,
    /// Receiving lifeline.
    pub to: String,
    /// 0-based step that sent it.
    pub sent: usize,
    /// 0-based step that received it.
    pub received: usize,
    /// The state path it travelled on.
    pub via: String,
    /// Short label (the queued item, or the field).
    pub label: String,
}

/// One highlighted change.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Highlight {
    /// 0-based step.
    pub step: usize,
    /// Index into the step's `changes`.
    pub change: usize,
    /// `property` (a field the property or observations name) or `race` (peers both write it).
    pub why: String,
}

/// A collapsed run of steps, `first..=last` (0-based).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Fold {
    /// First step in the run.
    pub first: usize,
    /// Last step in the run.
    pub last: usize,
}

/// An actor's role: its name without an instance suffix (`api-2` → `api`, `qemu-A` → `qemu`;
/// a suffix is an instance when it is all digits or at most two characters).
pub fn role(actor: &str) -> &str {
    match actor.rsplit_once('-') {
        Some((head, tail))
            if !tail.is_empty()
                && (tail.chars().all(|c| c.is_ascii_digit()) || tail.chars().count() <= 2) =>
        {
            head
        }
        _ => actor,
    }
}

fn role_rank(actor: &str) -> usize {
    let r = role(actor);
    ROLE_ORDER
        .iter()
        .position(|p| *p == r)
        .or_else(|| ROLE_ORDER.iter().position(|p| r.starts_with(p)))
        .unwrap_or(ROLE_ORDER.len())
}

/// Normalises a field or observation name for matching: lower case, no `_` or `-`.
pub fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The last segment of a state path, without indices: `domains[0].libvirt.fake_reboot` →
/// `fake_reboot`.
pub fn leaf(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

/// Field names an expression or observation mentions: the last segment of each name, dotted
/// (`A.killed`) or bare (a language model's `active`), outside quoted strings; numbers and
/// `true`/`false`/`null` are not names.
pub fn mentioned(texts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for text in texts {
        let mut word = String::new();
        let mut quoted = false;
        for c in text.chars().chain(std::iter::once(' ')) {
            if !quoted && (c.is_alphanumeric() || c == '_' || c == '.' || c == '-') {
                word.push(c);
                continue;
            }
            let last = word.rsplit('.').next().unwrap_or("");
            let name = last.starts_with(|f: char| f.is_alphabetic() || f == '_')
                && !matches!(last, "true" | "false" | "null");
            let n = norm(last);
            if name && !n.is_empty() && !out.contains(&n) {
                out.push(n);
            }
            word.clear();
            if c == '"' {
                quoted = !quoted;
            }
        }
    }
    out
}

/// Whether two state paths overlap: equal, or one is inside the other.
pub fn overlaps(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| {
        x.len() > y.len() && x.starts_with(y) && matches!(x.as_bytes()[y.len()], b'.' | b'[')
    };
    a == b || inside(a, b) || inside(b, a)
}

fn resource_of(path: &str) -> Option<&'static str> {
    let top = path.split(['.', '[']).next().unwrap_or(path);
    RESOURCES.iter().find(|(k, _)| *k == top).map(|(_, r)| *r)
}

/// A short name for a queued item: a string itself, a list's first item, an object's first key.
fn item_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.first().map(item_name).unwrap_or_default(),
        Value::Object(o) => o.keys().next().cloned().unwrap_or_default(),
        other => other.to_string(),
    }
}

/// If a change sends something, its label.
fn sent(path: &str, before: &Value, after: &Value) -> Option<String> {
    match (before, after) {
        (Value::Array(b), Value::Array(a)) if a.len() > b.len() => {
            let new = if a.starts_with(b) {
                &a[b.len()..]
            } else {
                &a[..]
            };
            Some(new.iter().map(item_name).collect::<Vec<_>>().join(", "))
        }
        (Value::Null, Value::Array(a)) if !a.is_empty() => {
            Some(a.iter().map(item_name).collect::<Vec<_>>().join(", "))
        }
        (Value::Null, v) if !v.is_null() => Some(format!("{}: {}", leaf(path), item_name(v))),
        (Value::Bool(false), Value::Bool(true)) => Some(leaf(path).to_string()),
        _ => None,
    }
}

/// Derives the report's view of `trace`; `names` are the property expressions and observations
/// whose fields matter.
pub fn analyse(trace: &Trace, names: &[String]) -> Analysis {
    let steps = &trace.steps;
    // Lifelines.
    let mut actors: Vec<&str> = Vec::new();
    for s in steps {
        if !actors.contains(&s.actor.as_str()) {
            actors.push(&s.actor);
        }
    }
    actors.sort_by(|a, b| role_rank(a).cmp(&role_rank(b)).then(a.cmp(b)));
    let mut lifelines: Vec<Lifeline> = actors
        .iter()
        .map(|a| Lifeline {
            name: a.to_string(),
            kind: "actor".into(),
        })
        .collect();
    let mut resources: Vec<&str> = Vec::new();
    for (_, r) in RESOURCES {
        let used = steps
            .iter()
            .any(|s| s.changes.iter().any(|c| resource_of(&c.path) == Some(*r)));
        if used && !resources.contains(r) {
            resources.push(r);
        }
    }
    lifelines.extend(resources.iter().map(|r| Lifeline {
        name: r.to_string(),
        kind: "resource".into(),
    }));

    // Messages.
    let mut messages: Vec<Message> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        for c in &s.changes {
            if let Some(r) = resource_of(&c.path) {
                if !messages
                    .iter()
                    .any(|m| m.sent == i && m.to == r && m.from == s.actor)
                {
                    messages.push(Message {
                        from: s.actor.clone(),
                        to: r.to_string(),
                        sent: i,
                        received: i,
                        via: c.path.clone(),
                        label: s.label.clone(),
                    });
                }
                continue;
            }
            let Some(label) = sent(&c.path, &c.before, &c.after) else {
                continue;
            };
            let next = steps.iter().enumerate().skip(i + 1).find(|(_, t)| {
                t.changes.iter().any(|d| overlaps(&d.path, &c.path))
                    && !(t.actor != s.actor
                        && t.changes.iter().any(|d| {
                            d.path == c.path && sent(&d.path, &d.before, &d.after).is_some()
                        }))
            });
            let Some((j, t)) = next else { continue };
            if t.actor == s.actor || role(&t.actor) == role(&s.actor) {
                continue;
            }
            if messages
                .iter()
                .any(|m| m.sent == i && m.received == j && m.to == t.actor)
            {
                continue;
            }
            messages.push(Message {
                from: s.actor.clone(),
                to: t.actor.clone(),
                sent: i,
                received: j,
                via: c.path.clone(),
                label,
            });
        }
    }

    // Highlights: fields the property/observations name, and fields peers race on.
    let wanted = mentioned(names);
    let mut race_paths: Vec<String> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        for c in &s.changes {
            let peer = steps.iter().enumerate().any(|(j, t)| {
                j != i
                    && t.actor != s.actor
                    && role(&t.actor) == role(&s.actor)
                    && t.changes.iter().any(|d| overlaps(&d.path, &c.path))
            });
            if peer && !race_paths.contains(&c.path) {
                race_paths.push(c.path.clone());
            }
        }
    }
    let mut highlights = Vec::new();
    let mut decisive: Vec<String> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        for (k, c) in s.changes.iter().enumerate() {
            let why = if wanted.contains(&norm(leaf(&c.path))) {
                "property"
            } else if race_paths.contains(&c.path) {
                "race"
            } else {
                continue;
            };
            if !decisive.contains(&c.path) {
                decisive.push(c.path.clone());
            }
            highlights.push(Highlight {
                step: i,
                change: k,
                why: why.into(),
            });
        }
    }

    // Folds.
    let interesting =
        |i: usize| i == 0 || i + 1 == steps.len() || highlights.iter().any(|h| h.step == i);
    let mut folds = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        if interesting(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < steps.len() && !interesting(i) {
            i += 1;
        }
        if i - start >= 4 {
            folds.push(Fold {
                first: start,
                last: i - 1,
            });
        }
    }
    Analysis {
        lifelines,
        messages,
        highlights,
        decisive,
        break_step: steps.len().checked_sub(1),
        folds,
    }
}

/// Whether change `k` of step `i` is highlighted.
pub fn is_highlighted(a: &Analysis, i: usize, k: usize) -> bool {
    a.highlights.iter().any(|h| h.step == i && h.change == k)
}

/// The fold containing step `i`, if any.
pub fn fold_of(a: &Analysis, i: usize) -> Option<usize> {
    a.folds.iter().position(|f| f.first <= i && i <= f.last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_strip_instance_suffixes() {
        assert_eq!(role("api-2"), "api");
        assert_eq!(role("qemu-A"), "qemu");
        assert_eq!(role("qemu-event"), "qemu-event");
        assert_eq!(role("supervisor"), "supervisor");
    }

    #[test]
    fn mentioned_names_are_last_segments() {
        let got = mentioned(&[
            "!A.killed && B.fake_reboot == \"x\"".into(),
            "A.result".into(),
        ]);
        assert_eq!(got, vec!["killed", "fakereboot", "result"]);
        let bare = mentioned(&["stopped_under_job == false && refs < 2".into()]);
        assert_eq!(bare, vec!["stoppedunderjob", "refs"]);
    }

    #[test]
    fn overlapping_paths() {
        assert!(overlaps("worker", "worker[0].x"));
        assert!(overlaps("a.b", "a.b"));
        assert!(!overlaps("a.bc", "a.b"));
    }
}
