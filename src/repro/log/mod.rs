//! Parsing bug-report logs (`docs/repro.md`): QMP events (raw or pretty-printed JSON, libvirt's
//! monitor lines, `virsh qemu-monitor-event`), libvirtd debug lines (with or without a journald
//! prefix), `virsh` commands (with shell prompts) and `virsh event` output, QEMU's log, and
//! `symptom:` lines, in file order. The file is read as bytes and decoded lossily. Lines no
//! format recognises are skipped and counted, never fatal.

mod libvirtd;
mod qmp;
mod stamp;
mod virsh;

use crate::error::CliError;
use libvirtd::Line;
use models::scenario::log_matches;
pub use stamp::Stamp;
use std::collections::BTreeSet;
use std::path::Path;

/// How far a pretty-printed JSON object may run on (lines).
const MAX_JSON_LINES: usize = 256;

/// Where an entry was read from (decides which lines are the same call or event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A `virsh` command line.
    Command,
    /// A libvirt API entry line (`virDomainReboot:…`).
    ApiEntry,
    /// A QMP event, a libvirt handler or domain event, an agent or a signal line.
    Event,
    /// A tap or port line.
    Network,
}

/// One observed event or call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number (the first line, when several lines show it).
    pub line: usize,
    /// The canonical event (`qmp:SHUTDOWN:guest`, `api:reboot:acpi`, `agent:eof`, …).
    pub event: String,
    /// The domain the line names, if it names one.
    pub domain: Option<String>,
    /// The line as written (trimmed).
    pub text: String,
    /// When it happened, if the line says.
    pub stamp: Option<Stamp>,
    /// What kind of line it came from.
    pub source: Source,
}

/// A parsed log.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Observable events and API calls, in order.
    pub entries: Vec<Entry>,
    /// The symptom (`symptom: …` lines, joined with `; `).
    pub symptom: Option<String>,
    /// Lines not recognised (blank lines and `#` comments are not counted).
    pub skipped: usize,
}

impl Log {
    /// Adds `entry`, or folds it into the last entry when both show one call or one event:
    /// an API entry line after the `virsh` line of its call, and consecutive lines of one QMP,
    /// agent or signal event (libvirt logs each event line twice and then its handler; QEMU
    /// repeats RESET while firmware boots). The more specific name is kept.
    fn push(&mut self, entry: Entry) {
        if let Some(last) = self.entries.last_mut() {
            let same = log_matches(&last.event, &entry.event)
                && (last.domain.is_none() || entry.domain.is_none() || last.domain == entry.domain);
            let folds = matches!(
                (last.source, entry.source),
                (Source::Command, Source::ApiEntry) | (Source::Event, Source::Event)
            );
            if same && folds {
                if entry.event.len() > last.event.len() {
                    last.event = entry.event;
                }
                last.domain = last.domain.take().or(entry.domain);
                last.stamp = last.stamp.or(entry.stamp);
                if last.source == Source::Command {
                    last.source = Source::ApiEntry;
                }
                return;
            }
        }
        self.entries.push(entry);
    }
}

/// Reads and parses a log file (at most [`Kind::Log`](crate::input::Kind)'s size, stray non-UTF-8
/// bytes replaced); an unreadable file or one with no recognised event is bad input.
pub fn load(path: &Path) -> Result<Log, CliError> {
    let bytes = crate::input::read_bytes(path, crate::input::Kind::Log)?;
    from_text(path, &String::from_utf8_lossy(&bytes))
}

/// Parses log `text` read from `path` (named in errors); one with no recognised event is bad
/// input. Never panics, whatever the text.
pub fn from_text(path: &Path, text: &str) -> Result<Log, CliError> {
    let log = parse(text);
    if log.entries.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: no QMP event, libvirt debug line, virsh command or event recognised ({} lines \
             skipped); docs/repro.md lists the accepted formats",
            path.display(),
            log.skipped
        )));
    }
    Ok(log)
}

/// How many `{` of a line are tried as the start of a QMP object (each try parses up to
/// serde_json's nesting limit, so a line of a million `{` must not try them all).
const MAX_OBJECT_STARTS: usize = 16;

