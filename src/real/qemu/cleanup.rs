//! Process-global registry of running QEMUs and their run directories, and
//! the SIGINT/SIGTERM handler that kills them, removes the directories and
//! exits with status 130. Normal and panicking paths clean up in
//! [`Qemu`](super::Qemu)'s `Drop`; this covers a harness that is interrupted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::error::{Error, Result};

/// One registered QEMU run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRun {
    /// Process id of QEMU.
    pub pid: u32,
    /// Its per-run temporary directory.
    pub dir: PathBuf,
}

struct Registry {
    next: u64,
    runs: BTreeMap<u64, LiveRun>,
    /// Set by [`cleanup_all`]: no QEMU starts after it.
    closed: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 1,
    runs: BTreeMap::new(),
    closed: false,
});
static HANDLER: OnceLock<std::result::Result<(), String>> = OnceLock::new();

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the SIGINT/SIGTERM handler once per process (later calls return
/// the first outcome). On a signal it kills every registered QEMU with
/// SIGKILL, reaps it, removes its directory and exits the process with 130.
pub fn install_signal_handler() -> Result<()> {
    HANDLER
        .get_or_init(|| {
            let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name("vmrace-qemu-signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        // Keep the registry locked: no new QEMU starts after this.
                        let mut reg = registry();
                        let n = kill_all(&mut reg);
                        eprintln!("vmrace: signal {sig}: killed {n} QEMU process(es), exiting");
                        std::process::exit(130);
                    }
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| {
            Error::io(
                "installing the SIGINT/SIGTERM handler",
                std::io::Error::other(e),
            )
        })
}

/// Makes [`install_signal_handler`] a no-op: the program's own handler (which calls
/// [`cleanup_all`]) is in charge.
pub fn defer_to_program_handler() {
    let _ = HANDLER.set(Ok(()));
}

fn kill_all(reg: &mut Registry) -> usize {
    let runs = std::mem::take(&mut reg.runs);
    for run in runs.values() {
        kill_and_remove(run);
    }
    runs.len()
}

/// Kills (SIGKILL) and reaps every registered QEMU and removes its run
/// directory, without exiting, and closes the registry: later starts fail
/// with [`Error::Interrupted`]. Returns how many there were. For a program
/// that has its own signal handler (e.g. one that also cleans up
/// `real::net`): call this from it. The owning [`Qemu`](super::Qemu)
/// values then skip killing (the pid may already be reused) and should only
/// be dropped.
pub fn cleanup_all() -> usize {
    let mut reg = registry();
    reg.closed = true;
    kill_all(&mut reg)
}

fn kill_and_remove(run: &LiveRun) {
    if run.pid > 0 {
        let pid = run.pid as libc::pid_t;
        // SAFETY: plain syscalls on a child process id we spawned.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    let _ = std::fs::remove_dir_all(&run.dir);
}

/// Runs `spawn` (which creates a run directory and starts QEMU in it) with
/// the registry locked and registers the run it returns, so a signal cannot
/// fall between the start and the registration; refuses once [`cleanup_all`]
/// has closed the registry. Returns the registration id
/// and the rest of what `spawn` returned.
pub(crate) fn register_spawn<T>(spawn: impl FnOnce() -> Result<(LiveRun, T)>) -> Result<(u64, T)> {
    let mut reg = registry();
    if reg.closed {
        return Err(Error::Interrupted("no QEMU is started"));
    }
    let (run, value) = spawn()?;
    let id = reg.next;
    reg.next += 1;
    reg.runs.insert(id, run);
    Ok((id, value))
}

/// Ends a registration. If it is still registered, runs `stop` (which kills
/// and reaps the process) with the registry locked, so [`cleanup_all`] or
/// the signal handler never act on the same process concurrently; if
/// [`cleanup_all`] already took it, the process is gone and `stop` is skipped.
pub(crate) fn release(id: u64, stop: impl FnOnce()) {
    let mut reg = registry();
    if reg.runs.remove(&id).is_some() {
        stop();
    }
}

/// The QEMU runs currently registered in this process.
pub fn live_runs() -> Vec<LiveRun> {
    registry().runs.values().cloned().collect()
}

/// Process ids of running `qemu-system-*` processes whose command line
/// mentions `needle` (e.g. a run directory), from `/proc`.
pub fn qemu_processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        let mut args = cmdline.split('\0');
        let is_qemu = args
            .next()
            .is_some_and(|a| a.rsplit('/').next().unwrap_or(a).starts_with("qemu-system"));
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let zombie = status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'));
        if is_qemu && !zombie && cmdline.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}
