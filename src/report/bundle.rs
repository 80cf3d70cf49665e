//! The `reports/` bundle (`vmrace report --all scenarios -o reports`): one HTML and one Markdown
//! report per scenario covering every variant's violations (or outcomes), outcome and verdict
//! tables, the variants that are patches of a language model (as diffs), and `index.html` with
//! a verdict summary; and the per-witness files written by
//! `vmrace explore/check --report DIR`.

use super::patches::Patched;
use super::table::{self, outcome_table, verdict_tables};
use super::{esc, html, markdown, slug, timing, witnesses, Witness};
use crate::error::CliError;
use crate::scenario::run::Run;
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The command that regenerates the committed `reports/`.
pub const REGENERATE: &str = "cargo run --release -- report --all scenarios -o reports";

/// Runs every job of every scenario under `paths`.
pub fn run_all(paths: &[PathBuf], jobs: usize) -> Result<Vec<(Scenario, Vec<Run>)>, CliError> {
    let scenarios = crate::commands::check::load_all(paths)?;
    let mut out = Vec::new();
    for s in scenarios {
        let runs = s
            .jobs()?
            .iter()
            .map(|j| s.run(j, jobs))
            .collect::<Result<Vec<_>, _>>()?;
        out.push((s, runs));
    }
    Ok(out)
}

/// A stable, readable file stem for a witness: `scenario[-case]-variant-what`.
pub fn witness_stem(w: &Witness) -> String {
    let m = &w.meta;
    let mut parts = vec![slug(&m.scenario)];
    if let Some(c) = &m.case {
        parts.push(slug(c));
    }
    parts.push(slug(&m.variant));
    parts.push(slug(&m.what));
    parts.join("-")
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::bad_input(format!("{}: cannot write: {e}", path.display())))
}

fn create_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::bad_input(format!("{}: cannot create: {e}", dir.display())))
}

/// Writes `<stem>.html`, `<stem>.md` and `<stem>.trace.yaml` for every witness of `run`;
/// returns the HTML paths.
pub fn write_witness_reports(
    dir: &Path,
    scenario: &Scenario,
    run: &Run,
) -> Result<Vec<PathBuf>, CliError> {
    create_dir(dir)?;
    let mut written = Vec::new();
    for w in witnesses(scenario, run) {
        let stem = witness_stem(&w);
        write(&dir.join(format!("{stem}.md")), &markdown::report(&w))?;
        write(&dir.join(format!("{stem}.trace.yaml")), &w.trace.to_yaml())?;
        let html_path = dir.join(format!("{stem}.html"));
        write(&html_path, &html::report(&w))?;
        written.push(html_path);
    }
    Ok(written)
}

/// The number `n` of every outcome witness on a scenario page (its section is `w{n}`), by
/// (case, variant, outcome): witnesses are numbered in [`witnesses`] order over the runs.
fn outcome_witnesses(s: &Scenario, runs: &[Run]) -> BTreeMap<(String, String, String), usize> {
    let mut out = BTreeMap::new();
    let mut n = 0;
    for r in runs {
        for w in witnesses(s, r) {
            if w.meta.verdict == "outcome" {
                let case = r.case.clone().unwrap_or_default();
                out.insert((case, r.variant.clone(), w.meta.what.clone()), n);
            }
            n += 1;
        }
    }
    out
}

fn place(run: &Run) -> String {
    match &run.case {
        Some(c) => format!("{c} · {}", run.variant),
        None => run.variant.clone(),
    }
}

fn mark(run: &Run) -> &'static str {
    if run.matches() {
        "✓"
    } else {
        "✗ DRIFT"
    }
}

/// The legend under an outcome table.
const MARKS: &str = "{…}: the model's exact outcome set for the table's observation (each \
     outcome's interleaving is below); ✓: the seed's value is one of them; ✗: it is not; \
     ⚠ timing-dependent: the seed gives one value where the model finds more than one, so which \
     one happens depends on the interleaving. In HTML, a row whose model results differ from \
     its expected result is marked (amber).";

/// One scenario's Markdown report.
pub fn scenario_markdown(s: &Scenario, runs: &[Run]) -> Result<String, CliError> {
    let mut out = format!("# {}\n\n", markdown::md_esc(&s.file.title));
    let _ = writeln!(
        out,
        "Scenario **{}** (model `{}`). Sources: {}.\n",
        markdown::md_esc(&s.name),
        s.file.model,
        markdown::md_esc(&s.file.source.join("; "))
    );
    if let Some(t) = outcome_table(s, runs).map_err(CliError::bad_input)? {
        out.push_str("## Outcome table (the seed's layout)\n\n");
        out.push_str(&table::markdown(&t));
        let _ = write!(out, "\n{MARKS}\n\n");
        let numbers = outcome_witnesses(s, runs);
        let link = |c: &str, v: &str, o: &str| {
            let key = (c.to_string(), v.to_string(), o.to_string());
            numbers.get(&key).map(|n| format!("w{n}"))
        };
        out.push_str(&timing::markdown(&t, &link, 3));
        out.push('\n');
    }
    out.push_str(
        "## Verdicts\n\n| case · variant | expected | got | as expected |\n|---|---|---|---|\n",
    );
    for r in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            markdown::md_esc(&place(r)),
            markdown::md_esc(&r.expected.to_string()),
            markdown::md_esc(&r.got.to_string()),
            mark(r)
        );
    }
    let patched = Patched::all(s, runs)?;
    if !patched.is_empty() {
        out.push_str("\n## Variants as patches\n");
        for p in &patched {
            let _ = write!(out, "\n{}", p.markdown());
        }
    }
    if let Some(notes) = &s.file.notes {
        let _ = writeln!(out, "\n## Notes\n\n{}", notes.trim_end());
    }
    let mut n = 0;
    for r in runs {
        for w in witnesses(s, r) {
            let _ = write!(out, "\n<a id=\"w{n}\"></a>\n\n");
            out.push_str(&markdown::witness(&w, 2));
            n += 1;
        }
    }
    Ok(out)
}

