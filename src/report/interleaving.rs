//! The interleaving behind each outcome, in a few key steps derived from the outcomes'
//! shortest witness traces. The rule is generic (it reads only the traces' actors, labels,
//! upstream names and state diffs, and the step that decides each outcome); it contrasts a set
//! of witnesses (a run's outcomes, or every outcome of a table row):
//!
//! - A step's **identity** is its actor, its label and how many steps of that actor and label
//!   came before it in its witness; its **footprint** is every state path a step of that identity
//!   writes in any of the witnesses, leaving out queues (list-valued fields: a channel's sends
//!   and receives order messages, they do not contest a value).
//! - Two identities of different actors form an **order-dependent pair** when both occur in two
//!   witnesses, in one order in one and in the other order in the other, and their footprints
//!   overlap (one writes what the other writes elsewhere: e.g. `api-2` clearing `fake_reboot`
//!   before or after the SHUTDOWN handler that reads it). The overlapping paths are the
//!   **contested fields**.
//! - A **divergent step**: an identity that occurs in two witnesses but writes a value in one
//!   that it leaves alone in the other (it took another branch, e.g. an agent call that fails
//!   before clearing a flag). Only values count, not queues and not changes from or to null
//!   (taking or freeing a job or a lock), and only fields another actor writes too; those
//!   fields are contested as well.
//! - The **deciding step** of a witness: the last step after which the observed values change
//!   (computed when the run is searched, see [`crate::scenario::run::Seen::decided`]).
//! - A witness's **key steps**, in trace order: the steps of an order-dependent pair, divergent
//!   steps, the steps
//!   that write a contested field, and its deciding step. Each is shown with its actor, label and
//!   upstream name, its changes to contested fields (or that it changes none), and the outcome
//!   it decides.
//!
//! So the outcomes of one row list the same steps in their different orders.

use super::analysis::overlaps;
use super::short;
use crate::scenario::run::Run;
use serde::Serialize;
use sim::{Change, Trace};
use std::fmt::Write;

/// One key step of an interleaving.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KeyStep {
    /// 0-based index of the step in the witness trace.
    pub step: usize,
    /// The actor that takes it.
    pub actor: String,
    /// The step's label.
    pub label: String,
    /// The upstream function it models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Its changes to contested fields.
    pub changes: Vec<Change>,
    /// Whether it decides the outcome (the observed values last change here).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub decides: bool,
}

/// The key steps of one outcome's witness.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Interleaving {
    /// The outcome (e.g. `A.result=SHUTDOWN`).
    pub outcome: String,
    /// The contested fields the steps are told in terms of.
    pub fields: Vec<String>,
    /// Key steps, in trace order.
    pub steps: Vec<KeyStep>,
}

/// One outcome witness, as [`derive`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct OutcomeWitness<'a> {
    /// Outcome name.
    pub outcome: &'a str,
    /// Its shortest witness.
    pub trace: &'a Trace,
    /// The step that decides it.
    pub decided: Option<usize>,
}

/// A step's identity: actor, label, and the number of earlier steps with both.
type Identity<'a> = (&'a str, &'a str, usize);

fn identities(trace: &Trace) -> Vec<Identity<'_>> {
    let mut out: Vec<Identity> = Vec::with_capacity(trace.steps.len());
    for s in &trace.steps {
        let n = out
            .iter()
            .filter(|(a, l, _)| *a == s.actor && *l == s.label)
            .count();
        out.push((&s.actor, &s.label, n));
    }
    out
}

/// Whether two or more actors write `path` in `traces`.
fn shared_by_actors(traces: &[&Trace], path: &str) -> bool {
    let mut first: Option<&str> = None;
    for t in traces {
        for s in &t.steps {
            if s.changes.iter().any(|c| c.path == path) {
                match first {
                    None => first = Some(&s.actor),
                    Some(a) if a != s.actor => return true,
                    Some(_) => {}
                }
            }
        }
    }
    false
}

