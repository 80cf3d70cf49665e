//! The committed `reports/` must be exactly what `vmrace report --all scenarios -o reports`
//! writes today, and snapshots of every bundled scenario's first witness (Markdown, JSON, SVG).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vmrace::report::bundle::{run_all, write_all, REGENERATE};
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

#[test]
fn seed_000_table_has_the_seeds_layout() {
    let all = run_all(&[PathBuf::from("scenarios/seed-000-reboot-table.yaml")], 1)
        .expect("scenario runs");
    let (s, runs) = &all[0];
    let t = vmrace::report::table::outcome_table(s, runs)
        .expect("valid table")
        .expect("a table section");
    let md = vmrace::report::table::markdown(&t);
    assert!(md.starts_with(
        "| First Command | Second Command | Expected Result | Actual Result | After Fix |\n"
    ));
    assert!(md.contains(
        "| ACPI REBOOT | AGENT REBOOT | REBOOT | REBOOT / SHUTDOWN ✓ (seed: \\*\\*SHUTDOWN\\*\\*) | REBOOT ✓ (seed: \\*\\*REBOOT\\*\\*) |"
    ), "{md}");
    assert_eq!(t.rows.len(), 9);
}