/// Parses log text.
pub fn parse(text: &str) -> Log {
    let mut parser = Parser {
        text,
        starts: std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&i| i < text.len())
            .collect(),
        log: Log::default(),
        symptoms: Vec::new(),
        killed: BTreeSet::new(),
    };
    let mut i = 0;
    while i < parser.starts.len() {
        i += parser.line(i);
    }
    if !parser.symptoms.is_empty() {
        parser.log.symptom = Some(parser.symptoms.join("; "));
    }
    parser.log
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of each line.
    starts: Vec<usize>,
    log: Log,
    symptoms: Vec<String>,
    /// QEMU pids a kill line named already.
    killed: BTreeSet<String>,
}

impl Parser<'_> {
    /// Line `i` without its line ending.
    fn raw(&self, i: usize) -> &str {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        self.text[self.starts[i]..end].trim_end_matches(['\n', '\r'])
    }

    fn entry(
        &mut self,
        i: usize,
        event: &str,
        domain: Option<String>,
        stamp: Option<Stamp>,
        source: Source,
    ) {
        let text = self.raw(i).trim().to_string();
        self.log.push(Entry {
            line: i + 1,
            event: event.to_string(),
            domain,
            stamp: stamp::wall(&text).or(stamp),
            text,
            source,
        });
    }

    /// Reads line `i` (and the lines a JSON object spanning several takes); returns how many
    /// lines it read.
    fn line(&mut self, i: usize) -> usize {
        let raw = self.raw(i);
        let line = raw.trim();
        if line.is_empty() {
            return 1;
        }
        if let Some(s) = symptom(line) {
            self.symptoms.push(s);
            return 1;
        }
        if let Some((name, domain, at_stamp, data_at)) = qmp::monitor_event_line(raw) {
            let (data, used) = match raw[data_at..].starts_with('{') {
                true => self.json(i, data_at),
                false => (None, 1),
            };
            match qmp::event(name, data.as_ref()) {
                Some(event) => self.entry(i, &event, Some(domain), at_stamp, Source::Event),
                None => self.log.skipped += 1,
            }
            return used;
        }
        for (at, _) in raw.match_indices('{').take(MAX_OBJECT_STARTS) {
            let (Some(v), used) = self.json(i, at) else {
                continue;
            };
            if let Some((event, stamp)) = qmp::from_object(&v) {
                match event {
                    Some(event) => self.entry(i, &event, None, stamp, Source::Event),
                    None => self.log.skipped += 1,
                }
                return used;
            }
            if used > 1 {
                // a pretty-printed command or reply
                self.log.skipped += 1;
                return used;
            }
        }
        if let Some((event, domain)) = virsh::domain_event(line) {
            match event {
                Some(event) => self.entry(i, event, Some(domain), None, Source::Event),
                None => self.log.skipped += 1,
            }
            return 1;
        }
        let commands = virsh::commands(line);
        if !commands.is_empty() {
            for (event, domain) in commands {
                self.entry(i, event, domain, None, Source::Command);
            }
            return 1;
        }
        if line.starts_with('#') {
            return 1; // a comment
        }
        let domain = libvirtd::field(line, "name");
        match libvirtd::recognise(line) {
            Some(Line::Api(event)) => self.entry(i, event, domain, None, Source::ApiEntry),
            Some(Line::Handler(event)) => self.entry(i, event, domain, None, Source::Event),
            Some(Line::Kill(pid)) => {
                if pid.is_none_or(|p| self.killed.insert(p)) {
                    self.entry(i, "signal:SIGTERM", domain, None, Source::Event);
                }
            }
            Some(Line::Other(event)) => {
                let source = match event.starts_with("net:") {
                    true => Source::Network,
                    false => Source::Event,
                };
                self.entry(i, event, domain, None, source)
            }
            None => self.log.skipped += 1,
        }
        1
    }

    /// The JSON value at byte `at` of line `i`, continued over the next lines when it is
    /// pretty-printed; and how many lines it takes (1 when it is not JSON).
    fn json(&self, i: usize, at: usize) -> (Option<serde_json::Value>, usize) {
        let start = self.starts[i] + at;
        let one_line = &self.text[start..self.starts[i] + self.raw(i).len()];
        match qmp::parse_at(one_line, 0) {
            qmp::Json::Value(v, _) => (Some(v), 1),
            qmp::Json::Invalid => (None, 1),
            qmp::Json::Unfinished => match qmp::parse_at(self.text, start) {
                qmp::Json::Value(v, len) => {
                    let end = start + len;
                    let used = self.starts[i..].partition_point(|&s| s < end);
                    if used <= MAX_JSON_LINES {
                        (Some(v), used)
                    } else {
                        (None, 1)
                    }
                }
                _ => (None, 1),
            },
        }
    }
}

