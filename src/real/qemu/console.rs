//! The guest's serial console (ttyS0 on a chardev socket): a thread reads it
//! line by line and stamps every line with the host receive time. The guest
//! scripts log as `[vmrace <uptime>] message`.

use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{Error, Result};
use super::stream::{connect_unix, spawn_reader, Item, LineLog, Stamp};

/// One console line.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleLine {
    /// When the host received it.
    pub received: Stamp,
    /// The text, without line ending (lossy UTF-8).
    pub text: String,
}

impl ConsoleLine {
    /// For a `[vmrace <uptime>] message` line: the guest uptime in seconds and the message.
    pub fn vmrace(&self) -> Option<(f64, &str)> {
        let rest = self.text.trim_start().strip_prefix("[vmrace ")?;
        let (up, msg) = rest.split_once("] ")?;
        Some((up.parse().ok()?, msg))
    }
}

/// A console reader.
pub struct Console {
    stream: UnixStream,
    log: Arc<LineLog>,
}

impl Console {
    /// Connects to the console socket at `path`, retrying until `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Console> {
        Console::from_stream(connect_unix(path, timeout, || true)?)
    }

    /// Starts reading a connected console socket.
    pub fn from_stream(stream: UnixStream) -> Result<Console> {
        let reader = stream
            .try_clone()
            .map_err(|e| Error::io("cloning the console socket", e))?;
        let log = spawn_reader(reader, "console", false)?;
        Ok(Console { stream, log })
    }

    /// All lines so far.
    pub fn lines(&self) -> Vec<ConsoleLine> {
        self.lines_from(0)
    }

    /// Lines from index `from` on.
    pub fn lines_from(&self, from: usize) -> Vec<ConsoleLine> {
        self.log
            .items_from(from)
            .into_iter()
            .filter_map(|(received, item)| match item {
                Item::Line(b) => Some(ConsoleLine {
                    received,
                    text: String::from_utf8_lossy(&b).into_owned(),
                }),
                Item::Delimiter => None,
            })
            .collect()
    }

    /// Number of lines so far (a mark for [`Console::wait_line`]).
    pub fn line_count(&self) -> usize {
        self.log.len()
    }

    /// True if any line so far contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines().iter().any(|l| l.text.contains(needle))
    }

    /// Waits for the first line at index `from` or later whose text satisfies
    /// `pred`; returns its index and the line.
    pub fn wait_line(
        &self,
        from: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> Result<(usize, ConsoleLine)> {
        let deadline = Instant::now() + timeout;
        let mut seen = from;
        loop {
            let lines = self.lines_from(seen);
            if let Some(i) = lines.iter().position(|l| pred(&l.text)) {
                return Ok((seen + i, lines[i].clone()));
            }
            seen += lines.len();
            if self.log.eof().is_some() && seen >= self.log.len() {
                return Err(Error::Eof {
                    channel: "console",
                    what: what.to_string(),
                });
            }
            if !self.log.wait_beyond(seen, deadline) {
                return Err(Error::Timeout {
                    what: what.to_string(),
                    timeout,
                });
            }
        }
    }

    /// When the console socket reached EOF (QEMU exited), if it did.
    pub fn eof(&self) -> Option<Stamp> {
        self.log.eof()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vmrace_lines() {
        let line = |text: &str| ConsoleLine {
            received: Stamp::now(),
            text: text.into(),
        };
        assert_eq!(
            line("[vmrace 1.52] fs: synced").vmrace(),
            Some((1.52, "fs: synced"))
        );
        assert_eq!(line("[    4.29] reboot: Power down").vmrace(), None);
    }
}
