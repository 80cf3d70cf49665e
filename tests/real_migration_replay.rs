//! Real migration replay (seed 003): two real QEMUs in private mount namespaces, loop-device
//! disks behind symlink chains. The witnesses of the variant this machine's QEMU implements
//! must agree with the model; the stored violation traces of the other variants must depart
//! from the model exactly where those QEMU versions differ (which pins the failure path this
//! QEMU takes); a SIGINT mid-replay must leave no QEMU, loop device, `/dev` entry or directory.
//!
//! These tests need root, loop devices, QEMU and the guest image; they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vmrace::real::migration_replay;
use vmrace::real::qemu::accel::{self, ACCEL_ENV};
use vmrace::real::qemu::{cleanup, GuestImage};
use vmrace::real::replay::RealOutcome;
use vmrace::scenario::{Job, Scenario};

const CHILD_ENV: &str = "VMRACE_TEST_MIGRATION_CHILD";
const SOCKET: &str = "seed-003-socket-error.yaml";
const ENOENT: &str = "seed-003-namespace-enoent.yaml";
/// The variant of Debian bookworm's QEMU 7.2 (deb12u1 onwards) that the test command installs.
const THIS_QEMU: &str = "reactivate-on-failure";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(file: &str) -> Scenario {
    Scenario::load(&root().join("scenarios").join(file)).unwrap_or_else(|e| panic!("{}", e.message))
}

fn job(s: &Scenario, variant: &str) -> Job {
    s.jobs()
        .unwrap_or_else(|e| panic!("{}", e.message))
        .into_iter()
        .find(|j| j.variant == variant)
        .unwrap_or_else(|| panic!("{}: no variant {variant}", s.name))
}

fn replay(s: &Scenario, j: &Job, trace: &sim::Trace) -> RealOutcome {
    GuestImage::locate().unwrap_or_else(|e| panic!("{e}"));
    let outcome = migration_replay::replay(s, j, trace).unwrap_or_else(|e| panic!("{}", e.message));
    eprintln!("{}", outcome.to_markdown());
    outcome
}

/// Every outcome witness of `file`'s variant for this QEMU agrees with the model.
fn witnesses_agree(file: &str) -> Vec<RealOutcome> {
    let _g = serial();
    let s = scenario(file);
    let j = job(&s, THIS_QEMU);
    assert_eq!(
        migration_replay::other_qemu(&s, &j).unwrap_or_else(|e| panic!("{}", e.message)),
        None,
        "the installed QEMU is expected to be `{THIS_QEMU}`"
    );
    let run = s.run(&j, 1).unwrap_or_else(|e| panic!("{}", e.message));
    assert!(!run.outcomes.is_empty());
    let mut all = Vec::new();
    for o in &run.outcomes {
        let outcome = replay(&s, &j, &o.trace);
        assert!(outcome.agreed, "{}: {}", o.name, outcome.to_markdown());
        all.push(outcome);
    }
    all
}

fn stored(name: &str) -> (Scenario, Job, sim::Trace) {
    let path = root().join("scenarios/traces").join(name);
    let text = std::fs::read_to_string(&path).expect("stored trace");
    let trace: sim::Trace = serde_yaml_ng::from_str(&text).expect("trace YAML");
    let file = format!("{}.yaml", trace.context["scenario"]);
    let s = scenario(&file);
    let j = job(&s, &trace.context["variant"]);
    (s, j, trace)
}

#[test]
fn socket_error_after_inactivation_reactivates_and_the_vm_migrates_again() {
    let outcomes = witnesses_agree(SOCKET);
    let failed = &outcomes[0].environment["failed_migrations"];
    assert!(failed.contains("disk0 write lock held"), "{failed}");
}

#[test]
fn enoent_in_qemus_private_dev_fails_the_migration_and_the_repair_lets_it_succeed() {
    let outcomes = witnesses_agree(ENOENT);
    let failed = &outcomes[0].environment["failed_migrations"];
    assert!(failed.contains("bdrv_inactivate_all() failed"), "{failed}");
    assert!(outcomes[0]
        .steps
        .iter()
        .any(|s| s.label == "fix-namespace" && s.result.contains("storpool-byid")));
}

#[test]
fn this_qemu_is_not_the_sticky_one_the_resumed_guest_write_lands() {
    let _g = serial();
    let (s, j, trace) = stored("seed-003-socket-error.sticky-disable-perm.QEMU-never-aborts.yaml");
    let outcome = replay(&s, &j, &trace);
    assert!(!outcome.agreed);
    assert_eq!(outcome.predicted["vm.crashed"], "true");
    assert_eq!(outcome.observed["vm.crashed"], "false");
    assert_eq!(outcome.observed["guest.writes_ok"], "1");
    assert!(
        outcome.environment["diverged"].contains("write disk0"),
        "{:?}",
        outcome.environment
    );
}

#[test]
fn this_qemu_is_not_the_7_2_0_one_the_second_migration_completes() {
    let _g = serial();
    let (s, j, trace) = stored(
        "seed-003-namespace-enoent.fail-invalidate-label.the-second-migration-succeeds-once-storage-is-fixed.yaml",
    );
    let outcome = replay(&s, &j, &trace);
    assert!(!outcome.agreed);
    assert_eq!(outcome.predicted["vm.migration"], "failed");
    assert_eq!(outcome.observed["vm.migration"], "completed");
    let diverged = &outcome.environment["diverged"];
    assert!(
        diverged.contains("migration_completion: fail") && diverged.contains("completed"),
        "{diverged}"
    );
}

