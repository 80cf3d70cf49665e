//! Outcome tables for matrix scenarios (the optional `table:` section of a scenario lays the
//! cases out in the seed's own columns) and verdict tables (one row per scenario, one column per
//! variant) for scenarios that share their variants, such as seed 004's patch variants.
//!
//! A model cell of an outcome table holds the model's exact outcome set for the table's
//! observation, the seed's value against it ([`SeedCheck`]: ✓/✗, and timing-dependent when the
//! seed gives one value and the model finds more), and each outcome's interleaving
//! ([`super::interleaving`], contrasted with every outcome witness of the row).

use super::esc;
use super::interleaving::{self, Interleaving};
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
    /// For cells of an outcome table that a variant fills: what the model found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelCell>,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            agrees: None,
            model: None,
        }
    }
}

/// What the model found for one case × variant of an outcome table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModelCell {
    /// The case (the row).
    pub case: String,
    /// The variant (the column).
    pub variant: String,
    /// How the seed's value compares, when the seed gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<SeedCheck>,
    /// Each outcome with its table value and the interleaving that gives it.
    pub outcomes: Vec<CellOutcome>,
}

/// One outcome of a model cell.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CellOutcome {
    /// The outcome's value of the table's observation (e.g. `SHUTDOWN`).
    pub value: String,
    /// The key steps of its shortest witness.
    pub interleaving: Interleaving,
}

/// The seed's value for one case × variant against the model's outcome set.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SeedCheck {
    /// The table column the variant fills.
    pub column: String,
    /// The seed's value as the seed writes it (markup kept).
    pub seed: String,
    /// The model's distinct values of the table's observation, sorted.
    pub values: Vec<String>,
    /// The seed's value (markup ignored) is one of `values`.
    pub agrees: bool,
    /// The seed gives one value where the model finds more than one: which one happens depends
    /// on the interleaving.
    pub timing_dependent: bool,
}

impl SeedCheck {
    /// `{REBOOT, SHUTDOWN}`.
    pub fn set(&self) -> String {
        format!("{{{}}}", self.values.join(", "))
    }

    /// What follows the set in a cell: ` ✓ (seed: x)`, ` ✗ (seed: x)`, then
    /// ` ⚠ timing-dependent` when it is.
    pub fn marks(&self) -> String {
        format!(
            " {} (seed: {}){}",
            if self.agrees { "✓" } else { "✗" },
            self.seed,
            if self.timing_dependent {
                " ⚠ timing-dependent"
            } else {
                ""
            }
        )
    }

    /// The timing-dependence sentence, when the check is timing-dependent.
    pub fn timing_sentence(&self) -> Option<String> {
        self.timing_dependent.then(|| {
            format!(
                "timing-dependent: the seed gives one value ({}), the model finds {} ({}), \
                 depending on the interleaving",
                plain(&self.seed),
                self.values.len(),
                self.values.join(", ")
            )
        })
    }
}

/// A rendered-ready table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
    /// The column holding what a row is expected to give: the only seed column no variant
    /// fills (the seed's "Expected Result"), if there is exactly one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_column: Option<usize>,
}

impl Table {
    /// Whether a row's model cells give anything but its expected value (every model cell's
    /// outcome set must be exactly the expected value; markup such as `~x~` ignored).
    pub fn row_differs(&self, row: &[Cell]) -> bool {
        let Some(expected) = self.expected_column.and_then(|i| row.get(i)) else {
            return false;
        };
        let want = plain(&expected.text);
        row.iter()
            .filter_map(|c| c.model.as_ref())
            .any(|m| m.outcomes.is_empty() || m.outcomes.iter().any(|o| o.value != want))
    }
}

/// A seed value's inline Markdown (`~struck~`, `**strong**`) as HTML.
fn inline_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (marker, open, close) = if rest.starts_with("**") {
            ("**", "<strong>", "</strong>")
        } else if rest.starts_with('~') {
            ("~", "<s>", "</s>")
        } else {
            let next = rest.find(['*', '~']).unwrap_or(rest.len()).max(1);
            out.push_str(&esc(&rest[..next]));
            rest = &rest[next..];
            continue;
        };
        match rest[marker.len()..].find(marker) {
            Some(end) => {
                let inner = &rest[marker.len()..marker.len() + end];
                out.push_str(open);
                out.push_str(&inline_html(inner));
                out.push_str(close);
                rest = &rest[2 * marker.len() + end..];
            }
            None => {
                out.push_str(&esc(marker));
                rest = &rest[marker.len()..];
            }
        }
    }
    out
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

/// The model's distinct values of the table's observation for `run`, sorted.
fn values(spec: &TableSpec, run: &Run) -> Vec<String> {
    let mut values: Vec<String> = match &run.got {
        Got::Outcomes(o) => o
            .iter()
            .map(|o| value_of(o, spec.observation.as_deref()))
            .collect(),
        verdict => vec![verdict.to_string()],
    };
    values.sort();
    values.dedup();
    values
}

fn seed_check(spec: &TableSpec, column: &str, seed: &str, run: &Run) -> SeedCheck {
    let values = values(spec, run);
    SeedCheck {
        column: column.to_string(),
        seed: seed.to_string(),
        agrees: values.contains(&plain(seed)),
        timing_dependent: values.len() > 1,
        values,
    }
}