/// One scenario's HTML report.
pub fn scenario_html(s: &Scenario, runs: &[Run]) -> Result<String, CliError> {
    let mut body = format!(
        "<p><a href=\"index.html\">← all scenarios</a></p>\n<h1>{}</h1>\n<p>Scenario <b>{}</b> (model <code>{}</code>). Sources: {}.</p>\n",
        esc(&s.file.title),
        esc(&s.name),
        esc(&s.file.model),
        esc(&s.file.source.join("; "))
    );
    if let Some(t) = outcome_table(s, runs).map_err(CliError::bad_input)? {
        body.push_str("<h2>Outcome table (the seed's layout)</h2>\n");
        body.push_str(&table::html(&t));
        let _ = writeln!(body, "<p>{}</p>", esc(MARKS));
        let numbers = outcome_witnesses(s, runs);
        let link = |c: &str, v: &str, o: &str| {
            let key = (c.to_string(), v.to_string(), o.to_string());
            numbers.get(&key).map(|n| format!("w{n}-section"))
        };
        body.push_str(&timing::html(&t, &link, 3));
    }
    body.push_str("<h2>Verdicts</h2>\n");
    body.push_str("<table class=\"grid\"><tr><th>case · variant</th><th>expected</th><th>got</th><th>as expected</th></tr>\n");
    for r in runs {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&place(r)),
            esc(&r.expected.to_string()),
            esc(&r.got.to_string()),
            if r.matches() { "yes" } else { "no" },
            mark(r)
        );
    }
    body.push_str("</table>\n");
    let patched = Patched::all(s, runs)?;
    if !patched.is_empty() {
        body.push_str("<h2>Variants as patches</h2>\n");
        for p in &patched {
            body.push_str(&p.html());
        }
    }
    if let Some(notes) = &s.file.notes {
        let _ = writeln!(body, "<h2>Notes</h2>\n<p>{}</p>", esc(notes.trim_end()));
    }
    let mut n = 0;
    for r in runs {
        for w in witnesses(s, r) {
            body.push_str(&html::section(&w, &format!("w{n}"), 2));
            n += 1;
        }
    }
    Ok(html::page(&s.file.title, &body))
}

/// The index page: every scenario with its verdicts, and the verdict tables.
pub fn index_html(all: &[(Scenario, Vec<Run>)]) -> String {
    let mut body = String::from("<h1>vmrace reports</h1>\n");
    let _ = writeln!(
        body,
        "<p>Regenerate with <code>{}</code>.</p>",
        esc(REGENERATE)
    );
    body.push_str("<table class=\"grid\"><tr><th>scenario</th><th>title</th><th>verdicts</th><th>as expected</th></tr>\n");
    for (s, runs) in all {
        let name = slug(&s.name);
        let verdicts: Vec<String> = match &s.file.cases {
            Some(cases) => vec![format!(
                "{} cases × {} variants: see the outcome table",
                cases.0.len(),
                s.file.variants.0.len()
            )],
            None => runs
                .iter()
                .map(|r| format!("{}: {}", place(r), r.got))
                .collect(),
        };
        let ok = runs.iter().filter(|r| r.matches()).count();
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{name}.html\">{}</a> (<a href=\"{name}.md\">md</a>)</td><td>{}</td><td>{}</td><td class=\"{}\">{ok}/{}</td></tr>",
            esc(&s.name),
            esc(&s.file.title),
            verdicts.iter().map(|v| esc(v)).collect::<Vec<_>>().join("<br>"),
            if ok == runs.len() { "yes" } else { "no" },
            runs.len()
        );
    }
    body.push_str("</table>\n");
    let tables = verdict_tables(all);
    if !tables.is_empty() {
        body.push_str("<h2>Verdicts of scenarios that share their variants</h2>\n");
        for t in &tables {
            body.push_str(&table::html(t));
        }
    }
    html::page("vmrace reports", &body)
}

/// Writes the whole bundle into `out`; returns the files written.
pub fn write_all(paths: &[PathBuf], out: &Path, jobs: usize) -> Result<Vec<PathBuf>, CliError> {
    let all = run_all(paths, jobs)?;
    create_dir(out)?;
    let mut written = Vec::new();
    for (s, runs) in &all {
        let name = slug(&s.name);
        let md = out.join(format!("{name}.md"));
        write(&md, &scenario_markdown(s, runs)?)?;
        let page = out.join(format!("{name}.html"));
        write(&page, &scenario_html(s, runs)?)?;
        written.push(md);
        written.push(page);
    }
    let index = out.join("index.html");
    write(&index, &index_html(&all))?;
    written.push(index);
    Ok(written)
}
