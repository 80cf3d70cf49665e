//! Two kinds of failure, kept apart on purpose: [`NetError`] means the harness itself could not do
//! its job (a tool is missing, a daemon died, an operation named an unknown VM), while [`Errno`] is
//! a kernel refusal that libvirt would also have seen (EBUSY from `SIOCBRADDIF`, ...) and is
//! therefore a *result* of a replayed step, not an error of the replay.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Result type of the real-network layer.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// The harness could not carry out a step; the replay is invalid, not the system under test.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Real network replay needs root (network namespaces, tap devices, bridge ioctls).
    #[error(
        "real network replay must run as root (it creates network namespaces and tap devices)"
    )]
    NotRoot,
    /// A SIGINT/SIGTERM's cleanup has torn the sandboxes down; no new one is set up.
    #[error("interrupted: no network sandbox is set up after the signal's cleanup")]
    Interrupted,
    /// An external program is not installed; the message names the Debian package to install.
    #[error("`{tool}` not found in PATH or /usr/sbin, /sbin, /usr/bin, /bin: install the Debian package `{package}` (apt-get install -y {package})")]
    MissingTool {
        /// Program or file that was looked for.
        tool: String,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// The `vmrace-nethelper` binary (tap holder, bridge ioctls) is not where it was looked for.
    #[error("helper binary `vmrace-nethelper` not found (looked at {looked_at:?}); build it with `cargo build --bin vmrace-nethelper` or point VMRACE_NETHELPER at it")]
    MissingHelper {
        /// Every path that was tried.
        looked_at: Vec<PathBuf>,
    },
    /// A command ran but failed; stderr (and daemon log tails, where relevant) are included.
    #[error("`{command}` failed ({status}): {detail}")]
    Command {
        /// The command line, for copy-paste reproduction.
        command: String,
        /// Exit status or the reason it could not run.
        status: String,
        /// Its stderr or the relevant log tail.
        detail: String,
    },
    /// A daemon or helper did not reach the expected state in time.
    #[error("timed out after {seconds} s waiting for {what}: {detail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        seconds: u64,
        /// Log tail or last error seen.
        detail: String,
    },
    /// An operation needs a VM state the trace has not produced (e.g. AddPort before CreateTap).
    #[error("VM `{vm}`: {problem}")]
    VmState {
        /// The VM named by the operation.
        vm: String,
        /// What is missing or contradictory.
        problem: String,
    },
    /// An OVS operation was requested on a sandbox built with [`crate::real::net::Backend::LinuxBridge`].
    #[error(
        "operation needs Open vSwitch, but the sandbox was created with the Linux-bridge backend"
    )]
    NoOvs,
    /// Any other I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Output of a tool could not be understood (format change, truncated output).
    #[error("could not parse output of `{command}`: {detail}")]
    Parse {
        /// The command whose output was unexpected.
        command: String,
        /// What was wrong.
        detail: String,
    },
}

impl NetError {
    /// Wraps an I/O error with the action that failed, so messages say what the harness was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io {
            context: context.into(),
            source,
        }
    }
}

/// A kernel error number returned by a replayed step (e.g. 16 = EBUSY from `SIOCBRADDIF` on an
/// enslaved tap). It serialises as the bare number; [`Errno::name`] gives the symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Errno(pub i32);

impl Errno {
    /// The calling thread's current `errno`, read right after a failed libc call.
    pub fn last() -> Self {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// Symbolic name for the values these operations can produce, `"E?"` for others.
    pub fn name(self) -> &'static str {
        match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::ELOOP => "ELOOP",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EBADFD => "EBADFD",
            _ => "E?",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::io::Error::from_raw_os_error(self.0);
        write!(f, "{} ({text})", self.name())
    }
}
