//! The binary's one SIGINT/SIGTERM handler: it cleans up every real-replay resource (network
//! sandboxes and QEMU processes with their run directories), then exits 128 + signal. The two
//! back ends each offer a handler of their own for programs that use only one; a process must
//! not install both, or whichever exits first cuts the other's cleanup short.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Installs the handler (a thread waiting for the signals).
pub fn install() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("vmrace-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                super::net::cleanup_all();
                super::qemu::cleanup::cleanup_all();
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}
