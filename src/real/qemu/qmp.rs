//! A small QMP client over QEMU's unix socket: greeting, `qmp_capabilities`,
//! commands with an `id`, and every event kept with its host receive time and
//! QEMU's own timestamp; EOF (QEMU gone) is detected and reported.

use std::collections::HashMap;
use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use super::error::{Error, Result};
use super::stream::{connect_unix, spawn_reader, Item, LineLog, Stamp};

/// One QMP event.
#[derive(Clone, Debug, PartialEq)]
pub struct QmpEvent {
    /// Event name, e.g. `SHUTDOWN`.
    pub name: String,
    /// The `data` member (`null` when absent).
    pub data: Value,
    /// QEMU's `timestamp`, when it sent one.
    pub qemu_time: Option<SystemTime>,
    /// When the host received it.
    pub received: Stamp,
}

impl QmpEvent {
    /// `data[key]` as a bool, if present.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.data.get(key).and_then(Value::as_bool)
    }

    /// `data[key]` as a string, if present.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }
}

/// A reply to one command.
#[derive(Clone, Debug, PartialEq)]
struct Reply {
    received: Stamp,
    body: Value,
}

/// A QMP connection in command mode.
pub struct Qmp {
    writer: UnixStream,
    log: Arc<LineLog>,
    cursor: usize,
    greeting: Value,
    next_id: u64,
    sent: HashMap<u64, String>,
    replies: HashMap<u64, Reply>,
    events: Vec<QmpEvent>,
}

fn qemu_time(v: &Value) -> Option<SystemTime> {
    let ts = v.get("timestamp")?;
    let secs = ts.get("seconds")?.as_i64()?;
    let micros = ts.get("microseconds")?.as_i64()?;
    if secs < 0 || micros < 0 {
        return None;
    }
    Some(
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(secs as u64)
            + Duration::from_micros(micros as u64),
    )
}

impl Qmp {
    /// Connects to the socket at `path` (retrying until `timeout`), then
    /// negotiates like [`Qmp::from_stream`].
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp> {
        Qmp::from_stream(connect_unix(path, timeout, || true)?, timeout)
    }

    /// Reads the greeting from a connected stream and sends `qmp_capabilities`.
    pub fn from_stream(stream: UnixStream, timeout: Duration) -> Result<Qmp> {
        let writer = stream
            .try_clone()
            .map_err(|e| Error::io("cloning the QMP socket", e))?;
        let log = spawn_reader(stream, "qmp", false)?;
        let mut qmp = Qmp {
            writer,
            log,
            cursor: 0,
            greeting: Value::Null,
            next_id: 1,
            sent: HashMap::new(),
            replies: HashMap::new(),
            events: Vec::new(),
        };
        let deadline = Instant::now() + timeout;
        while qmp.greeting.is_null() {
            qmp.pump()?;
            if !qmp.greeting.is_null() {
                break;
            }
            if qmp.log.eof().is_some() {
                return Err(Error::Eof {
                    channel: "qmp",
                    what: "the QMP greeting".into(),
                });
            }
            if !qmp.log.wait_beyond(qmp.cursor, deadline) {
                return Err(Error::Timeout {
                    what: "the QMP greeting".into(),
                    timeout,
                });
            }
        }
        qmp.execute("qmp_capabilities", None, timeout)?;
        Ok(qmp)
    }

    /// The greeting QEMU sent (`{"QMP": {...}}`).
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// Parses everything received since the last call.
    fn pump(&mut self) -> Result<()> {
        let items = self.log.items_from(self.cursor);
        self.cursor += items.len();
        for (stamp, item) in items {
            let Item::Line(bytes) = item else { continue };
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
                channel: "qmp",
                msg: format!("{e}: {}", String::from_utf8_lossy(&bytes)),
            })?;
            if v.get("QMP").is_some() {
                self.greeting = v;
            } else if let Some(name) = v.get("event").and_then(Value::as_str) {
                self.events.push(QmpEvent {
                    name: name.to_string(),
                    data: v.get("data").cloned().unwrap_or(Value::Null),
                    qemu_time: qemu_time(&v),
                    received: stamp,
                });
            } else if let Some(id) = v.get("id").and_then(Value::as_u64) {
                self.replies.insert(
                    id,
                    Reply {
                        received: stamp,
                        body: v,
                    },
                );
            } else {
                return Err(Error::Protocol {
                    channel: "qmp",
                    msg: format!("unexpected message without id: {v}"),
                });
            }
        }
        Ok(())
    }

    /// Sends a command without waiting; returns its id for [`Qmp::wait_reply`].
    pub fn send(&mut self, command: &str, arguments: Option<Value>) -> Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "execute": command, "id": id });
        if let Some(a) = arguments {
            msg["arguments"] = a;
        }
        let mut line = msg.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| Error::io(format!("sending QMP {command}"), e))?;
        self.sent.insert(id, command.to_string());
        Ok(id)
    }

    /// Waits for the reply to command `id`: its `return` value, or
    /// [`Error::Qmp`] for an error reply.
    pub fn wait_reply(&mut self, id: u64, timeout: Duration) -> Result<Value> {
        let command = self
            .sent
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"));
        let what = format!("the reply to QMP {command}");
        let reply = self.wait_until(timeout, &what, |q| q.replies.remove(&id))?;
        if let Some(err) = reply.body.get("error") {
            return Err(Error::Qmp {
                command,
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

    /// Sends a command and waits for its reply.
    pub fn execute(
        &mut self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        let id = self.send(command, arguments)?;
        self.wait_reply(id, timeout)
    }

    /// Every event received so far, in arrival order.
    pub fn events(&mut self) -> Result<&[QmpEvent]> {
        self.pump()?;
        Ok(&self.events)
    }

    /// Number of events received so far (a mark for [`Qmp::wait_event`]).
    pub fn event_count(&mut self) -> Result<usize> {
        Ok(self.events()?.len())
    }

    /// Waits for the first event at index `from` or later that satisfies
    /// `pred`; returns its index and a copy.
    pub fn wait_event(
        &mut self,
        from: usize,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&QmpEvent) -> bool,
    ) -> Result<(usize, QmpEvent)> {
        self.wait_until(timeout, what, |q| {
            q.events
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, e)| pred(e))
                .map(|(i, e)| (i, e.clone()))
        })
    }

    /// Waits for the first event named `name` at index `from` or later.
    pub fn wait_event_named(
        &mut self,
        from: usize,
        name: &str,
        timeout: Duration,
    ) -> Result<(usize, QmpEvent)> {
        self.wait_event(from, timeout, &format!("QMP event {name}"), |e| {
            e.name == name
        })
    }

    /// When the QMP socket reached EOF (QEMU exited), if it did.
    pub fn eof(&self) -> Option<Stamp> {
        self.log.eof()
    }

    fn wait_until<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut(&mut Qmp) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump()?;
            if let Some(v) = f(self) {
                return Ok(v);
            }
            if self.log.eof().is_some() && self.cursor >= self.log.len() {
                return Err(Error::Eof {
                    channel: "qmp",
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
}

impl Drop for Qmp {
    fn drop(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }
}