/// The order-dependent identities and the contested fields of `witnesses`.
fn contest<'a>(traces: &[&'a Trace]) -> (Vec<Identity<'a>>, Vec<String>) {
    let ids: Vec<Vec<Identity>> = traces.iter().map(|t| identities(t)).collect();
    let mut footprints: Vec<(Identity, Vec<&str>)> = Vec::new();
    for (t, ids) in traces.iter().zip(&ids) {
        for (s, id) in t.steps.iter().zip(ids) {
            let k = match footprints.iter().position(|(i, _)| i == id) {
                Some(k) => k,
                None => {
                    footprints.push((*id, Vec::new()));
                    footprints.len() - 1
                }
            };
            // A queue (a list-valued field) carries messages between actors; the order of its
            // sends and receives is the messages' order, not a contest over one value.
            let queue = |c: &&Change| c.before.is_array() || c.after.is_array();
            for c in s.changes.iter().filter(|c| !queue(c)) {
                if !footprints[k].1.contains(&c.path.as_str()) {
                    footprints[k].1.push(&c.path);
                }
            }
        }
    }
    let footprint = |id: &Identity| -> &[&str] {
        footprints
            .iter()
            .find(|(i, _)| i == id)
            .map_or(&[], |(_, f)| f.as_slice())
    };
    let mut keys: Vec<Identity> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    for (x, xs) in ids.iter().enumerate() {
        for ys in &ids[x + 1..] {
            let pos = |list: &[Identity], id: &Identity| list.iter().position(|i| i == id);
            for (i, a) in xs.iter().enumerate() {
                for b in &xs[i + 1..] {
                    if a.0 == b.0 {
                        continue;
                    }
                    let (Some(ya), Some(yb)) = (pos(ys, a), pos(ys, b)) else {
                        continue;
                    };
                    if ya < yb {
                        continue;
                    }
                    let mut shared = Vec::new();
                    for p in footprint(a) {
                        for q in footprint(b) {
                            if overlaps(p, q) {
                                let f = if p.len() <= q.len() { p } else { q };
                                shared.push(f.to_string());
                            }
                        }
                    }
                    if shared.is_empty() {
                        continue;
                    }
                    for id in [a, b] {
                        if !keys.contains(id) {
                            keys.push(*id);
                        }
                    }
                    for f in shared {
                        if !fields.contains(&f) {
                            fields.push(f);
                        }
                    }
                }
            }
        }
    }
    // A step that writes different fields in two witnesses did something else in each (e.g.
    // an agent call that clears fake_reboot in one and fails before it in the other): it is
    // a key step, and the fields it writes in only one of them are contested.
    for (x, xs) in ids.iter().enumerate() {
        for (y, ys) in ids.iter().enumerate().skip(x + 1) {
            for (i, id) in xs.iter().enumerate() {
                let Some(j) = ys.iter().position(|o| o == id) else {
                    continue;
                };
                // Values, not queues and not slots (a change from or to null takes or frees a
                // job or a lock), of fields another actor writes too.
                let written = |t: &Trace, k: usize| -> Vec<String> {
                    t.steps[k]
                        .changes
                        .iter()
                        .filter(|c| !c.before.is_array() && !c.after.is_array())
                        .filter(|c| !c.before.is_null() && !c.after.is_null())
                        .filter(|c| shared_by_actors(traces, &c.path))
                        .map(|c| c.path.clone())
                        .collect()
                };
                let (a, b) = (written(traces[x], i), written(traces[y], j));
                let only: Vec<&String> = a
                    .iter()
                    .filter(|p| !b.contains(p))
                    .chain(b.iter().filter(|p| !a.contains(p)))
                    .collect();
                if only.is_empty() {
                    continue;
                }
                if !keys.contains(id) {
                    keys.push(*id);
                }
                for f in only {
                    if !fields.contains(f) {
                        fields.push(f.clone());
                    }
                }
            }
        }
    }
    fields.sort();
    (keys, fields)
}

