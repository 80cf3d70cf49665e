//! Outcome tables for matrix scenarios (the optional `table:` section of a scenario lays the
//! cases out in the seed's own columns) and verdict tables (one row per scenario, one column per
//! variant) for scenarios that share their variants, such as seed 004's patch variants.

use super::esc;
use super::markdown::md_esc;
use crate::scenario::run::{Got, Run};
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A scenario's `table:` section.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Separator that splits a case name into the leading columns (e.g. `", "`).
    pub split: String,
    /// Every column heading, left to right: first one per case-name part, then the rest.
    pub columns: Vec<String>,
    /// Which variant fills which column (column heading → variant name).
    pub variants: BTreeMap<String, String>,
    /// The observation whose value an outcome cell shows (e.g. `A.result`); whole outcome
    /// names when absent.
    #[serde(default)]
    pub observation: Option<String>,
    /// The seed's own values per case, one per column after the case-name parts (seed markup
    /// such as `~REBOOT~` or `**SHUTDOWN**` is kept for display and ignored for comparison).
    pub seed: BTreeMap<String, Vec<String>>,
}

/// One cell.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Cell {
    /// Text shown.
    pub text: String,
    /// For model cells with a seed value: whether the seed's value is in the model's set.
    pub agrees: Option<bool>,
}

/// A rendered-ready table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
}

fn plain(seed: &str) -> String {
    seed.replace(['~', '*'], "").trim().to_string()
}

fn value_of(outcome: &str, observation: Option<&str>) -> String {
    match observation {
        Some(obs) => outcome
            .split(", ")
            .find_map(|part| part.strip_prefix(&format!("{obs}=")))
            .unwrap_or(outcome)
            .to_string(),
        None => outcome.to_string(),
    }
}

/// The outcome table of a matrix scenario with a `table:` section, from its runs.
pub fn outcome_table(scenario: &Scenario, runs: &[Run]) -> Result<Option<Table>, String> {
    let Some(spec) = &scenario.file.table else {
        return Ok(None);
    };
    let at = format!("{}: table", scenario.path.display());
    let cases: Vec<String> = match &scenario.file.cases {
        Some(c) => c.0.iter().map(|(n, _)| n.clone()).collect(),
        None => return Err(format!("{at}: a table needs `cases:`")),
    };
    for key in spec.seed.keys() {
        if !cases.contains(key) {
            return Err(format!("{at}.seed: unknown case `{key}`"));
        }
    }
    for (col, variant) in &spec.variants {
        if !spec.columns.contains(col) {
            return Err(format!("{at}.variants: `{col}` is not one of the columns"));
        }
        if !scenario.file.variants.0.iter().any(|(n, _)| n == variant) {
            return Err(format!("{at}.variants.{col}: unknown variant `{variant}`"));
        }
    }
    let mut rows = Vec::new();
    for case in &cases {
        let parts: Vec<&str> = case.split(spec.split.as_str()).collect();
        if parts.len() > spec.columns.len() {
            return Err(format!(
                "{at}: case `{case}` splits into {} parts but there are {} columns",
                parts.len(),
                spec.columns.len()
            ));
        }
        let rest = &spec.columns[parts.len()..];
        let seed = spec.seed.get(case).cloned().unwrap_or_default();
        if !seed.is_empty() && seed.len() != rest.len() {
            return Err(format!(
                "{at}.seed.{case}: expected {} values ({}), found {}",
                rest.len(),
                rest.join(", "),
                seed.len()
            ));
        }
        let mut row: Vec<Cell> = parts
            .iter()
            .map(|p| Cell {
                text: p.to_string(),
                agrees: None,
            })
            .collect();
        for (k, col) in rest.iter().enumerate() {
            let seed_value = seed.get(k);
            let Some(variant) = spec.variants.get(col) else {
                row.push(Cell {
                    text: seed_value.cloned().unwrap_or_default(),
                    agrees: None,
                });
                continue;
            };
            let run = runs
                .iter()
                .find(|r| r.case.as_deref() == Some(case) && &r.variant == variant)
                .ok_or_else(|| format!("{at}: no run of case `{case}` variant `{variant}`"))?;
            let mut values: Vec<String> = match &run.got {
                Got::Outcomes(o) => o
                    .iter()
                    .map(|o| value_of(o, spec.observation.as_deref()))
                    .collect(),
                Got::Verdict(v) => vec![v.clone()],
            };
            values.sort();
            values.dedup();
            let set = values.join(" / ");
            let cell = match seed_value {
                Some(sv) => {
                    let agrees = values.contains(&plain(sv));
                    let mark = if agrees { "✓" } else { "✗" };
                    Cell {
                        text: format!("{set} {mark} (seed: {sv})"),
                        agrees: Some(agrees),
                    }
                }
                None => Cell {
                    text: set,
                    agrees: None,
                },
            };
            row.push(cell);
        }
        rows.push(row);
    }
    Ok(Some(Table {
        columns: spec.columns.clone(),
        rows,
    }))
}

/// Verdict tables: scenarios without cases grouped by identical variant lists (groups of two
/// or more), one row per scenario and one column per variant.
pub fn verdict_tables(all: &[(Scenario, Vec<Run>)]) -> Vec<Table> {
    let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for (i, (s, _)) in all.iter().enumerate() {
        if s.file.cases.is_some() {
            continue;
        }
        let variants: Vec<String> = s.file.variants.0.iter().map(|(n, _)| n.clone()).collect();
        match groups.iter_mut().find(|(v, _)| *v == variants) {
            Some((_, members)) => members.push(i),
            None => groups.push((variants, vec![i])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, m)| m.len() >= 2)
        .map(|(variants, members)| {
            let mut columns = vec!["scenario".to_string()];
            columns.extend(variants.iter().cloned());
            let rows = members
                .iter()
                .map(|&i| {
                    let (s, runs) = &all[i];
                    let mut row = vec![Cell {
                        text: s.name.clone(),
                        agrees: None,
                    }];
                    for v in &variants {
                        let run = runs.iter().find(|r| &r.variant == v);
                        row.push(match run {
                            Some(r) => Cell {
                                text: format!(
                                    "{} {}",
                                    r.got,
                                    if r.matches() { "✓" } else { "✗ expected" }
                                ),
                                agrees: Some(r.matches()),
                            },
                            None => Cell {
                                text: "-".into(),
                                agrees: None,
                            },
                        });
                    }
                    row
                })
                .collect();
            Table { columns, rows }
        })
        .collect()
}

/// The table in Markdown.
pub fn markdown(t: &Table) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| {} |",
        t.columns
            .iter()
            .map(|c| md_esc(c))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "|{}", "---|".repeat(t.columns.len()));
    for row in &t.rows {
        let _ = writeln!(
            s,
            "| {} |",
            row.iter()
                .map(|c| md_esc(&c.text))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    s
}

/// The table in HTML (cells that agree with the seed green, that disagree red).
pub fn html(t: &Table) -> String {
    let mut s = String::from("<table class=\"grid\"><tr>");
    for c in &t.columns {
        let _ = write!(s, "<th>{}</th>", esc(c));
    }
    s.push_str("</tr>\n");
    for row in &t.rows {
        s.push_str("<tr>");
        for c in row {
            let class = match c.agrees {
                Some(true) => " class=\"yes\"",
                Some(false) => " class=\"no\"",
                None => "",
            };
            let _ = write!(s, "<td{class}>{}</td>", esc(&c.text));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}
