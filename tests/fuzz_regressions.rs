//! Every input that ever crashed one of the fuzz targets (docs/fuzzing.md), kept in
//! `tests/fuzz_regressions/<target>/`, fed to the same library functions as the target: each
//! must end in a bad-input error (or be accepted), never in a panic, an abort or a hang.

use models::scenario::Obs;
use std::path::{Path, PathBuf};
use vmrace::error::{CliError, EXIT_BAD_INPUT};
use vmrace::scenario::checked::CompiledProperty;

/// The regression inputs of one target, sorted (none yet is fine).
fn inputs(target: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| {
            // The targets skip what is not UTF-8, as the file readers refuse it.
            let text = String::from_utf8(std::fs::read(&f).expect("read")).ok()?;
            Some((f, text))
        })
        .collect()
}

fn assert_bad_input<T>(file: &Path, result: Result<T, CliError>) {
    if let Err(e) = result {
        assert_eq!(e.code, EXIT_BAD_INPUT, "{}: {}", file.display(), e.message);
        assert!(!e.message.is_empty(), "{}", file.display());
    }
}

#[test]
fn scenario_inputs() {
    for (file, text) in inputs("scenario") {
        let r = vmrace::scenario::Scenario::from_text(Path::new("fuzz.yaml"), text);
        assert_bad_input(&file, r);
    }
}

#[test]
fn trace_inputs() {
    let at = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/traces/fuzz.yaml");
    for (file, text) in inputs("trace") {
        let r = vmrace::commands::replay::parse_trace(&at, &text)
            .and_then(|trace| vmrace::scenario::verify::verify(&trace, &at));
        assert_bad_input(&file, r);
    }
}

#[test]
fn log_inputs() {
    for (file, text) in inputs("log") {
        let r = vmrace::repro::log::from_text(Path::new("fuzz.log"), &text)
            .and_then(|log| vmrace::repro::new::render(&log, "fuzz", "fuzz.log"));
        assert_bad_input(&file, r);
    }
}

#[test]
fn expression_inputs() {
    let observed = vec![
        ("A.result".to_string(), Obs::Str("REBOOT".into())),
        ("A.killed".to_string(), Obs::Bool(false)),
        ("A.boots".to_string(), Obs::Int(1)),
        ("B.connected".to_string(), Obs::Bool(true)),
    ];
    for (file, text) in inputs("expr") {
        let def = ("p".to_string(), sim::PropertyKind::Always, text, None);
        if let Err(e) = CompiledProperty::compile(def, &observed) {
            assert!(e.starts_with("property `p`: "), "{}: {e}", file.display());
        }
    }
}

#[test]
fn the_corpus_is_not_empty() {
    let n: usize = ["scenario", "trace", "log", "expr"]
        .iter()
        .map(|t| inputs(t).len())
        .sum();
    assert!(n > 0, "tests/fuzz_regressions holds no input");
}