const RECOVERY: &str = "seed-003-recovery.yaml";

/// `file`'s job for `case` and `variant`.
fn case_job(s: &Scenario, case: &str, variant: &str) -> Job {
    s.jobs()
        .unwrap_or_else(|e| panic!("{}", e.message))
        .into_iter()
        .find(|j| j.variant == variant && j.case.as_deref() == Some(case))
        .unwrap_or_else(|| panic!("{}: no case {case} variant {variant}", s.name))
}

/// The recovery cases on this QEMU (6dab4c93ec re-activated already, so each recovery must
/// leave the write lock held and the last migration complete): `virsh suspend` is a real QMP
/// `stop` with its real `STOP`, `virsh resume` a real `cont` with its `RESUME`, the
/// passed-through `cont` a real `cont` on a running VM (no event); every witness agrees.
#[test]
fn recovery_ops_run_for_real_and_agree() {
    let _g = serial();
    let s = scenario(RECOVERY);
    for (case, sent) in [
        ("suspend-resume", vec!["QMP stop", "QMP cont"]),
        ("cont", vec!["QMP cont passed through"]),
    ] {
        let j = case_job(&s, case, THIS_QEMU);
        assert_eq!(
            migration_replay::other_qemu(&s, &j).unwrap_or_else(|e| panic!("{}", e.message)),
            None
        );
        let run = s.run(&j, 1).unwrap_or_else(|e| panic!("{}", e.message));
        assert!(!run.outcomes.is_empty(), "{case}");
        for o in &run.outcomes {
            let outcome = replay(&s, &j, &o.trace);
            assert!(
                outcome.agreed,
                "{case} {}: {}",
                o.name,
                outcome.to_markdown()
            );
            assert_eq!(outcome.observed["vm.runstate"], "migrated", "{case}");
            for want in &sent {
                assert!(
                    outcome.steps.iter().any(|st| st.action.starts_with(want)),
                    "{case}: no `{want}` step: {}",
                    outcome.to_markdown()
                );
            }
            if case == "suspend-resume" {
                let stop = outcome.steps.iter().find(|st| st.label == "qmp_stop");
                let stop = stop.unwrap_or_else(|| panic!("no qmp_stop step"));
                assert!(stop.result.contains("STOP"), "{}", stop.result);
                let cont = outcome.steps.iter().filter(|st| st.label == "qmp_cont");
                assert!(cont.clone().any(|st| st.result.contains("RESUME")));
            }
        }
    }
}

/// Child mode: replay the ENOENT witness (interrupted by the parent).
fn child() {
    let s = scenario(ENOENT);
    let j = job(&s, THIS_QEMU);
    let run = s.run(&j, 1).unwrap_or_else(|e| panic!("{}", e.message));
    let r = migration_replay::replay(&s, &j, &run.outcomes[0].trace);
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

fn dev_entries(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("vmrace-{pid}-");
    entries(Path::new("/dev"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect()
}

fn loops_backed_by(dir: &Path) -> Vec<String> {
    let out = Command::new("losetup")
        .args(["--list", "--noheadings", "--output", "NAME,BACK-FILE"])
        .output()
        .expect("losetup");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&dir.display().to_string()))
        .map(str::to_string)
        .collect()
}

#[test]
fn sigint_mid_migration_replay_leaves_nothing() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let _g = serial();
    let accel = accel::choose(&GuestImage::locate().unwrap_or_else(|e| panic!("{e}")))
        .accel
        .name();
    let tmp = PathBuf::from(format!("/tmp/vmrace-migsig-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("creating the child's TMPDIR");
    let exe = std::env::current_exe().expect("test executable");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "sigint_mid_migration_replay_leaves_nothing",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .env(ACCEL_ENV, accel)
        .env("TMPDIR", &tmp)
        .spawn()
        .expect("spawning the child test process");
    // wait until the child's source QEMU runs and its loop device exists
    let deadline = Instant::now() + Duration::from_secs(60);
    let run_dir = loop {
        let found = entries(&tmp)
            .into_iter()
            .find(|d| !cleanup::qemu_processes_mentioning(&d.display().to_string()).is_empty());
        if let Some(d) = found {
            if !loops_backed_by(&tmp).is_empty() {
                break d;
            }
        }
        assert!(Instant::now() < deadline, "the child never started QEMU");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        !dev_entries(child.id()).is_empty(),
        "no /dev/vmrace-{}-* entry",
        child.id()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().expect("child").is_none(),
        "the child ended early"
    );
    // SAFETY: kill(2) on the child process we spawned.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(20);
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
    assert!(
        dev_entries(child.id()).is_empty(),
        "left in /dev: {:?}",
        dev_entries(child.id())
    );
    let loops = loops_backed_by(&tmp);
    let left = entries(&tmp);
    let _ = std::fs::remove_dir(&tmp);
    assert!(loops.is_empty(), "loop devices left: {loops:?}");
    assert!(left.is_empty(), "left behind: {left:?}");
}
