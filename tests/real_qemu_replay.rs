//! Real-QEMU replay: a fixed set of model witnesses replayed against a real
//! QEMU and guest must agree with the model's prediction, and a SIGINT in the
//! middle of a replay must leave no QEMU process and no temporary directory.
//!
//! These tests need QEMU and the guest image; they never skip. When the image
//! is missing they fail naming `guest/build.sh` (which also installs
//! qemu-system-x86, busybox-static and cpio). Only one QEMU runs at a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vmrace::real::qemu::accel::{self, ACCEL_ENV};
use vmrace::real::qemu::{cleanup, GuestImage};
use vmrace::real::qemu_replay;
use vmrace::scenario::{Job, Scenario};

const CHILD_ENV: &str = "VMRACE_TEST_REPLAY_CHILD";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn image() -> GuestImage {
    GuestImage::locate().unwrap_or_else(|e| {
        panic!("{e}\n(the real replay needs the guest image and QEMU: run guest/build.sh as root)")
    })
}

fn scenario(file: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{}", e.message))
}

fn job(s: &Scenario, case: Option<&str>, variant: &str) -> Job {
    s.jobs()
        .unwrap_or_else(|e| panic!("{}", e.message))
        .into_iter()
        .find(|j| j.variant == variant && j.case.as_deref() == case)
        .unwrap_or_else(|| panic!("{}: no job {case:?} {variant}", s.name))
}

/// The witness of `source`: `violation: <property>` or `outcome: <name>`.
fn witness(s: &Scenario, j: &Job, source: &str) -> sim::Trace {
    let run = s.run(j, 1).unwrap_or_else(|e| panic!("{}", e.message));
    let found = if let Some(p) = source.strip_prefix("violation: ") {
        run.broken
            .iter()
            .find(|b| b.property == p)
            .map(|b| b.trace.clone())
    } else {
        let o = source
            .strip_prefix("outcome: ")
            .expect("violation: or outcome:");
        run.outcomes
            .iter()
            .find(|x| x.name == o)
            .map(|x| x.trace.clone())
    };
    found.unwrap_or_else(|| panic!("{}: no witness `{source}`", s.name))
}

fn agree(
    file: &str,
    case: Option<&str>,
    variant: &str,
    source: &str,
) -> vmrace::real::replay::RealOutcome {
    let _g = serial();
    image();
    let s = scenario(file);
    let j = job(&s, case, variant);
    let trace = witness(&s, &j, source);
    let outcome = qemu_replay::replay(&s, &j, &trace).unwrap_or_else(|e| panic!("{}", e.message));
    eprintln!("{}", outcome.to_markdown());
    assert!(outcome.agreed, "{}", outcome.to_markdown());
    for k in [
        "accelerator",
        "accelerator_reason",
        "qemu_version",
        "guest_initramfs_sha256",
    ] {
        assert!(outcome.environment.contains_key(k), "environment lacks {k}");
    }
    outcome
}

const S000: &str = "seed-000-acpi-then-agent-reboot.yaml";

#[test]
fn seed_000_b0c144c5792_kills_qemu_for_real() {
    agree(
        S000,
        None,
        "b0c144c5792",
        "violation: reboot requests never kill the domain",
    );
}

#[test]
fn seed_000_revert_guest_comes_back_with_agent() {
    agree(
        S000,
        None,
        "revert-b0c144c5792",
        "outcome: A.result=REBOOT, A.acted=none",
    );
}

#[test]
fn seed_000_table_acpi_reboot_agent_reboot_shutdown_witness() {
    agree(
        "seed-000-reboot-table.yaml",
        Some("ACPI REBOOT, AGENT REBOOT"),
        "b0c144c5792",
        "outcome: A.result=SHUTDOWN",
    );
}

#[test]
fn seed_002_sigterm_leaves_fs_unsynced() {
    agree(
        "seed-002-supervisor-sigterm.yaml",
        Some(FAST_GUEST),
        "sigterm-poweroff",
        "violation: the guest file system is clean after the stop",
    );
}

const FAST_GUEST: &str = "guest shuts down within the stop timeout";
const SLOW_GUEST: &str = "guest may need longer than the timeouts";

#[test]
fn seed_002_powerdown_with_timeout_is_clean() {
    agree(
        "seed-002-supervisor-sigterm.yaml",
        Some(FAST_GUEST),
        "p0-powerdown+timeout",
        "outcome: A.fs=clean, A.qemu=exited",
    );
}

