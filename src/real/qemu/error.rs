//! The one error type of the real-QEMU building blocks.

use std::time::Duration;

/// What went wrong while building, starting or talking to a real QEMU.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The guest image is missing, stale or damaged; the text says how to build it.
    #[error("guest image: {0}")]
    Image(String),
    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Nothing suitable arrived in time.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        timeout: Duration,
    },
    /// The channel reached end-of-file (QEMU went away) before the awaited item.
    #[error("{channel} reached EOF while waiting for {what}")]
    Eof {
        /// Which channel: `qmp`, `agent`, `console` or `control`.
        channel: &'static str,
        /// What was awaited.
        what: String,
    },
    /// A QMP command returned an error object.
    #[error("QMP {command} failed: {class}: {desc}")]
    Qmp {
        /// The command.
        command: String,
        /// QMP error class.
        class: String,
        /// QMP error description.
        desc: String,
    },
    /// A guest-agent command returned an error object.
    #[error("guest agent {command} failed: {class}: {desc}")]
    Agent {
        /// The command.
        command: String,
        /// Error class.
        class: String,
        /// Error description.
        desc: String,
    },
    /// The peer sent something this client cannot understand.
    #[error("{channel} protocol error: {msg}")]
    Protocol {
        /// Which channel.
        channel: &'static str,
        /// What was wrong.
        msg: String,
    },
    /// A SIGINT/SIGTERM's cleanup has removed the replay's resources; nothing new is created.
    #[error("interrupted: {0} after the signal's cleanup")]
    Interrupted(&'static str),
    /// A host-side set-up step failed (mount namespace, loop device, storage links).
    #[error("host set-up: {0}")]
    Host(String),
    /// The QEMU process exited before the awaited step.
    #[error("QEMU exited ({status}) before {what}; stderr: {stderr}")]
    Exited {
        /// Exit status as text.
        status: String,
        /// What was being waited for.
        what: String,
        /// QEMU's stderr so far.
        stderr: String,
    },
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