fn symptom(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("symptom:")?;
    Some(line[at + "symptom:".len()..].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<String> {
        parse(text).entries.into_iter().map(|e| e.event).collect()
    }

    #[test]
    fn formats() {
        let log = parse(
            r#"# comment
2018-12-04 06:54:01.001 virsh reboot vm1 --mode acpi
2018-12-04 06:54:01.100+0000: 1234: debug : virDomainReboot:2460 : dom=0x7f, (VM: name=vm1, uuid=1), flags=0x2
{"timestamp": {"seconds": 1543906441, "microseconds": 5}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}
2018-12-04 06:54:01.200+0000: 1234: debug : qemuProcessHandleShutdown:598 : vm=0x7f name=vm1
2018-12-04 06:54:02.000+0000: 99: info : qemuMonitorJSONIOProcessLine:236 : QEMU_MONITOR_RECV_EVENT: mon=0x1 event={"timestamp": {"seconds": 1, "microseconds": 2}, "event": "MIGRATION", "data": {"status": "failed"}}
something else entirely
symptom: domain killed
"#,
        );
        let events: Vec<&str> = log.entries.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "api:reboot:acpi",
                "api:reboot:agent",
                "qmp:SHUTDOWN:guest",
                "qmp:MIGRATION:failed"
            ]
        );
        assert_eq!(log.skipped, 1);
        assert_eq!(log.symptom.as_deref(), Some("domain killed"));
        assert_eq!(log.entries[0].domain.as_deref(), Some("vm1"));
    }

    #[test]
    fn suspend_and_a_passed_through_cont() {
        let log = parse(
            r#"virsh suspend vm1
virsh qemu-monitor-command vm1 '{"execute":"cont"}'
virsh qemu-monitor-command vm1 '{"execute":"query-status"}'
2024-02-20 09:50:00.000+0000: 1: debug : virDomainSuspend:600 : dom=0x7f, (VM: name=vm1, uuid=1)
"#,
        );
        let events: Vec<&str> = log.entries.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["api:suspend", "api:cont", "api:suspend"]);
    }

    #[test]
    fn an_api_entry_folds_only_into_its_own_virsh_line() {
        let entry =
            "2026-12-02 02:57:03.754+0000: 1: debug : virDomainReboot:1744 : dom=0x7f, flags=0x0";
        let text = format!("virsh reboot A\n{entry}\n{entry}\n");
        assert_eq!(events(&text), ["api:reboot", "api:reboot"]);
    }

    #[test]
    fn one_event_shown_by_several_lines_is_one_entry() {
        let text = r#"Line [{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", "data": {"guest": true}}]
QEMU_MONITOR_RECV_EVENT: mon=0x1 event={"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", "data": {"guest": true}}
qemuProcessHandleReset:1 : vm=0x1
{"timestamp": {"seconds": 1, "microseconds": 9}, "event": "RESET", "data": {"guest": true}}
{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "RESET", "data": {"guest": false}}
qemuProcessKill:8268 : vm=0x1 name=A pid=7 flags=0x2
qemuProcessKill:8268 : vm=0x1 name=A pid=7 flags=0x1
"#;
        assert_eq!(
            events(text),
            ["qmp:RESET:guest", "qmp:RESET:host", "signal:SIGTERM"]
        );
    }

    #[test]
    fn pretty_printed_json_spans_lines() {
        let text = "{\n    \"timestamp\": {\n        \"seconds\": 1,\n        \"microseconds\": 2\n    },\n    \"event\": \"SHUTDOWN\",\n    \"data\": {\n        \"guest\": false\n    }\n}\n{\n    \"return\": {\n    }\n}\n{\"event\": \"STOP\"}\n";
        let log = parse(text);
        assert_eq!(events(text), ["qmp:SHUTDOWN:host", "qmp:STOP"]);
        assert_eq!(log.entries[1].line, 15);
        assert_eq!(log.skipped, 1);
    }

    #[test]
    fn events_no_model_has_are_skipped() {
        let text =
            "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 0}}\n{\"event\": \"POWERDOWN\"}\n";
        let log = parse(text);
        assert_eq!(events(text), ["qmp:POWERDOWN"]);
        assert_eq!(log.skipped, 1);
    }
}
