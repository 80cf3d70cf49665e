//! No panic, no hang, no abort: a closed or full standard output, files that cannot be written,
//! pathological expressions and YAML, and oversized inputs all end in a clear exit code.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// Runs `args` and returns its output, killing it and failing if it takes more than `secs`
/// seconds (the old code took minutes, or forever, on these inputs).
fn within(secs: u64, args: &[&str]) -> Output {
    let mut child = vmrace()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().expect("killed");
            panic!(
                "`vmrace {}` took over {secs} s: {}",
                args.join(" "),
                stderr(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("exits")
}

/// Asserts a clean bad-input exit (no panic, no abort) whose message contains every needle.
fn assert_bad(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_no_panic(o, &err);
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in: {err}");
    }
}

const HEAD: &str = "title: t
source: [x]
model: network
setup:
  vms:
    - {name: A, backend: ovs, running: true, ops: [stop]}
    - {name: B, backend: ovs, ops: [start]}
";

/// A scenario whose only property is `expr`, in `dir`.
fn with_property(dir: &Path, name: &str, expr: &str) -> String {
    let text = format!(
        "{HEAD}variants:\n  v: {{}}\nproperties:\n  - name: p\n    always: '{expr}'\nexpect:\n  v: holds\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn huge_expressions_are_refused_at_the_property_not_by_a_stack_overflow() {
    let dir = tempdir("expr");
    let cases = [
        (
            "or.yaml",
            vec!["B.connected"; 50_000].join(" || "),
            "bytes long",
        ),
        (
            "brackets.yaml",
            format!("{}B.connected{}", "(".repeat(100_000), ")".repeat(100_000)),
            "bytes long",
        ),
        (
            "nots.yaml",
            format!("{}B.connected", "!".repeat(4000)),
            "operators",
        ),
        (
            "nested.yaml",
            format!("{}B.connected{}", "(".repeat(40), ")".repeat(40)),
            "brackets nest deeper than 32",
        ),
    ];
    for (name, expr, why) in cases {
        let file = with_property(&dir, name, &expr);
        let o = within(20, &["check", &file]);
        // The property entry is at line 11, column 5.
        assert_bad(&o, &[&format!("{file}:11:5"), why]);
    }
    // At the limits it still works, also on the search's worker threads.
    let at_limit = format!(
        "{}{}B.connected{}",
        "!".repeat(254),
        "(".repeat(32),
        ")".repeat(32)
    );
    let file = with_property(&dir, "limit.yaml", &at_limit);
    let o = within(20, &["check", "--jobs", "2", &file]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn function_calls_are_refused_in_expressions() {
    let dir = tempdir("func");
    // `shl` overflows (a panic in debug builds) for shifts of 64 or more.
    let file = with_property(&dir, "shl.yaml", "shl(1, 64) == 0");
    assert_bad(
        &within(20, &["check", &file]),
        &["`shl` is a function call"],
    );
}

/// Writes `text` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn alias_bombs_and_deep_yaml_finish_fast_with_bad_input() {
    let dir = tempdir("yaml");
    let mut laughs = String::from("  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let aliases = vec![format!("*a{}", i - 1); 9].join(", ");
        laughs.push_str(&format!("  a{i}: &a{i} [{aliases}]\n"));
    }
    let n = 30_000;
    let wide = format!(
        "  big: &b [{}]\n  many: [{}]\n",
        vec!["x"; n].join(","),
        vec!["*b"; n].join(",")
    );
    for (name, setup) in [("laughs.yaml", laughs), ("wide.yaml", wide)] {
        let text = format!("title: t\nsource: [x]\nmodel: network\nsetup:\n{setup}variants: {{v: {{}}}}\nexpect: {{v: holds}}\n");
        let path = file(&dir, name, &text);
        assert_bad(&within(20, &["list", &path]), &[&path, "aliases expand"]);
    }
    let deep = format!(
        "title: t\nsetup: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let path = file(&dir, "deep.yaml", &deep);
    assert_bad(
        &within(20, &["list", &path]),
        &[&format!("{path}:2:136"), "nested deeper than 128"],
    );
    let deep_map = format!(
        "title: t\nsetup: {}1{}\n",
        "{a: ".repeat(100_000),
        "}".repeat(100_000)
    );
    let path = file(&dir, "deep-map.yaml", &deep_map);
    assert_bad(&within(20, &["list", &path]), &["nested deeper than 128"]);
    // Traces go through the same checks.
    let trace = format!(
        "format: vmrace-trace\nformat_version: 1\nmodel: network\nmodel_version: 1\ninit: 0\n\
         init_fingerprint: x\ninit_state: {}{}\nsteps: []\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let path = file(&dir, "deep.trace.yaml", &trace);
    assert_bad(&within(20, &["replay", &path]), &["nested deeper than 128"]);
}

#[test]
fn long_scenario_files_and_logs_take_linear_time() {
    let dir = tempdir("long");
    // 60,000 variants: each name used to be compared with every earlier one.
    let variants: String = (0..60_000).map(|i| format!("  v{i}: {{}}\n")).collect();
    let path = file(
        &dir,
        "variants.yaml",
        &format!("{HEAD}variants:\n{variants}expect: {{}}\n"),
    );
    assert_bad(
        &within(20, &["list", &path]),
        &["60000 case × variant jobs", "at most 1000"],
    );
    // 1,000 jobs × 101 properties: every job compiled every property.
    let variants: String = (0..1000).map(|i| format!("  v{i}: {{}}\n")).collect();
    let expect: String = (0..1000).map(|i| format!("  v{i}: holds\n")).collect();
    let props: String = (0..101)
        .map(|i| format!("  - name: p{i}\n    always: '!net.foreign_removal'\n"))
        .collect();
    let text = format!("{HEAD}variants:\n{variants}properties:\n{props}expect:\n{expect}");
    let path = file(&dir, "properties.yaml", &text);
    assert_bad(
        &within(60, &["list", &path]),
        &["properties: 101 entries", "at most 100"],
    );
    // 20,000 lines naming the same unknown key: each used to be placed by a walk to the top.
    let vms: String = (0..20_000)
        .map(|i| format!("    - {{name: A{i}, backend: ovs, guest_polcy: x}}\n"))
        .collect();
    let text = format!("title: t\nsource: [x]\nmodel: network\nsetup:\n  vms:\n{vms}variants:\n  v: {{}}\nexpect:\n  v: holds\n");
    let path = file(&dir, "typos.yaml", &text);
    assert_bad(
        &within(20, &["list", &path]),
        &[&format!("{path}:6:32"), "guest_polcy"],
    );
    // A virsh line with 300,000 global options, and a QMP line of 300,000 `{`.
    let virsh = file(
        &dir,
        "virsh.log",
        &format!("virsh {}reboot A\n", "-x ".repeat(300_000)),
    );
    let out = dir.join("new.yaml").display().to_string();
    let o = within(20, &["new", "--from-log", &virsh, "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let braces = file(
        &dir,
        "braces.log",
        &format!("\"event\" {}\n", "{\"a\":".repeat(300_000)),
    );
    assert_bad(&within(20, &["repro", "--log", &braces]), &["no QMP event"]);
}

#[test]
fn oversized_files_are_refused_before_they_are_read_whole() {
    let dir = tempdir("size");
    let big = |name: &str, bytes: u64| {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).expect("create");
        f.set_len(bytes).expect("size");
        path.display().to_string()
    };
    let scenario = big("big.yaml", (1 << 20) + 1);
    assert_bad(
        &within(20, &["list", &scenario]),
        &["larger than the 1 MiB a scenario file may have"],
    );
    let trace = big("big.trace.yaml", (16 << 20) + 1);
    assert_bad(
        &within(20, &["replay", &trace]),
        &["larger than the 16 MiB a trace may have"],
    );
    let log = big("big.log", (64 << 20) + 1);
    assert_bad(
        &within(20, &["repro", "--log", &log]),
        &["larger than the 64 MiB a log may have"],
    );
}

/// A language scenario whose model file is oversized or pathologically nested is refused at
/// the model file, fast, like a scenario file.
#[test]
fn language_model_files_get_the_scenario_files_limits() {
    let dir = tempdir("lang-model");
    let scenario = |model: &str| {
        file(
            &dir,
            &format!("{model}.scenario.yaml"),
            &format!(
                "title: t\nsource: [x]\nmodel: lang\nsetup: {{file: {model}}}\n\
                 variants: {{v: {{}}}}\nexpect: {{v: holds}}\n"
            ),
        )
    };
    let big = dir.join("big.yaml");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len((1 << 20) + 1))
        .expect("a sparse file");
    let path = scenario("big.yaml");
    assert_bad(
        &within(20, &["check", &path]),
        &[
            &format!("{}:1:1", big.display()),
            "larger than the 1 MiB a model file may have",
        ],
    );
    let deep = file(
        &dir,
        "deep.yaml",
        &format!(
            "model: m\nglobals: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    let path = scenario("deep.yaml");
    assert_bad(
        &within(20, &["check", &path]),
        &[&format!("{deep}:2:138"), "nested deeper than 128"],
    );
}

#[test]
fn properties_at_the_limits_are_parsed_once_not_once_per_job() {
    let dir = tempdir("parse-once");
    // 1,000 jobs × 100 properties, each expression near the operator and nesting limits
    // (parsing a chain of n `!` takes n² steps): parsing them for every job took over a minute.
    let variants: String = (0..1000).map(|i| format!("  v{i}: {{}}\n")).collect();
    let expect: String = (0..1000).map(|i| format!("  v{i}: holds\n")).collect();
    let expr = format!(
        "{}{}A.connected{}",
        "!".repeat(200),
        "(".repeat(30),
        ")".repeat(30)
    );
    let props: String = (0..100)
        .map(|i| format!("  - name: p{i}\n    always: '{expr}'\n"))
        .collect();
    let text = format!("{HEAD}variants:\n{variants}properties:\n{props}expect:\n{expect}");
    let path = file(&dir, "limits.yaml", &text);
    let o = within(40, &["list", &path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
