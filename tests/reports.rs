//! The committed `reports/` must be exactly what `vmrace report --all scenarios -o reports`
//! writes today, and snapshots of every bundled scenario's first witness (Markdown, JSON, SVG).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vmrace::report::bundle::{run_all, scenario_html, scenario_markdown, write_all, REGENERATE};
use vmrace::report::interleaving::Interleaving;
use vmrace::report::markdown::md_esc;
use vmrace::report::table::{self, outcome_table};
use vmrace::report::timing::anchor;
use vmrace::report::{markdown, svg, witnesses};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.expect("dir entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        out.insert(name, std::fs::read(&p).expect("read"));
    }
    out
}

#[test]
fn committed_reports_are_up_to_date() {
    let tmp = std::env::temp_dir().join(format!("vmrace-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    write_all(&[PathBuf::from("scenarios")], &tmp, 1).expect("reports generate");
    let fresh = files(&tmp);
    let committed = files(Path::new("reports"));
    let _ = std::fs::remove_dir_all(&tmp);
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&fresh),
        "reports/ holds other files than a fresh generation; regenerate with `{REGENERATE}`"
    );
    for (name, bytes) in &fresh {
        assert!(
            committed[name] == *bytes,
            "reports/{name} is stale; regenerate with `{REGENERATE}`"
        );
    }
}

#[test]
fn first_witness_of_every_scenario() {
    let all = run_all(&[PathBuf::from("scenarios")], 1).expect("scenarios run");
    assert!(all.len() >= 10, "the bundled scenarios are found");
    for (scenario, runs) in &all {
        let every: Vec<_> = runs.iter().flat_map(|r| witnesses(scenario, r)).collect();
        let first = every
            .iter()
            .find(|w| w.meta.verdict == "violated")
            .or_else(|| every.first())
            .expect("every scenario has a witness");
        let name = &scenario.name;
        insta::assert_snapshot!(format!("{name}.md"), markdown::report(first));
        insta::assert_snapshot!(format!("{name}.json"), first.to_json());
        insta::assert_snapshot!(
            format!("{name}.svg"),
            svg::render(&first.trace, &first.analysis, "w0", false)
        );
    }
}

fn seed_000() -> (vmrace::scenario::Scenario, Vec<vmrace::scenario::run::Run>) {
    run_all(&[PathBuf::from("scenarios/seed-000-reboot-table.yaml")], 1)
        .expect("scenario runs")
        .remove(0)
}

#[test]
fn seed_000_table_has_the_seeds_layout() {
    let (s, runs) = &seed_000();
    let t = outcome_table(s, runs)
        .expect("valid table")
        .expect("a table section");
    let md = table::markdown(&t);
    assert!(md.starts_with(
        "| First Command | Second Command | Expected Result | Actual Result | After Fix |\n"
    ));
    assert!(md.contains(
        "| ACPI REBOOT | AGENT REBOOT | REBOOT | {REBOOT, SHUTDOWN} ✓ (seed: \\*\\*SHUTDOWN\\*\\*) ⚠ timing-dependent | {REBOOT} ✓ (seed: \\*\\*REBOOT\\*\\*) |"
    ), "{md}");
    assert_eq!(t.rows.len(), 9);
}

/// The seed's bug (row "ACPI REBOOT, AGENT REBOOT" under b0c144c5792): in the SHUTDOWN
/// outcome's interleaving the second call's agent path clears fakeReboot before the SHUTDOWN
/// event decides; in the REBOOT one the same call leaves fakeReboot alone (the agent was
/// already closed).
#[test]
fn seed_000_bug_row_shows_both_timings() {
    let (s, runs) = &seed_000();
    let t = outcome_table(s, runs).expect("valid").expect("a table");
    let cell = t
        .rows
        .iter()
        .flatten()
        .filter_map(|c| c.model.as_ref())
        .find(|m| m.case == "ACPI REBOOT, AGENT REBOOT" && m.variant == "b0c144c5792")
        .expect("the bug's cell");
    let by = |value: &str| {
        &cell
            .outcomes
            .iter()
            .find(|o| o.value == value)
            .unwrap_or_else(|| panic!("outcome {value}"))
            .interleaving
    };
    let clears = |i: &Interleaving| {
        i.steps.iter().position(|k| {
            k.actor == "api-2"
                && k.changes
                    .iter()
                    .any(|c| c.path.ends_with("fake_reboot") && c.after == false)
        })
    };
    let event = |i: &Interleaving| i.steps.iter().position(|k| k.actor == "event-A");
    let shutdown = by("SHUTDOWN");
    let (Some(clear), Some(ev)) = (clears(shutdown), event(shutdown)) else {
        panic!("{:#?}", shutdown.lines());
    };
    assert!(
        clear < ev && shutdown.steps[ev].decides,
        "{:#?}",
        shutdown.lines()
    );
    let reboot = by("REBOOT");
    assert_eq!(clears(reboot), None, "{:#?}", reboot.lines());
    let second = reboot.steps.iter().find(|k| k.actor == "api-2");
    assert!(
        second.is_some_and(|k| k.changes.is_empty()),
        "api-2's call is a key step that leaves fake_reboot alone: {:#?}",
        reboot.lines()
    );
}

