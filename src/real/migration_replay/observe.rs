//! The real end state of a migration replay, in the model's observation names.
//!
//! * `vm.runstate`: `migrated` once libvirt's Confirm phase stopped the source; `crashed` when
//!   the source exited by itself; else `query-status` (`running`; `paused` for paused,
//!   finish-migrate and postmigrate, as the model folds them).
//! * `vm.crashed`, `vm.crash`: which assertion QEMU's stderr names (`bdrv_co_write_req_prepare`:
//!   `guest-write`; `bdrv_inactivate_recurse`: `inactivate-recurse`).
//! * `vm.migration`: the status of the last `MIGRATION` event (`none` before any).
//! * `migrations_started`: `migrate` commands QEMU accepted.
//! * `diskN.write_perm` (writable disks, source alive): file-posix's `BLK_PERM_WRITE` lock
//!   byte on the node as QEMU's mount namespace sees it (`F_OFD_GETLK`): held iff the node
//!   holds the write permission.
//! * `diskN.resolves` (source alive): the disk's source path opens inside QEMU's `/dev`.
//! * `guest.writes_ok`, `guest.writes_lost`: real writes that completed, and that an abort took.

use std::collections::BTreeMap;

use models::migration::Config;

use super::steps::Runner;
use crate::real::qemu::{devns, Result};

/// What is not compared, and why (for the report).
pub const NOT_COMPARED: &str = "diskN.disable_perm and diskN.inactive (QEMU 7.2 shows neither \
     over QMP; their consequences are compared: the write lock, the next migration, a guest \
     write), diskN.open_error (file-posix drops the ENOENT of a loosening reopen silently), \
     libvirt.state and migrations_failed (the replay's own libvirt), guest.writes_pending";

/// Observation names the replay compares: always the VM's, the guest's and
/// `migrations_started`; a disk's lock and resolution only when the model predicts the source
/// is still there, and the lock only for writable disks.
pub fn compared(cfg: &Config, predicted: &BTreeMap<String, String>) -> Vec<String> {
    let mut names: Vec<String> = [
        "vm.runstate",
        "vm.crashed",
        "vm.crash",
        "vm.migration",
        "migrations_started",
        "guest.writes_ok",
        "guest.writes_lost",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let alive = matches!(
        predicted.get("vm.runstate").map(String::as_str),
        Some("running" | "paused")
    );
    if alive {
        for (d, disk) in cfg.disks.iter().enumerate() {
            names.push(format!("disk{d}.resolves"));
            if !disk.readonly {
                names.push(format!("disk{d}.write_perm"));
            }
        }
    }
    names.sort();
    names
}

fn crash_site(stderr: &str) -> String {
    if stderr.contains("bdrv_co_write_req_prepare") {
        "guest-write".into()
    } else if stderr.contains("bdrv_inactivate_recurse") {
        "inactivate-recurse".into()
    } else {
        let last = stderr.lines().last().unwrap_or("no stderr");
        format!("other: {last}")
    }
}

/// Observes the end state (every name; the caller keeps the compared ones).
pub fn observe(r: &mut Runner, cfg: &Config) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let exited = !r.src.qemu.is_running();
    let runstate = if r.src_stopped {
        "migrated".to_string()
    } else if exited {
        "crashed".to_string()
    } else {
        match r.src.status()?.as_str() {
            "running" => "running".to_string(),
            "paused" | "finish-migrate" | "postmigrate" => "paused".to_string(),
            other => other.to_string(),
        }
    };
    let crashed = runstate == "crashed";
    let crash = if crashed {
        crash_site(&r.src.qemu.stderr())
    } else {
        "none".into()
    };
    let migration = r.last_migration_status();
    out.insert("vm.runstate".into(), runstate.clone());
    out.insert("vm.crashed".into(), crashed.to_string());
    out.insert("vm.crash".into(), crash);
    out.insert("vm.migration".into(), migration);
    out.insert(
        "migrations_started".into(),
        r.migrations_started.to_string(),
    );
    out.insert("guest.writes_ok".into(), r.writes_ok.to_string());
    out.insert("guest.writes_lost".into(), r.writes_lost.to_string());
    let pid = r.src.qemu.pid();
    for (d, disk) in cfg.disks.iter().enumerate() {
        let real = &r.storage.disks[d];
        let (resolves, locked) = if r.src_stopped || exited {
            ("QEMU gone".to_string(), "QEMU gone".to_string())
        } else {
            let resolves = devns::resolves_in(pid, &real.path)?.to_string();
            let locked = if disk.readonly {
                "read-only".to_string()
            } else {
                devns::write_locked_in(pid, real.node())?.to_string()
            };
            (resolves, locked)
        };
        out.insert(format!("disk{d}.resolves"), resolves);
        out.insert(format!("disk{d}.write_perm"), locked);
    }
    Ok(out)
}