#[test]
fn seed_002_a_slow_guest_loses_its_clean_shutdown_to_the_timeout() {
    agree(
        "seed-002-supervisor-sigterm.yaml",
        Some(SLOW_GUEST),
        "p2-signal-map+timeout",
        "outcome: A.fs=dirty, A.qemu=exited",
    );
}

#[test]
fn seed_002_a_failed_signal_script_leaves_qemu_to_the_supervisor() {
    agree(
        "seed-002-supervisor-sigterm.yaml",
        Some(FAST_GUEST),
        "p3-script",
        "violation: the guest file system is clean after the stop",
    );
}

#[test]
fn seed_002_libvirts_sigterm_becomes_a_button_press_under_proposal_0() {
    agree(
        "seed-002-libvirt-sigterm.yaml",
        Some("virsh shutdown --mode acpi"),
        "p0-powerdown",
        "violation: the domain ends shut off",
    );
}

#[test]
fn a_destroy_is_the_apis_kill_not_the_event_threads() {
    agree(
        "seed-002-libvirt-sigterm.yaml",
        Some("virsh destroy"),
        "sigterm-poweroff",
        "outcome: A.state=shutoff, A.fs=dirty",
    );
}

#[test]
fn seed_002_guest_ignoring_acpi_ends_by_the_timeout() {
    agree(
        "seed-002-guest-ignores-acpi.yaml",
        None,
        "p0-powerdown+timeout",
        "outcome: A.qemu=exited, A.fs=dirty",
    );
}

#[test]
fn seed_000_a_fake_reboots_own_reset_never_clears_the_next_reboots_flag() {
    agree(
        "seed-000-late-reset.yaml",
        Some("qboot"),
        "on-reset",
        "outcome: A.result=REBOOT",
    );
}

#[test]
fn seed_001_agent_answers_after_restart_despite_libvirts_flag() {
    let outcome = agree(
        "seed-001-agent-error.yaml",
        None,
        "pre-2.5",
        "violation: the agent is usable after the restart",
    );
    let error = outcome
        .steps
        .iter()
        .find(|s| s.label == "agent error")
        .expect("the trace's agent error step");
    assert!(
        error.result.contains("Connection reset by peer"),
        "the injected agent error is a real read error: {error:?}"
    );
}

/// Child mode: replay the longest seed-000 witness (interrupted by the parent).
fn child() {
    let s = scenario(S000);
    let j = job(&s, None, "revert-b0c144c5792");
    let trace = witness(&s, &j, "outcome: A.result=REBOOT, A.acted=none");
    let r = qemu_replay::replay(&s, &j, &trace);
    panic!(
        "the parent did not interrupt the replay: {:?}",
        r.map(|o| o.agreed)
    );
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn sigint_mid_replay_leaves_nothing() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let _g = serial();
    let accel = accel::choose(&image()).accel.name();
    let tmp = PathBuf::from(format!("/tmp/vmrace-sigint-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("creating the child's TMPDIR");
    let exe = std::env::current_exe().expect("test executable");
    let mut child = Command::new(exe)
        .args(["--exact", "sigint_mid_replay_leaves_nothing", "--nocapture"])
        .env(CHILD_ENV, "1")
        .env(ACCEL_ENV, accel)
        .env("TMPDIR", &tmp)
        .spawn()
        .expect("spawning the child test process");
    // Wait until the child's QEMU runs, then let the replay get into the
    // trace's steps (the boot to the agent takes 2-8 s under TCG).
    let deadline = Instant::now() + Duration::from_secs(60);
    let run_dir = loop {
        let found = entries(&tmp)
            .into_iter()
            .find(|d| !cleanup::qemu_processes_mentioning(&d.display().to_string()).is_empty());
        if let Some(d) = found {
            break d;
        }
        assert!(Instant::now() < deadline, "the child never started QEMU");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        child.try_wait().expect("child").is_none(),
        "the child ended early"
    );
    // SAFETY: kill(2) on the child process we spawned.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the child") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the child did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(
        cleanup::qemu_processes_mentioning(&run_dir.display().to_string()).is_empty(),
        "a QEMU of {} survived",
        run_dir.display()
    );
    let left = entries(&tmp);
    let _ = std::fs::remove_dir(&tmp);
    assert!(left.is_empty(), "left behind: {left:?}");
}
