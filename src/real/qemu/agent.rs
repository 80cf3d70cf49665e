//! A qemu-ga client on the agent chardev socket. `guest-sync-delimited` with
//! the 0xFF delimiter (the host sends 0xFF to reset qemu-ga's parser; the
//! reply comes after a 0xFF), plain `guest-sync` as libvirt uses it,
//! `guest-ping`, and `guest-shutdown`, which sends no reply on success and is
//! not waited for. Replies are matched by id; anything else (answers to
//! requests queued while the guest was down, the parse error qemu-ga sends
//! for the 0xFF) is kept as stale. EOF here means QEMU went away: QEMU never
//! closes this socket when only the guest agent goes away.

use std::collections::HashSet;
use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::error::{Error, Result};
use super::stream::{connect_unix, spawn_reader, Item, LineLog, Stamp};

/// `guest-shutdown` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Power off (`shutdown -h -P +0`).
    Powerdown,
    /// Reboot (`shutdown -h -r +0`).
    Reboot,
    /// Halt (`shutdown -h -H +0`).
    Halt,
}

impl ShutdownMode {
    /// The mode's name in the QGA schema.
    pub fn name(self) -> &'static str {
        match self {
            ShutdownMode::Powerdown => "powerdown",
            ShutdownMode::Reboot => "reboot",
            ShutdownMode::Halt => "halt",
        }
    }
}

/// One message from the agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentMessage {
    /// When the host received it.
    pub received: Stamp,
    /// Whether a 0xFF delimiter came right before it.
    pub after_delimiter: bool,
    /// The JSON message (or a string holding unparsable text).
    pub body: Value,
}

/// A guest-agent connection.
pub struct Agent {
    writer: UnixStream,
    log: Arc<LineLog>,
    cursor: usize,
    pending_delimiter: bool,
    inbox: Vec<AgentMessage>,
    stale: Vec<AgentMessage>,
    outstanding: HashSet<u64>,
    next_id: u64,
}

