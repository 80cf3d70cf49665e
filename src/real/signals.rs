//! The program's one SIGINT/SIGTERM handler: it cleans up every real-replay resource (QEMU
//! processes with their run directories, migration storage, network sandboxes), then exits
//! 128 + signal. The back ends each offer a handler of their own for programs that use only
//! one; installing this one turns theirs into no-ops, so no other handler's exit can cut its
//! cleanup short.
//!
//! The replay's own thread keeps running while the handler works: killing QEMU makes its QMP
//! calls fail, and an error returned from there could end the process (with another status)
//! before the handler is done. Each back end's `cleanup_all` therefore closes its registry
//! (nothing new is created after it), a resource's own Drop undoes it with its registry
//! locked (so the cleanup, and the exit after it, wait for an undo under way), and the replays
//! pass their result through [`settle`], which never returns once a signal has arrived. A
//! second signal during the cleanup exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
/// Set by the handler before it cleans up anything.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (a thread waiting for the signals) once; later calls return the first
/// outcome.
pub fn install() -> std::io::Result<()> {
    INSTALLED
        .get_or_init(|| spawn().map_err(|e| e.to_string()))
        .clone()
        .map_err(std::io::Error::other)
}

/// Whether the handler has caught a signal (and is cleaning up, then exiting).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Returns `result` unless a signal has arrived; then waits for the handler to end the process
/// (whatever went wrong on this thread was caused by the cleanup, and must not end the process
/// first). A signal that arrives after this returned races the caller's own exit.
pub fn settle<T>(result: T) -> T {
    while interrupted() {
        std::thread::park();
    }
    result
}

/// A second SIGINT/SIGTERM during the cleanup ends the process at once (the shell convention:
/// press Ctrl-C again to stop waiting), leaving what the cleanup has not removed yet.
fn exit_on_a_second_signal() {
    if let Ok(mut again) = Signals::new([SIGINT, SIGTERM]) {
        let _ = std::thread::Builder::new()
            .name("vmrace-signals-again".into())
            .spawn(move || {
                if let Some(signal) = again.forever().next() {
                    std::process::exit(128 + signal);
                }
            });
    }
}

fn spawn() -> std::io::Result<()> {
    super::qemu::cleanup::defer_to_program_handler();
    super::net::defer_to_program_handler();
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("vmrace-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                exit_on_a_second_signal();
                // a panic in a cleanup (a message to a closed stderr) must not keep the process
                // from exiting: the other threads wait in `settle`
                let _ = std::panic::catch_unwind(|| {
                    super::qemu::cleanup::cleanup_all();
                    super::migration_replay::storage::cleanup_all();
                    super::net::cleanup_all();
                });
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}
