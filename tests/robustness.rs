//! No panic, no hang, no abort: a closed or full standard output, files that cannot be written,
//! pathological expressions and YAML, and oversized inputs all end in a clear exit code.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Exit status for a closed standard output (docs/ci.md).
const BROKEN_PIPE: i32 = 141;

const TRACE: &str = "scenarios/traces/seed-004-tap-reuse-ovs.kernel.unconditional.every-running-VM-is-connected.yaml";
const SCENARIO: &str = "scenarios/seed-004-tap-reuse-ovs.yaml";
const LOG: &str = "scenarios/logs/seed-004-tap-reuse-ovs.log";

fn vmrace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vmrace"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmrace-robust-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Commands that print to stdout, with the arguments that make them print.
fn printing_commands(out: &Path) -> Vec<Vec<String>> {
    let out = out.display().to_string();
    [
        vec!["list"],
        vec!["check", "--format", "json", SCENARIO],
        vec!["check", SCENARIO],
        vec!["explore", SCENARIO, "--variant", "unconditional"],
        vec!["report", TRACE, "--format", "md"],
        vec!["explain", TRACE],
        vec!["replay", TRACE],
        vec!["repro", "--log", LOG, "--out", &out],
        vec!["--help"],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(String::from).collect())
    .collect()
}

fn assert_no_panic(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempdir("closed");
    for args in printing_commands(&dir.join("traces")) {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let o = vmrace().args(&args).stdout(writer).output().expect("runs");
        let what = args.join(" ");
        assert_no_panic(&o, &what);
        assert_eq!(o.status.code(), Some(BROKEN_PIPE), "{what}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("vmrace:"),
            "{what}: a closed pipe is not an error to report: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_reader_that_stops_after_one_line_ends_the_run_quietly() {
    // Far more output than a pipe buffers, so vmrace is still writing when the reader leaves.
    let mut child = vmrace()
        .arg("list")
        .args(std::iter::repeat_n("scenarios", 40))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("one line");
    assert_eq!(first, "models:\n");
    let o = child.wait_with_output().expect("exits");
    assert_no_panic(&o, "list | head -1");
    assert_eq!(o.status.code(), Some(BROKEN_PIPE), "{}", stderr(&o));
}

#[test]
fn a_full_stdout_is_bad_input_naming_the_cause() {
    let dir = tempdir("full");
    for args in printing_commands(&dir.join("traces")) {
        if args == ["--help"] {
            continue;
        }
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let o = vmrace().args(&args).stdout(full).output().expect("runs");
        let what = args.join(" ");
        assert_no_panic(&o, &what);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("cannot write to standard output: No space left on device"),
            "{what}: {}",
            stderr(&o)
        );
    }
}

/// Runs `args` and asserts exit 2 with `cannot write` and the cause.
fn assert_cannot_write(args: &[&str]) {
    let o = vmrace().args(args).output().expect("runs");
    let what = args.join(" ");
    assert_no_panic(&o, &what);
    assert_eq!(o.status.code(), Some(2), "{what}: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("cannot write") && err.contains("No space left on device"),
        "{what}: {err}"
    );
}

#[test]
fn files_written_to_a_full_disk_are_bad_input_naming_the_cause() {
    assert_cannot_write(&["report", TRACE, "--format", "html", "-o", "/dev/full"]);
    assert_cannot_write(&["check", SCENARIO, "--junit", "/dev/full"]);
    // Trace and report files have stable names: make them point at a full device.
    let traces = tempdir("full-traces");
    let name = Path::new(TRACE).file_name().expect("a file name");
    std::os::unix::fs::symlink("/dev/full", traces.join(name)).expect("symlink");
    let dir = traces.display().to_string();
    assert_cannot_write(&["check", SCENARIO, "--save-traces", &dir]);
    let repro = tempdir("full-repro");
    std::os::unix::fs::symlink(
        "/dev/full",
        repro.join("seed-004-tap-reuse-ovs.kernel.unconditional.repro.yaml"),
    )
    .expect("symlink");
    let dir = repro.display().to_string();
    assert_cannot_write(&[
        "repro",
        "--log",
        LOG,
        "--scenario",
        "seed-004-tap-reuse-ovs",
        "--out",
        &dir,
    ]);
}