/// Every cell where the seed gives one value and the model finds more is marked
/// timing-dependent, and the reports show each of its outcomes with its key steps, a link from
/// the table (HTML) and a link to the whole witness.
#[test]
fn timing_dependent_cells_show_each_outcomes_interleaving() {
    let (s, runs) = &seed_000();
    let t = outcome_table(s, runs).expect("valid").expect("a table");
    let md = scenario_markdown(s, runs).expect("markdown");
    let html = scenario_html(s, runs).expect("html");
    let mut two = 0;
    for cell in t.rows.iter().flatten().filter_map(|c| c.model.as_ref()) {
        let seed = cell
            .seed
            .as_ref()
            .expect("the seed gives every model cell a value");
        assert_eq!(seed.timing_dependent, seed.values.len() > 1);
        let heading = format!("#### {} · {} (", md_esc(&cell.case), md_esc(&seed.column));
        let section = md.split(&heading).nth(1).expect("a section per cell");
        let section = section.split("\n####").next().expect("section");
        if !seed.timing_dependent {
            assert!(!section.contains("timing-dependent"), "{section}");
            continue;
        }
        two += 1;
        assert!(
            section.contains("**⚠ timing-dependent: the seed gives one value"),
            "{section}"
        );
        assert!(
            !cell.outcomes[0].interleaving.fields.is_empty(),
            "a contested field"
        );
        for o in &cell.outcomes {
            let i = &o.interleaving;
            let id = anchor(&cell.case, &cell.variant, &i.outcome);
            assert!(section.contains(&format!("<a id=\"{id}\"></a>**{}** ([witness](#w", o.value)));
            assert!(html.contains(&format!("<a href=\"#{id}\">{}</a>", o.value)));
            assert!(html.contains(&format!("<li id=\"{id}\"><b>{}</b> (<a href=\"#w", o.value)));
            for line in i.lines() {
                assert!(section.contains(&md_esc(&line)), "{line}");
            }
            assert!(i
                .lines()
                .iter()
                .any(|l| l.ends_with(&format!("⇒ {}", i.outcome))));
        }
        let orders: Vec<Vec<(&str, &str)>> = cell
            .outcomes
            .iter()
            .map(|o| {
                o.interleaving
                    .steps
                    .iter()
                    .map(|k| (k.actor.as_str(), k.label.as_str()))
                    .collect()
            })
            .collect();
        assert!(orders.windows(2).any(|w| w[0] != w[1]), "{orders:?}");
    }
    assert!(two > 0, "some cell of the seed's table is timing-dependent");
}

/// The seed's own markup renders as HTML in table cells, and rows whose model results differ
/// from the expected result are marked.
#[test]
fn seed_markup_renders_and_differing_rows_are_marked() {
    let (s, runs) = &seed_000();
    let t = outcome_table(s, runs).expect("valid").expect("a table");
    let html = table::html(&t);
    assert!(html.contains("<s>REBOOT</s>"), "{html}");
    assert!(html.contains("<strong>SHUTDOWN</strong>"), "{html}");
    assert!(!html.contains("~REBOOT~"), "raw markup in a cell");
    assert!(html.contains("(seed: <s>REBOOT</s>)"), "{html}");
    let row_of = |case: &str| {
        html.lines()
            .find(|l| {
                l.contains(&format!("<td>{}</td>", case.split(", ").next().unwrap())) && {
                    let second = case.split(", ").nth(1).unwrap();
                    l.contains(&format!("<td>{second}</td>"))
                }
            })
            .unwrap_or_else(|| panic!("row {case}"))
            .to_string()
    };
    assert!(row_of("ACPI SHUTDOWN, ACPI REBOOT").starts_with("<tr class=\"differs\">"));
    assert!(row_of("AGENT REBOOT, AGENT REBOOT").starts_with("<tr>"));
}

/// An `always` property breaks at the first step after which it is false; an outcome witness
/// carries no break marker.
#[test]
fn the_break_marker_sits_where_the_property_breaks() {
    let all = run_all(
        &[PathBuf::from(
            "scenarios/seed-000-acpi-then-agent-reboot.yaml",
        )],
        1,
    )
    .expect("runs");
    let (scenario, runs) = &all[0];
    let every: Vec<_> = runs.iter().flat_map(|r| witnesses(scenario, r)).collect();
    let killed = every
        .iter()
        .find(|w| w.meta.what == "libvirt never kills QEMU after a reboot request")
        .expect("the always witness");
    let at = killed.analysis.break_step.expect("a break step");
    let step = &killed.trace.steps[at];
    assert!(
        step.changes
            .iter()
            .any(|c| c.path.ends_with("killed") && c.after == true),
        "the marker is on the step that kills: {step:?}"
    );
    // An `at_end` property is judged over the run: marked where the run was decided (the kill),
    // not at the trace's last step.
    let at_end = every
        .iter()
        .find(|w| w.meta.what == "reboot requests never kill the domain")
        .expect("the at_end witness");
    let at = at_end.analysis.break_step.expect("a break step");
    assert!(
        at + 1 < at_end.trace.steps.len(),
        "not simply the last step"
    );
    assert!(
        at_end.trace.steps[at]
            .changes
            .iter()
            .any(|c| c.path.ends_with("killed")),
        "{:?}",
        at_end.trace.steps[at]
    );
    for w in every.iter().filter(|w| w.meta.verdict == "outcome") {
        assert_eq!(
            w.analysis.break_step, None,
            "an outcome witness breaks nothing"
        );
    }
}