/// How the seed's value for `run`'s case compares with what `run` found, when the scenario's
/// `table:` gives the seed a value in the column `run`'s variant fills.
pub fn seed_of_run(scenario: &Scenario, run: &Run) -> Option<SeedCheck> {
    let spec = scenario.file.table.as_ref()?;
    let case = run.case.as_deref()?;
    let (column, _) = spec.variants.iter().find(|(_, v)| **v == run.variant)?;
    let parts = case.split(spec.split.as_str()).count();
    let k = spec
        .columns
        .iter()
        .position(|c| c == column)?
        .checked_sub(parts)?;
    let seed = spec.seed.get(case)?.get(k)?;
    Some(seed_check(spec, column, seed, run))
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
        let mut row: Vec<Cell> = parts.iter().map(|p| Cell::plain(*p)).collect();
        for (k, col) in rest.iter().enumerate() {
            let seed_value = seed.get(k);
            let Some(variant) = spec.variants.get(col) else {
                row.push(Cell::plain(seed_value.cloned().unwrap_or_default()));
                continue;
            };
            let run = runs
                .iter()
                .find(|r| r.case.as_deref() == Some(case) && &r.variant == variant)
                .ok_or_else(|| format!("{at}: no run of case `{case}` variant `{variant}`"))?;
            let check = seed_value.map(|sv| seed_check(spec, col, sv, run));
            let text = match &check {
                Some(c) => format!("{}{}", c.set(), c.marks()),
                None => format!("{{{}}}", values(spec, run).join(", ")),
            };
            let row_runs = runs
                .iter()
                .filter(|r| r.case.as_deref() == Some(case.as_str()));
            let contrast: Vec<_> = row_runs.flat_map(interleaving::witnesses_of).collect();
            let outcomes = interleaving::derive(&contrast, &interleaving::witnesses_of(run))
                .into_iter()
                .map(|i| CellOutcome {
                    value: value_of(&i.outcome, spec.observation.as_deref()),
                    interleaving: i,
                })
                .collect();
            let cell = Cell {
                text,
                agrees: check.as_ref().map(|c| c.agrees),
                model: Some(ModelCell {
                    case: case.clone(),
                    variant: variant.clone(),
                    seed: check,
                    outcomes,
                }),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    let seed_only: Vec<usize> = spec
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| *i >= first_seed_column(spec, &cases) && !spec.variants.contains_key(*c))
        .map(|(i, _)| i)
        .collect();
    Ok(Some(Table {
        columns: spec.columns.clone(),
        rows,
        expected_column: (seed_only.len() == 1).then(|| seed_only[0]),
    }))
}

/// The first column after the case-name parts (the split of the first case).
fn first_seed_column(spec: &TableSpec, cases: &[String]) -> usize {
    cases
        .first()
        .map_or(0, |c| c.split(spec.split.as_str()).count())
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
                    let mut row = vec![Cell::plain(s.name.clone())];
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
                                model: None,
                            },
                            None => Cell::plain("-"),
                        });
                    }
                    row
                })
                .collect();
            Table {
                columns,
                rows,
                expected_column: None,
            }
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

/// A cell in HTML: a model cell's outcome values link to their interleavings
/// ([`super::timing::anchor`]).
fn cell_html(c: &Cell) -> String {
    let Some(m) = c.model.as_ref().filter(|m| !m.outcomes.is_empty()) else {
        return inline_html(&c.text);
    };
    let mut links: Vec<(&str, String)> = Vec::new();
    for o in &m.outcomes {
        if !links.iter().any(|(v, _)| *v == o.value) {
            let id = super::timing::anchor(&m.case, &m.variant, &o.interleaving.outcome);
            links.push((&o.value, format!("<a href=\"#{id}\">{}</a>", esc(&o.value))));
        }
    }
    links.sort();
    let set: Vec<String> = links.into_iter().map(|(_, l)| l).collect();
    let marks = m.seed.as_ref().map(SeedCheck::marks).unwrap_or_default();
    format!("{{{}}}{}", set.join(", "), inline_html(&marks))
}

/// The table in HTML (cells that agree with the seed green, that disagree red; rows whose
/// model results differ from the expected one marked `differs`).
pub fn html(t: &Table) -> String {
    let mut s = String::from("<table class=\"grid\"><tr>");
    for c in &t.columns {
        let _ = write!(s, "<th>{}</th>", esc(c));
    }
    s.push_str("</tr>\n");
    for row in &t.rows {
        s.push_str(if t.row_differs(row) {
            "<tr class=\"differs\">"
        } else {
            "<tr>"
        });
        for c in row {
            let class = match c.agrees {
                Some(true) => " class=\"yes\"",
                Some(false) => " class=\"no\"",
                None => "",
            };
            let _ = write!(s, "<td{class}>{}</td>", cell_html(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

#[cfg(test)]
mod markup_tests {
    use super::inline_html;

    #[test]
    fn seed_markup_becomes_html() {
        assert_eq!(inline_html("~REBOOT~"), "<s>REBOOT</s>");
        assert_eq!(inline_html("**SHUTDOWN**"), "<strong>SHUTDOWN</strong>");
        assert_eq!(inline_html("a <b> ~x"), "a &lt;b&gt; ~x");
    }
}
