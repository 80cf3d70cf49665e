//! Process-wide bookkeeping of live sandboxes, so that Ctrl-C or SIGTERM still tears them down
//! (Drop does not run when a signal ends the process), plus a sweep for leftovers of processes
//! that were SIGKILLed and could not clean up at all.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::error::{NetError, Result};
use super::sandbox::{lock, State};
use super::tools::{run, which};

/// Live sandboxes by id, and whether [`cleanup_all`] has closed the registry. Lock order: this
/// registry first, then a sandbox state, never the reverse (sandbox teardown unregisters before
/// locking its own state).
struct Live {
    sandboxes: BTreeMap<u64, Arc<Mutex<State>>>,
    closed: bool,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    sandboxes: BTreeMap::new(),
    closed: false,
});
/// Whether [`install_signal_handler`] already ran.
static HANDLER: Mutex<bool> = Mutex::new(false);

fn live() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers a sandbox before it creates anything; refuses once [`cleanup_all`] has run.
pub(crate) fn register(id: u64, state: Arc<Mutex<State>>) -> Result<()> {
    let mut live = live();
    if live.closed {
        return Err(NetError::Interrupted);
    }
    live.sandboxes.insert(id, state);
    Ok(())
}

/// Unregisters a sandbox and runs `teardown` with the registry still locked, so that
/// [`cleanup_all`] (and the signal handler's exit after it) waits until the teardown is done.
pub(crate) fn unregister_while<T>(id: u64, teardown: impl FnOnce() -> T) -> T {
    let mut live = live();
    live.sandboxes.remove(&id);
    teardown()
}

/// Tears down every live sandbox of this process, printing problems to stderr, and closes the
/// registry (no sandbox is created after it). Meant for a caller's own signal handler;
/// [`install_signal_handler`] calls it for you. Sandboxes cleaned this way become inert: later
/// operations on them fail and dropping them does nothing.
pub fn cleanup_all() {
    let sandboxes: Vec<_> = {
        let mut live = live();
        live.closed = true;
        std::mem::take(&mut live.sandboxes).into_values().collect()
    };
    for state in sandboxes {
        let mut state = lock(&state);
        for problem in state.cleanup() {
            eprintln!("vmrace: cleaning up sandbox {}: {problem}", state.netns);
        }
    }
}

/// Makes [`install_signal_handler`] a no-op: the program's own handler (which calls
/// [`cleanup_all`]) is in charge.
pub fn defer_to_program_handler() {
    *HANDLER.lock().unwrap_or_else(|p| p.into_inner()) = true;
}

/// Installs (once; later calls do nothing) a SIGINT/SIGTERM handler thread that runs
/// [`cleanup_all`] and exits with the shell convention 128 + signal (130 for Ctrl-C, 143 for
/// SIGTERM). Child processes that the terminal's Ctrl-C also hits are tolerated by cleanup.
pub fn install_signal_handler() -> Result<()> {
    let mut installed = HANDLER.lock().unwrap_or_else(|p| p.into_inner());
    if *installed {
        return Ok(());
    }
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| NetError::io("install SIGINT/SIGTERM handler", e))?;
    std::thread::Builder::new()
        .name("vmrace-net-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                cleanup_all();
                std::process::exit(128 + signal);
            }
        })
        .map_err(|e| NetError::io("spawn signal handler thread", e))?;
    *installed = true;
    Ok(())
}

/// Removes what SIGKILLed vmrace processes left behind: `vmrace-<pid>-<n>` namespaces (after
/// SIGKILLing the processes still inside them) and `vmrace-net-<pid>-<n>` temp directories, but
/// only where `<pid>` is no longer alive. Returns what was removed.
pub fn sweep_stale() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let ip = which("ip", "iproute2")?;
    for name in stale_entries(Path::new("/run/netns"), "vmrace-") {
        let mut pids = Command::new(&ip);
        pids.args(["netns", "pids", &name]);
        let out = run(&mut pids)?;
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<libc::pid_t>() {
                // SAFETY: sending a signal has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let mut del = Command::new(&ip);
        del.args(["netns", "del", &name]);
        run(&mut del)?;
        removed.push(format!("netns {name}"));
    }
    for name in stale_entries(&std::env::temp_dir(), "vmrace-net-") {
        let path = std::env::temp_dir().join(&name);
        std::fs::remove_dir_all(&path)
            .map_err(|e| NetError::io(format!("remove {}", path.display()), e))?;
        removed.push(path.display().to_string());
    }
    Ok(removed)
}

/// Entries of `dir` named `<prefix><pid>-<n>` whose pid is dead.
fn stale_entries(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            let Some((pid, n)) = name.strip_prefix(prefix).and_then(|r| r.split_once('-')) else {
                return false;
            };
            match (pid.parse::<libc::pid_t>(), n.parse::<u64>()) {
                (Ok(pid), Ok(_)) => !alive(pid),
                _ => false,
            }
        })
        .collect();
    names.sort();
    names
}

fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}