/// The interleaving of each of `describe`, contrasted with every witness of `contrast` (see the
/// module docs for the rule); `describe` is usually part of `contrast`.
pub fn derive(contrast: &[OutcomeWitness], describe: &[OutcomeWitness]) -> Vec<Interleaving> {
    let traces: Vec<&Trace> = contrast.iter().map(|w| w.trace).collect();
    let (keys, fields) = contest(&traces);
    let contested = |c: &Change| fields.iter().any(|f| overlaps(f, &c.path));
    describe
        .iter()
        .map(|w| {
            let ids = identities(w.trace);
            let steps = w
                .trace
                .steps
                .iter()
                .zip(&ids)
                .enumerate()
                .filter_map(|(i, (s, id))| {
                    let changes: Vec<Change> =
                        s.changes.iter().filter(|c| contested(c)).cloned().collect();
                    let decides = w.decided == Some(i);
                    (decides || !changes.is_empty() || keys.contains(id)).then(|| KeyStep {
                        step: i,
                        actor: s.actor.clone(),
                        label: s.label.clone(),
                        upstream: s.upstream.clone(),
                        changes,
                        decides,
                    })
                })
                .collect();
            Interleaving {
                outcome: w.outcome.to_string(),
                fields: fields.clone(),
                steps,
            }
        })
        .collect()
}

/// A run's outcome witnesses, as [`derive`] reads them.
pub fn witnesses_of(run: &Run) -> Vec<OutcomeWitness<'_>> {
    run.outcomes
        .iter()
        .map(|o| OutcomeWitness {
            outcome: &o.name,
            trace: &o.trace,
            decided: o.decided,
        })
        .collect()
}

/// The interleaving of each outcome a run found, contrasted with each other, in the run's
/// outcome order.
pub fn of_run(run: &Run) -> Vec<Interleaving> {
    let w = witnesses_of(run);
    derive(&w, &w)
}

impl KeyStep {
    /// `api-2: agent: set fakeReboot [qemuDomainRebootAgent] — domains[0].fake_reboot: true →
    /// false`, and `⇒ outcome` when it decides `outcome` (step numbers are 1-based, as stories
    /// print them).
    pub fn text(&self, outcome: &str, fields: &[String]) -> String {
        let mut s = format!("step {}, {}: {}", self.step + 1, self.actor, self.label);
        if let Some(up) = &self.upstream {
            let _ = write!(s, " [{up}]");
        }
        if !self.changes.is_empty() {
            let changes: Vec<String> = self
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.path, short(&c.before), short(&c.after)))
                .collect();
            let _ = write!(s, " — {}", changes.join(", "));
        } else if !fields.is_empty() {
            let _ = write!(s, " — leaves {} as is", fields.join(", "));
        }
        if self.decides {
            let _ = write!(s, " ⇒ {outcome}");
        }
        s
    }
}

