//! What the SIGINT/SIGTERM handler's cleanup promises while the replay's own thread keeps
//! running: once each back end's `cleanup_all` has run, nothing new reaches the host (no QEMU,
//! no storage under `/dev` or the temporary directory, no network namespace), and a thread
//! whose work the cleanup broke waits for the handler to end the process instead of ending it
//! with a status of its own.
//!
//! The cleanup closes process-wide registries, so each check runs in a child process of its own
//! (this test executable, re-run with an environment variable). These tests need root, loop
//! devices, QEMU, iproute2 and the guest image; they never skip.

use std::path::PathBuf;
use std::process::Command;

use models::migration::DiskConfig;
use vmrace::real::migration_replay::storage::HostStorage;
use vmrace::real::net::{self, Backend, NetError, Sandbox};
use vmrace::real::qemu::accel::Accel;
use vmrace::real::qemu::{self, cleanup, GuestImage, LaunchConfig, Qemu};
use vmrace::real::signals;

const CHILD_ENV: &str = "VMRACE_TEST_SIGNAL_CLEANUP_CHILD";

/// Runs test `name` again in a child process with [`CHILD_ENV`] set; returns its exit code.
fn in_child(name: &str) -> Option<i32> {
    let out = Command::new(std::env::current_exe().expect("test executable"))
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("spawning the child test process");
    eprintln!(
        "child {name}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code()
}

fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

fn dev_entries() -> Vec<PathBuf> {
    let prefix = format!("vmrace-{}-", std::process::id());
    std::fs::read_dir("/dev")
        .expect("reading /dev")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect()
}

#[test]
fn no_storage_is_created_after_the_cleanup() {
    if !is_child() {
        assert_eq!(in_child("no_storage_is_created_after_the_cleanup"), Some(0));
        return;
    }
    vmrace::real::migration_replay::storage::cleanup_all();
    let disk = DiskConfig {
        path: "/var/lib/vm/disk.0".into(),
        chain: vec!["/dev/pool/vol".into()],
        retarget: None,
        readonly: false,
    };
    let made = HostStorage::create(&[disk]);
    assert!(matches!(made, Err(qemu::Error::Interrupted(_))), "{made:?}");
    assert!(dev_entries().is_empty(), "{:?}", dev_entries());
}

#[test]
fn no_qemu_starts_after_the_cleanup() {
    if !is_child() {
        assert_eq!(in_child("no_qemu_starts_after_the_cleanup"), Some(0));
        return;
    }
    let image = GuestImage::locate().unwrap_or_else(|e| panic!("{e}"));
    cleanup::cleanup_all();
    let started = Qemu::spawn(&LaunchConfig::new(image, Accel::Tcg));
    assert!(
        matches!(started, Err(qemu::Error::Interrupted(_))),
        "{started:?}"
    );
    assert!(cleanup::live_runs().is_empty());
}

#[test]
fn no_network_sandbox_is_set_up_after_the_cleanup() {
    if !is_child() {
        assert_eq!(
            in_child("no_network_sandbox_is_set_up_after_the_cleanup"),
            Some(0)
        );
        return;
    }
    net::cleanup_all();
    let made = Sandbox::with_helper(Backend::LinuxBridge, env!("CARGO_BIN_EXE_vmrace-nethelper"));
    assert!(matches!(made, Err(NetError::Interrupted)), "{made:?}");
}

/// The child's main thread sees the signal's effect and would exit with 7; `settle` must hold
/// it until the handler exits with 128 + SIGINT.
#[test]
fn a_thread_broken_by_the_cleanup_waits_for_the_handler_to_exit() {
    if !is_child() {
        assert_eq!(
            in_child("a_thread_broken_by_the_cleanup_waits_for_the_handler_to_exit"),
            Some(130)
        );
        return;
    }
    signals::install().expect("installing the handler");
    assert!(!signals::interrupted());
    assert_eq!(signals::settle(5), 5, "no signal yet: settle returns");
    // SAFETY: raise(3) sends a signal to this process; the handler thread catches it.
    unsafe { libc::raise(libc::SIGINT) };
    while !signals::interrupted() {
        std::thread::yield_now();
    }
    signals::settle(());
    std::process::exit(7);
}
