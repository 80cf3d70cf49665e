//! The program's one SIGINT/SIGTERM handler: it cleans up every real-replay resource (QEMU
//! processes with their run directories, migration storage, network sandboxes), then exits
//! 128 + signal. The back ends each offer a handler of their own for programs that use only
//! one; installing this one turns theirs into no-ops, so no other handler's exit can cut its
//! cleanup short.

use std::sync::OnceLock;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Installs the handler (a thread waiting for the signals) once; later calls return the first
/// outcome.
pub fn install() -> std::io::Result<()> {
    INSTALLED
        .get_or_init(|| spawn().map_err(|e| e.to_string()))
        .clone()
        .map_err(std::io::Error::other)
}

fn spawn() -> std::io::Result<()> {
    super::qemu::cleanup::defer_to_program_handler();
    super::net::defer_to_program_handler();
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("vmrace-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                super::qemu::cleanup::cleanup_all();
                super::migration_replay::storage::cleanup_all();
                super::net::cleanup_all();
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}