impl Agent {
    /// Connects to the agent socket at `path`, retrying until `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Agent> {
        Agent::from_stream(connect_unix(path, timeout, || true)?)
    }

    /// Wraps a connected agent socket.
    pub fn from_stream(stream: UnixStream) -> Result<Agent> {
        let writer = stream
            .try_clone()
            .map_err(|e| Error::io("cloning the agent socket", e))?;
        let log = spawn_reader(stream, "agent", true)?;
        // Ids unlikely to collide with those of an earlier host connection,
        // whose requests a later qemu-ga may still answer.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        Ok(Agent {
            writer,
            log,
            cursor: 0,
            pending_delimiter: false,
            inbox: Vec::new(),
            stale: Vec::new(),
            outstanding: HashSet::new(),
            next_id: (seed ^ (u64::from(std::process::id()) << 20)) % 1_000_000_000 + 1,
        })
    }

    fn pump(&mut self) {
        let items = self.log.items_from(self.cursor);
        self.cursor += items.len();
        for (stamp, item) in items {
            match item {
                Item::Delimiter => self.pending_delimiter = true,
                Item::Line(bytes) => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&bytes).into_owned())
                    });
                    self.inbox.push(AgentMessage {
                        received: stamp,
                        after_delimiter: std::mem::take(&mut self.pending_delimiter),
                        body,
                    });
                }
            }
        }
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn write(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        self.writer
            .write_all(bytes)
            .map_err(|e| Error::io(format!("sending {what} to the guest agent"), e))
    }

    fn is_outstanding(&self, m: &AgentMessage) -> bool {
        m.body
            .get("id")
            .and_then(Value::as_u64)
            .is_some_and(|id| self.outstanding.contains(&id))
    }

    /// Moves inbox messages that no sent request still waits for to the stale list.
    fn sweep(&mut self) {
        for m in std::mem::take(&mut self.inbox) {
            if self.is_outstanding(&m) {
                self.inbox.push(m);
            } else {
                self.stale.push(m);
            }
        }
    }

    /// Waits for the first message `matches` accepts. Messages before it
    /// become stale unless they answer a request still outstanding.
    fn wait_message(
        &mut self,
        timeout: Duration,
        what: &str,
        matches: impl Fn(&AgentMessage) -> bool,
    ) -> Result<AgentMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if let Some(pos) = self.inbox.iter().position(&matches) {
                let rest = self.inbox.split_off(pos + 1);
                let found = self.inbox.pop();
                self.sweep();
                self.inbox.extend(rest);
                if let Some(m) = found {
                    return Ok(m);
                }
            }
            self.sweep();
            if self.log.eof().is_some() && self.cursor >= self.log.len() {
                return Err(Error::Eof {
                    channel: "agent",
                    what: what.to_string(),
                });
            }
            if !self.log.wait_beyond(self.cursor, deadline) {
                return Err(Error::Timeout {
                    what: what.to_string(),
                    timeout,
                });
            }
        }
    }

    /// Sends 0xFF and `guest-sync-delimited` with a fresh id, and waits for
    /// the reply carrying that id after a delimiter. Returns the id.
    pub fn sync(&mut self, timeout: Duration) -> Result<u64> {
        let id = self.take_id();
        let mut bytes = vec![0xff];
        let msg = json!({ "execute": "guest-sync-delimited", "arguments": { "id": id } });
        bytes.extend_from_slice(format!("{msg}\n").as_bytes());
        self.write(&bytes, "guest-sync-delimited")?;
        self.wait_message(timeout, "the guest-sync-delimited reply", |m| {
            m.after_delimiter && m.body.get("return").and_then(Value::as_u64) == Some(id)
        })?;
        Ok(id)
    }

    /// Writes plain `guest-sync` (libvirt's `qemuAgentGuestSync`) and returns its id without
    /// waiting: while the guest's end of the port is closed it stays in QEMU's socket buffer
    /// and the next qemu-ga answers it.
    pub fn send_sync(&mut self) -> Result<u64> {
        let id = self.take_id();
        let line = format!(
            "{}\n",
            json!({ "execute": "guest-sync", "arguments": { "id": id } })
        );
        self.write(line.as_bytes(), "guest-sync")?;
        Ok(id)
    }

    /// Waits for the reply to the `guest-sync` with `id`.
    pub fn wait_sync(&mut self, id: u64, timeout: Duration) -> Result<()> {
        self.wait_message(timeout, "the guest-sync reply", |m| {
            m.body.get("return").and_then(Value::as_u64) == Some(id)
        })
        .map(|_| ())
    }

    /// Sends `command` with an `id` (qemu-ga echoes it) without waiting;
    /// returns the id for [`Agent::wait_reply`]. A request sent while the
    /// guest agent is down is queued by QEMU and answered by the next agent.
    pub fn send(&mut self, command: &str, arguments: Option<Value>) -> Result<u64> {
        let id = self.take_id();
        let mut msg = json!({ "execute": command, "id": id });
        if let Some(a) = arguments {
            msg["arguments"] = a;
        }
        self.write(format!("{msg}\n").as_bytes(), command)?;
        self.outstanding.insert(id);
        Ok(id)
    }

    /// Waits for the reply with `id`: its `return`, or [`Error::Agent`].
    /// Either way (also on timeout) the request stops being outstanding, so a
    /// late reply to it counts as stale.
    pub fn wait_reply(&mut self, id: u64, timeout: Duration) -> Result<Value> {
        let reply = self.wait_message(timeout, &format!("the agent reply with id {id}"), |m| {
            m.body.get("id").and_then(Value::as_u64) == Some(id)
        });
        self.outstanding.remove(&id);
        let reply = reply?;
        if let Some(err) = reply.body.get("error") {
            return Err(Error::Agent {
                command: format!("request {id}"),
                class: err
                    .get("class")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                desc: err.get("desc").and_then(Value::as_str).unwrap_or("").into(),
            });
        }
        Ok(reply.body.get("return").cloned().unwrap_or(Value::Null))
    }

    /// Sends `command` and waits for its reply ([`Agent::send`] + [`Agent::wait_reply`]).
    pub fn execute(
        &mut self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        let id = self.send(command, arguments)?;
        self.wait_reply(id, timeout).map_err(|e| match e {
            Error::Agent { class, desc, .. } => Error::Agent {
                command: command.to_string(),
                class,
                desc,
            },
            other => other,
        })
    }

    /// `guest-ping`.
    pub fn ping(&mut self, timeout: Duration) -> Result<()> {
        self.execute("guest-ping", None, timeout).map(|_| ())
    }

    /// Sends `guest-shutdown` and returns at once: qemu-ga sends no reply on
    /// success. An error reply, if any, later shows up in [`Agent::stale`].
    pub fn shutdown(&mut self, mode: ShutdownMode) -> Result<()> {
        let line = format!(
            "{}\n",
            json!({ "execute": "guest-shutdown", "arguments": { "mode": mode.name() } })
        );
        self.write(line.as_bytes(), "guest-shutdown")
    }

    /// Messages that answer no outstanding request: replies that came after
    /// their waiter gave up or to an earlier connection's requests, and the
    /// parse errors qemu-ga sends for the 0xFF delimiter.
    pub fn stale(&mut self) -> &[AgentMessage] {
        self.pump();
        self.sweep();
        &self.stale
    }

    /// When the socket reached EOF (QEMU exited), if it did.
    pub fn eof(&self) -> Option<Stamp> {
        self.log.eof()
    }

    /// The read error that ended the socket instead of a clean EOF (`Connection reset by
    /// peer` when QEMU exits with unread bytes of ours in its socket buffer), if one did.
    pub fn read_error(&self) -> Option<String> {
        self.log.read_error()
    }

    /// Writes a `guest-sync-delimited` request and does not wait: while the guest's end of the
    /// port is closed QEMU leaves it unread in its socket buffer.
    pub fn send_unanswered(&mut self) -> Result<()> {
        let line = format!(
            "{}\n",
            json!({ "execute": "guest-sync-delimited", "arguments": { "id": 1 } })
        );
        self.write(line.as_bytes(), "guest-sync-delimited")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }
}
