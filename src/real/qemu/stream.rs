//! Timestamped line streams: a thread per unix socket reads lines, stamps each
//! with the host receive time, and keeps them in a log the clients wait on.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::error::{Error, Result};

/// When something was received on the host: wall clock (comparable with QMP
/// event timestamps) and monotonic clock (for durations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Wall-clock time.
    pub wall: SystemTime,
    /// Monotonic time.
    pub mono: Instant,
}

impl Stamp {
    /// The current time.
    pub fn now() -> Stamp {
        Stamp {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

/// One item read from a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A line, without its `\n` and a trailing `\r`.
    Line(Vec<u8>),
    /// A 0xFF byte (the guest agent's delimiter), when delimiters are split out.
    Delimiter,
}

#[derive(Default)]
struct State {
    items: Vec<(Stamp, Item)>,
    eof: Option<Stamp>,
    read_error: Option<String>,
}

/// The log one reader thread fills.
pub struct LineLog {
    state: Mutex<State>,
    cond: Condvar,
}

impl LineLog {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of items received so far.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// True when nothing was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies of the items from index `from` on.
    pub fn items_from(&self, from: usize) -> Vec<(Stamp, Item)> {
        let st = self.lock();
        st.items.get(from..).unwrap_or(&[]).to_vec()
    }

    /// When EOF (or a read error) ended the stream, if it did.
    pub fn eof(&self) -> Option<Stamp> {
        self.lock().eof
    }

    /// The read error that ended the stream (e.g. `Connection reset by peer`), if one did
    /// rather than a clean EOF.
    pub fn read_error(&self) -> Option<String> {
        self.lock().read_error.clone()
    }

    /// Blocks until there are more than `seen` items, EOF, or `deadline`.
    /// Returns true unless the deadline passed with nothing new.
    pub fn wait_beyond(&self, seen: usize, deadline: Instant) -> bool {
        let mut st = self.lock();
        loop {
            if st.items.len() > seen || st.eof.is_some() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn push(&self, item: Item) {
        self.lock().items.push((Stamp::now(), item));
        self.cond.notify_all();
    }

    fn finish(&self, read_error: Option<String>) {
        let mut st = self.lock();
        st.eof = Some(Stamp::now());
        st.read_error = read_error;
        drop(st);
        self.cond.notify_all();
    }
}

/// Starts a reader thread on `stream` (named `name` for diagnostics). With
/// `split_ff`, a 0xFF byte ends the current partial line and is logged as
/// [`Item::Delimiter`].
pub fn spawn_reader(stream: UnixStream, name: &str, split_ff: bool) -> Result<Arc<LineLog>> {
    let log = Arc::new(LineLog {
        state: Mutex::new(State::default()),
        cond: Condvar::new(),
    });
    let thread_log = Arc::clone(&log);
    thread::Builder::new()
        .name(format!("vmrace-{name}"))
        .spawn(move || read_loop(stream, &thread_log, split_ff))
        .map_err(|e| Error::io(format!("spawning the {name} reader thread"), e))?;
    Ok(log)
}

fn read_loop(mut stream: UnixStream, log: &LineLog, split_ff: bool) {
    let mut buf = [0u8; 8192];
    let mut line = Vec::new();
    let flush = |line: &mut Vec<u8>| {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        log.push(Item::Line(std::mem::take(line)));
    };
    let read_error = loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break None,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Some(e.to_string()),
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            match b {
                b'\n' => flush(&mut line),
                0xff if split_ff => {
                    if !line.is_empty() {
                        flush(&mut line);
                    }
                    log.push(Item::Delimiter);
                }
                _ => line.push(b),
            }
        }
    };
    if !line.is_empty() {
        flush(&mut line);
    }
    log.finish(read_error);
}

/// Connects to the unix socket at `path`, retrying until `timeout` while the
/// socket does not exist yet or refuses (QEMU creates it at start-up).
/// `alive` is asked between attempts and stops the retries when false.
pub fn connect_unix(
    path: &Path,
    timeout: Duration,
    mut alive: impl FnMut() -> bool,
) -> Result<UnixStream> {
    let deadline = Instant::now() + timeout;
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return Ok(s),
            Err(e) => {
                if Instant::now() >= deadline || !alive() {
                    return Err(Error::io(format!("connecting to {}", path.display()), e));
                }
                thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn splits_lines_crlf_and_delimiters_then_eof() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let log = spawn_reader(b, "test", true).unwrap();
        a.write_all(b"one\r\npart\xff{\"x\":1}\ntail").unwrap();
        drop(a);
        let deadline = Instant::now() + Duration::from_secs(5);
        while log.eof().is_none() {
            assert!(log.wait_beyond(log.len(), deadline), "no EOF");
        }
        let items: Vec<Item> = log.items_from(0).into_iter().map(|(_, i)| i).collect();
        assert_eq!(
            items,
            [
                Item::Line(b"one".to_vec()),
                Item::Line(b"part".to_vec()),
                Item::Delimiter,
                Item::Line(b"{\"x\":1}".to_vec()),
                Item::Line(b"tail".to_vec()),
            ]
        );
    }
}
