//! What `vmrace repro` prints: the matches, best first, or why nothing explains the log; and
//! its exit code. All of the command's output is written here.

use super::log::Log;
use super::{Match, Miss, Rule};
use crate::error::{CliError, EXIT_DRIFT, EXIT_INCOMPLETE, EXIT_OK};
use crate::{errln, outln};
use std::path::Path;

/// Everything a run found.
pub struct Report<'a> {
    /// The log file.
    pub path: &'a Path,
    /// The parsed log.
    pub log: &'a Log,
    /// The matches, ranked.
    pub matches: &'a [Match],
    /// The jobs that did not match.
    pub misses: &'a [Miss],
    /// The jobs a bound cut a search of.
    pub cut: &'a [String],
}

/// Whether miss `a` came closer to explaining the log than `b`: every entry modelled, then
/// more entries followed (counting skipped launch entries), then a scenario that states
/// properties, then a violation reached.
pub fn closer(a: &Miss, b: &Miss) -> bool {
    let key = |m: &Miss| {
        (
            m.unmodelled.is_empty(),
            m.skip + m.longest,
            m.followed,
            m.checks,
            m.violated,
        )
    };
    key(a) > key(b)
}

/// Prints the report; returns the exit code: 0 a match, 1 none, 3 none but a search was cut
/// (or the error of a failed write to standard output).
pub fn print(r: &Report, json: bool) -> Result<i32, CliError> {
    if !json {
        outln!("{}", header(r))?;
    }
    for m in r.matches {
        if json {
            outln!("{}", serde_json::to_string(m).expect("JSON"))?;
        } else {
            outln!("{}", match_line(m))?;
        }
    }
    let mut notes = Vec::new();
    if r.matches.is_empty() {
        notes.push(explain_miss(r));
    }
    if !r.cut.is_empty() {
        notes.push(format!(
            "the search of {} was cut by its scenario's search.max_states: an interleaving \
             beyond the bound may explain the log (or more of it)",
            r.cut.join(", ")
        ));
    }
    if !notes.is_empty() {
        errln!("{}", notes.join("\n"));
    }
    Ok(match (r.matches.is_empty(), r.cut.is_empty()) {
        (false, _) => EXIT_OK,
        (true, true) => EXIT_DRIFT,
        (true, false) => EXIT_INCOMPLETE,
    })
}

fn header(r: &Report) -> String {
    format!(
        "{}: {} events, {} lines skipped; symptom: {}",
        r.path.display(),
        r.log.entries.len(),
        r.log.skipped,
        r.log.symptom.as_deref().unwrap_or("(none given)")
    )
}

fn match_line(m: &Match) -> String {
    let fit = match (m.rule, m.condition) {
        (Rule::NamedProperty, _) => "the symptom names it".to_string(),
        (Rule::Condition, Some(c)) => format!(
            "ends where the symptom holds ({})",
            serde_json::to_value(c)
                .expect("JSON")
                .as_str()
                .unwrap_or("")
        ),
        _ => "no symptom condition to check".to_string(),
    };
    let launch = match m.events - m.explained {
        0 => String::new(),
        n => format!(" after {n} launch events"),
    };
    format!(
        "MATCH {} ({} steps): explains {} of {} log events{launch}; violates `{}` ({fit}); trace {}",
        place(m),
        m.steps,
        m.explained,
        m.events,
        m.property,
        m.trace
    )
}

fn place(m: &Match) -> String {
    match &m.case {
        Some(c) => format!("{} [{c}] variant {}", m.scenario, m.variant),
        None => format!("{} variant {}", m.scenario, m.variant),
    }
}

/// Says which log entry could not be matched, and where model and log part ways: for the
/// closest job, and for the closest that states a property when that one does not.
fn explain_miss(r: &Report) -> String {
    let closest = |with_checks: bool| {
        r.misses
            .iter()
            .filter(|m| m.checks || !with_checks)
            .reduce(|b, m| if closer(m, b) { m } else { b })
    };
    let Some(best) = closest(false) else {
        return "no interleaving explains the log: no scenario to try".into();
    };
    let mut out = format!(
        "no interleaving explains the log. Closest: {}",
        describe(r.log, best)
    );
    if let Some(checked) = closest(true).filter(|_| !best.checks) {
        out.push_str(&format!(
            "
closest that states a property: {}",
            describe(r.log, checked)
        ));
    }
    out
}

/// How far `miss` got.
fn describe(log: &Log, miss: &Miss) -> String {
    let entries = &log.entries;
    let entry = |i: usize| {
        let e = &entries[i];
        format!("line {} `{}` ({})", e.line, e.text, e.event)
    };
    let at = miss.skip + miss.longest;
    let mut out = miss.place.clone();
    if !miss.unmodelled.is_empty() {
        let list: Vec<String> = miss.unmodelled.iter().map(|&i| entry(i)).collect();
        out.push_str(&format!(
            ": {} could not be matched (no step of this model produces it); log events this \
             model never produces: {}",
            entry(miss.unmodelled[0]),
            list.join("; ")
        ));
    } else if !miss.followed {
        out.push_str(&format!(
            ": the model follows {} of {} log events, then parts ways: {} could not be matched",
            at,
            entries.len(),
            entry(at)
        ));
        if miss.longest > 0 {
            out.push_str(&format!(" (last matched: {})", entry(at - 1)));
        }
    } else if miss.violated {
        out.push_str(&format!(
            ": the model follows all {} log events and violates a property, but never in a \
             state where the symptom `{}` holds",
            entries.len(),
            log.symptom.as_deref().unwrap_or_default()
        ));
    } else if miss.checks {
        let whole = match log.symptom {
            Some(_) => "",
            None => " (with no `symptom:` line the violation must show by the log's last event)",
        };
        out.push_str(&format!(
            ": the model follows all {} log events, but no interleaving that does violates a \
             property of the scenario{whole}: the log shows behaviour this scenario considers \
             correct",
            entries.len()
        ));
    } else {
        out.push_str(&format!(
            ": the model follows all {} log events, but the scenario states no `always` or \
             `at_end` property to violate",
            entries.len()
        ));
    }
    if miss.skip > 0 {
        out.push_str(&format!(
            " (the first {} counted as launch events before the scenario's initial state)",
            miss.skip
        ));
    }
    out
}
