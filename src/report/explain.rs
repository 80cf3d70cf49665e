//! `vmrace explain`: a short plain-English account of a witness, built from the diffs of the
//! fields that matter (see `analysis`): who last changed a raced-on field before the decisive
//! step, what had already happened to the fields the property reads, and what the decisive step
//! (the last step that changed a field the property or observations read) then did.

use super::analysis::{leaf, Highlight};
use super::svg::upstream_name;
use super::{brief, Witness};
use serde::Serialize;
use sim::TraceStep;

/// The explanation, sentence by sentence.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Explanation {
    /// The sentences.
    pub sentences: Vec<String>,
    /// 0-based decisive step, if any.
    pub decisive_step: Option<usize>,
    /// The raced-on field that decided it, if any.
    pub decisive_field: Option<String>,
}

impl Explanation {
    /// The sentences as one paragraph.
    pub fn text(&self) -> String {
        self.sentences.join(" ")
    }
}

fn who(step: &TraceStep) -> String {
    format!("{} ({})", step.actor, upstream_name(step))
}

fn change_text(step: &TraceStep, k: usize) -> String {
    let c = &step.changes[k];
    format!(
        "{} {} → {}",
        leaf(&c.path),
        brief(&c.before),
        brief(&c.after)
    )
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Explains a witness.
pub fn explain(w: &Witness) -> Explanation {
    let steps = &w.trace.steps;
    let a = &w.analysis;
    let mut sentences = Vec::new();
    if steps.is_empty() {
        sentences.push(format!(
            "The initial state already shows it: {} {}.",
            w.meta.verdict, w.meta.what
        ));
        return Explanation {
            sentences,
            decisive_step: None,
            decisive_field: None,
        };
    }
    let of =
        |why: &str| -> Vec<&Highlight> { a.highlights.iter().filter(|h| h.why == why).collect() };
    let prop = of("property");
    let race = of("race");
    let decisive = prop.last().map(|h| h.step).unwrap_or(steps.len() - 1);
    let d = &steps[decisive];
    // The last raced-on change before the decisive step, by another actor. A change from null
    // takes a free slot (a job, a lock) and conflicts with no value, so a change of an existing
    // value is preferred.
    let before_decisive = |h: &&&Highlight| h.step < decisive && steps[h.step].actor != d.actor;
    let overwrites = |h: &&&Highlight| !steps[h.step].changes[h.change].before.is_null();
    let raced = race
        .iter()
        .rev()
        .find(|h| before_decisive(h) && overwrites(h))
        .or_else(|| race.iter().rev().find(before_decisive))
        .or_else(|| race.iter().rev().find(|h| h.step <= decisive));
    let mut field = None;
    if let Some(h) = raced {
        let s = &steps[h.step];
        let c = &s.changes[h.change];
        field = Some(c.path.clone());
        let earlier = prop.iter().rev().find(|p| {
            p.step < h.step
                && super::analysis::role(&steps[p.step].actor) != super::analysis::role(&s.actor)
        });
        let after = match earlier {
            Some(p) => format!(
                ", after {} had already run “{}” (step {}: {})",
                steps[p.step].actor,
                steps[p.step].label,
                p.step + 1,
                change_text(&steps[p.step], p.change)
            ),
            None => String::new(),
        };
        sentences.push(format!(
            "At step {}, {} changed {}{after}.",
            h.step + 1,
            who(s),
            change_text(s, h.change)
        ));
        let effects: Vec<String> = a
            .highlights
            .iter()
            .filter(|p| p.step == decisive)
            .map(|p| change_text(d, p.change))
            .collect();
        let did = if effects.is_empty() {
            let all: Vec<String> = (0..d.changes.len()).map(|k| change_text(d, k)).collect();
            if all.is_empty() {
                "changed nothing".to_string()
            } else {
                format!("changed {}", list(&all))
            }
        } else {
            format!("changed {}", list(&effects))
        };
        if h.step < decisive {
            sentences.push(format!(
                "When {} ran at step {}, {} was {}, and it {did}.",
                who(d),
                decisive + 1,
                leaf(&c.path),
                brief(&c.after)
            ));
        } else {
            sentences.push(format!("In the same step it {did}."));
        }
    } else {
        let recent: Vec<&&Highlight> = prop.iter().rev().take(4).collect();
        for p in recent.into_iter().rev() {
            sentences.push(format!(
                "At step {}, {} changed {}.",
                p.step + 1,
                who(&steps[p.step]),
                change_text(&steps[p.step], p.change)
            ));
        }
        if sentences.is_empty() {
            sentences.push(format!(
                "After {} steps the run ends with {} last running “{}”.",
                steps.len(),
                d.actor,
                d.label
            ));
        }
    }
    let end = match w.meta.verdict.as_str() {
        "violated" => match &w.meta.means {
            Some(m) => format!("So “{}” is violated: {m}", w.meta.what),
            None => format!("So “{}” is violated.", w.meta.what),
        },
        "outcome" => format!("The run ends with {}.", w.meta.what),
        _ => String::new(),
    };
    if !end.is_empty() {
        sentences.push(end);
    }
    Explanation {
        sentences,
        decisive_step: Some(decisive),
        decisive_field: field,
    }
}
