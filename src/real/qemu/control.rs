//! Host side of the guest's schedule-control port `org.vmrace.control.0`
//! (protocol in `guest/README.md`). With `vmrace.sched=1` on the kernel
//! command line, the guest stops at each scheduling point, sends
//! `WAIT <point>` and proceeds only when the host sends `GO <point>`; it then
//! answers `RUN <point>`. The guest also sends `HELLO vmrace-control 1
//! sched=<0|1>` when its control daemon starts (at every boot), and
//! `ERR <point> not-waiting` for a GO nobody waits for.

use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{Error, Result};
use super::stream::{connect_unix, spawn_reader, Item, LineLog, Stamp};

/// One line from the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlMsg {
    /// The guest control daemon started; `sched` tells whether points block.
    Hello {
        /// Whether `vmrace.sched=1` is set.
        sched: bool,
    },
    /// The guest waits at this point.
    Wait(String),
    /// The guest was released at this point.
    Run(String),
    /// The guest rejected a command (text after `ERR`).
    Err(String),
    /// Anything else.
    Other(String),
}

impl ControlMsg {
    /// Parses one protocol line.
    pub fn parse(line: &str) -> ControlMsg {
        let (verb, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let rest = rest.trim().to_string();
        match verb {
            "HELLO" => ControlMsg::Hello {
                sched: rest.split_whitespace().any(|w| w == "sched=1"),
            },
            "WAIT" => ControlMsg::Wait(rest),
            "RUN" => ControlMsg::Run(rest),
            "ERR" => ControlMsg::Err(rest),
            _ => ControlMsg::Other(line.to_string()),
        }
    }
}

/// A control message with its host receive time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlEvent {
    /// When the host received it.
    pub received: Stamp,
    /// The message.
    pub msg: ControlMsg,
}

/// The host end of the schedule-control port.
pub struct Control {
    writer: UnixStream,
    log: Arc<LineLog>,
}

impl Control {
    /// Connects to the control socket at `path`, retrying until `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Control> {
        Control::from_stream(connect_unix(path, timeout, || true)?)
    }

    /// Starts reading a connected control socket.
    pub fn from_stream(stream: UnixStream) -> Result<Control> {
        let writer = stream
            .try_clone()
            .map_err(|e| Error::io("cloning the control socket", e))?;
        let log = spawn_reader(stream, "control", false)?;
        Ok(Control { writer, log })
    }

    /// Messages from index `from` on.
    pub fn messages_from(&self, from: usize) -> Vec<ControlEvent> {
        self.log
            .items_from(from)
            .into_iter()
            .filter_map(|(received, item)| match item {
                Item::Line(b) => Some(ControlEvent {
                    received,
                    msg: ControlMsg::parse(&String::from_utf8_lossy(&b)),
                }),
                Item::Delimiter => None,
            })
            .collect()
    }

    /// All messages so far.
    pub fn messages(&self) -> Vec<ControlEvent> {
        self.messages_from(0)
    }

    /// Number of messages so far (a mark for [`Control::wait_msg`]).
    pub fn message_count(&self) -> usize {
        self.log.len()
    }

    /// Points the guest waits at now: WAITs not yet followed by a RUN.
    pub fn waiting(&self) -> Vec<String> {
        let mut w: Vec<String> = Vec::new();
        for e in self.messages() {
            match e.msg {
                ControlMsg::Wait(p) => w.push(p),
                ControlMsg::Run(p) => {
                    if let Some(i) = w.iter().position(|x| *x == p) {
                        w.remove(i);
                    }
                }
                ControlMsg::Hello { .. } => w.clear(),
                _ => {}
            }
        }
        w
    }

    /// Waits for the first message at index `from` or later equal to `want`;
    /// returns its index and the event.
    pub fn wait_msg(
        &self,
        from: usize,
        want: &ControlMsg,
        timeout: Duration,
    ) -> Result<(usize, ControlEvent)> {
        let what = format!("control message {want:?}");
        let deadline = Instant::now() + timeout;
        let mut seen = from;
        loop {
            let msgs = self.messages_from(seen);
            if let Some(i) = msgs.iter().position(|m| m.msg == *want) {
                return Ok((seen + i, msgs[i].clone()));
            }
            seen += msgs.len();
            if self.log.eof().is_some() && seen >= self.log.len() {
                return Err(Error::Eof {
                    channel: "control",
                    what,
                });
            }
            if !self.log.wait_beyond(seen, deadline) {
                return Err(Error::Timeout { what, timeout });
            }
        }
    }

    /// Sends `GO <point>`, releasing the guest at that point.
    pub fn go(&mut self, point: &str) -> Result<()> {
        self.writer
            .write_all(format!("GO {point}\n").as_bytes())
            .map_err(|e| Error::io(format!("sending GO {point}"), e))
    }

    /// Waits (from message index `from`) until the guest waits at `point`,
    /// sends `GO <point>` and waits for `RUN <point>`. Returns the index of
    /// the RUN message.
    pub fn release(&mut self, from: usize, point: &str, timeout: Duration) -> Result<usize> {
        let (i, _) = self.wait_msg(from, &ControlMsg::Wait(point.to_string()), timeout)?;
        self.go(point)?;
        let (j, _) = self.wait_msg(i + 1, &ControlMsg::Run(point.to_string()), timeout)?;
        Ok(j)
    }

    /// When the control socket reached EOF (QEMU exited), if it did.
    pub fn eof(&self) -> Option<Stamp> {
        self.log.eof()
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protocol_lines() {
        assert_eq!(
            ControlMsg::parse("HELLO vmrace-control 1 sched=1"),
            ControlMsg::Hello { sched: true }
        );
        assert_eq!(
            ControlMsg::parse("HELLO vmrace-control 1 sched=0"),
            ControlMsg::Hello { sched: false }
        );
        assert_eq!(
            ControlMsg::parse("WAIT lock-ga"),
            ControlMsg::Wait("lock-ga".into())
        );
        assert_eq!(
            ControlMsg::parse("RUN pwrbtn"),
            ControlMsg::Run("pwrbtn".into())
        );
        assert_eq!(
            ControlMsg::parse("ERR x not-waiting"),
            ControlMsg::Err("x not-waiting".into())
        );
        assert_eq!(ControlMsg::parse("junk"), ControlMsg::Other("junk".into()));
    }
}