impl Interleaving {
    /// Each key step as a line of text ([`KeyStep::text`]).
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|k| k.text(&self.outcome, &self.fields))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use sim::TraceStep;

    fn step(actor: &str, label: &str, changes: &[(&str, Value, Value)]) -> TraceStep {
        TraceStep {
            actor: actor.into(),
            label: label.into(),
            upstream: Some(format!("fn_{}", label.replace(' ', "_"))),
            action: Value::Null,
            changes: changes
                .iter()
                .map(|(p, b, a)| Change {
                    path: p.to_string(),
                    before: b.clone(),
                    after: a.clone(),
                })
                .collect(),
            fingerprint: String::new(),
        }
    }

    fn trace(steps: Vec<TraceStep>) -> Trace {
        Trace {
            format: "vmrace-trace".into(),
            format_version: 1,
            model: "m".into(),
            model_version: 1,
            context: Default::default(),
            property: None,
            witness: None,
            init: 0,
            init_fingerprint: String::new(),
            lasso_start: None,
            init_state: Value::Null,
            steps,
        }
    }

    fn early_and_late() -> (Trace, Trace) {
        let set = || step("api-1", "set", &[("d.flag", json!(false), json!(true))]);
        let noise = || step("qemu", "tick", &[("q", json!(0), json!(1))]);
        let early = trace(vec![
            set(),
            noise(),
            step("api-2", "clear", &[("d.flag", json!(true), json!(false))]),
            step(
                "event",
                "shutdown",
                &[("d.killed", json!(false), json!(true))],
            ),
            step("event", "shutdown", &[("d.queue", json!([1]), json!([]))]),
        ]);
        let late = trace(vec![
            set(),
            step(
                "event",
                "shutdown",
                &[("d.flag", json!(true), json!(false))],
            ),
            noise(),
            step("api-2", "clear", &[("t1", json!(0), json!(1))]),
            step("guest", "boot", &[("d.boots", json!(0), json!(1))]),
        ]);
        (early, late)
    }

    fn witness<'a>(outcome: &'a str, trace: &'a Trace, decided: usize) -> OutcomeWitness<'a> {
        OutcomeWitness {
            outcome,
            trace,
            decided: Some(decided),
        }
    }

    /// Two callers write `flag`; an event reads it. In one witness the second caller clears the
    /// flag before the event, in the other after it: both list the caller and the event, in
    /// their own order; the independent `tick` that also swaps places is left out.
    #[test]
    fn both_outcomes_list_the_same_key_steps_in_their_own_order() {
        let (early, late) = early_and_late();
        let w = [
            witness("r=SHUTDOWN", &early, 3),
            witness("r=REBOOT", &late, 4),
        ];
        let got = derive(&w, &w);
        assert_eq!(got[0].fields, vec!["d.flag"]);
        assert_eq!(
            got[0].lines(),
            vec![
                "step 1, api-1: set [fn_set] — d.flag: false → true",
                "step 3, api-2: clear [fn_clear] — d.flag: true → false",
                "step 4, event: shutdown [fn_shutdown] — leaves d.flag as is ⇒ r=SHUTDOWN",
            ]
        );
        assert_eq!(
            got[1].lines(),
            vec![
                "step 1, api-1: set [fn_set] — d.flag: false → true",
                "step 2, event: shutdown [fn_shutdown] — d.flag: true → false",
                "step 4, api-2: clear [fn_clear] — leaves d.flag as is",
                "step 5, guest: boot [fn_boot] — leaves d.flag as is ⇒ r=REBOOT",
            ]
        );
    }

    /// The same call clears a flag another actor set in one witness and fails before it in
    /// the other, with no order swapped: it is a key step of both, the flag is contested, and
    /// its own bookkeeping (a field only it writes, a job it takes from null) is not.
    #[test]
    fn a_step_that_takes_another_branch_is_a_key_step() {
        let set = || step("api-1", "set", &[("d.flag", json!(false), json!(true))]);
        let done = || step("guest", "halt", &[("g", json!(0), json!(1))]);
        let clears = trace(vec![
            set(),
            step(
                "api-2",
                "agent",
                &[
                    ("d.flag", json!(true), json!(false)),
                    ("d.job", json!(null), json!(6)),
                    ("t2", json!(0), json!(1)),
                ],
            ),
            done(),
        ]);
        let fails = trace(vec![
            set(),
            step("api-2", "agent", &[("t2", json!(0), json!(2))]),
            step("reboot", "job", &[("d.job", json!(null), json!(3))]),
            done(),
        ]);
        let w = [
            witness("r=SHUTDOWN", &clears, 2),
            witness("r=REBOOT", &fails, 3),
        ];
        let got = derive(&w, &w);
        assert_eq!(got[0].fields, vec!["d.flag"]);
        assert_eq!(
            got[1].lines(),
            vec![
                "step 1, api-1: set [fn_set] — d.flag: false → true",
                "step 2, api-2: agent [fn_agent] — leaves d.flag as is",
                "step 4, guest: halt [fn_halt] — leaves d.flag as is ⇒ r=REBOOT",
            ]
        );
    }

    #[test]
    fn a_lone_witness_shows_only_its_deciding_step() {
        let (_, late) = early_and_late();
        let w = [witness("r=REBOOT", &late, 4)];
        let got = derive(&w, &w);
        assert!(got[0].fields.is_empty());
        assert_eq!(
            got[0].lines(),
            vec!["step 5, guest: boot [fn_boot] ⇒ r=REBOOT"]
        );
    }

    /// A single-outcome cell of a table row is told in the terms its row's other cells contrast.
    #[test]
    fn a_lone_witness_is_told_in_the_terms_of_its_contrast() {
        let (early, late) = early_and_late();
        let fixed = late.clone();
        let got = derive(
            &[
                witness("r=SHUTDOWN", &early, 3),
                witness("r=REBOOT", &late, 4),
                witness("r=REBOOT", &fixed, 4),
            ],
            &[witness("r=REBOOT", &fixed, 4)],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].steps.len(), 4);
        assert!(got[0].steps[3].decides);
    }
}
