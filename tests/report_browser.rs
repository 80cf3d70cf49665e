//! A real browser opens every generated HTML report from disk: headless Chromium (Debian
//! package `chromium`: `apt-get install -y chromium`) must render it with no script error, and
//! the rendered DOM must hold as many lifelines and arrows as the traces imply. Screenshots of
//! three reports are left in `target/report-screenshots/`. Fails (never skips) without Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;
use vmrace::report::bundle::{run_all, write_all};
use vmrace::report::{slug, witnesses};

fn chromium() -> String {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!(
        "headless Chromium is needed for this test: install it with `apt-get install -y chromium`"
    );
}

fn run_chromium(browser: &str, page: &Path, extra: &[String]) -> (String, String) {
    let profile = std::env::temp_dir().join(format!(
        "vmrace-chromium-{}-{}",
        std::process::id(),
        page.file_stem().expect("stem").to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let out = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_html_report_renders_in_chromium() {
    let browser = chromium();
    let dir = std::env::temp_dir().join(format!("vmrace-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scenarios = [PathBuf::from("scenarios")];
    write_all(&scenarios, &dir, 1).expect("reports generate");
    let mut pages: Vec<(PathBuf, usize, usize)> = vec![(dir.join("index.html"), 0, 0)];
    for (s, runs) in run_all(&scenarios, 1).expect("scenarios run") {
        let ws: Vec<_> = runs.iter().flat_map(|r| witnesses(&s, r)).collect();
        let lifelines = ws.iter().map(|w| w.analysis.lifelines.len()).sum();
        let arrows = ws.iter().map(|w| w.analysis.messages.len()).sum();
        pages.push((
            dir.join(format!("{}.html", slug(&s.name))),
            lifelines,
            arrows,
        ));
    }
    for (page, lifelines, arrows) in &pages {
        let (dom, log) = run_chromium(
            &browser,
            page,
            &["--window-size=1400,1800".into(), "--dump-dom".into()],
        );
        let name = page.display();
        assert!(
            dom.contains("data-js=\"ok\""),
            "{name}: the page's script did not finish"
        );
        assert!(
            !dom.contains("data-js-error=\""),
            "{name}: script error in the DOM"
        );
        for line in log.lines() {
            assert!(
                !(line.contains("Uncaught") || line.contains("CONSOLE") && line.contains("rror")),
                "{name}: console error: {line}"
            );
        }
        assert_eq!(
            dom.matches("class=\"lifeline\"").count(),
            *lifelines,
            "{name}: lifelines"
        );
        assert_eq!(
            dom.matches("class=\"arrow\"").count(),
            *arrows,
            "{name}: arrows"
        );
        let status = format!("data-rendered=\"{lifelines} lifelines, {arrows} arrows\"");
        assert!(
            dom.contains(&status),
            "{name}: the script counted otherwise ({status})"
        );
        assert!(!dom.contains("js-status"), "{name}: a debug footer");
        assert!(
            dom.contains("data-clipped-lifelines=\"0\""),
            "{name}: a lifeline lies beyond the diagram's edge in a 1400 px window"
        );
        let page_text = std::fs::read_to_string(page).expect("page");
        assert!(
            !page_text.contains(" src=\"") && !page_text.contains("<link"),
            "{name}: the report loads an external resource"
        );
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../report-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    for name in [
        "seed-000-acpi-then-agent-reboot",
        "seed-004-tap-reuse-ovs",
        "seed-000-reboot-table",
    ] {
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        run_chromium(
            &browser,
            &dir.join(format!("{name}.html")),
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1400,1800".into(),
            ],
        );
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 10_000,
            "{}: screenshot missing or empty",
            png.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
