//! Parsing bug-report logs (`docs/repro.md`): QMP event JSON lines, libvirt debug log lines,
//! `virsh` command lines and `symptom:` lines, in file order. Unknown lines are skipped and
//! counted, never fatal.

use crate::error::CliError;
use std::path::Path;

/// One recognised log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    /// The canonical event (`qmp:SHUTDOWN`, `api:reboot:acpi`, `agent:eof`, …).
    pub event: String,
    /// The domain the line names, if it names one.
    pub domain: Option<String>,
    /// The line as written (trimmed).
    pub text: String,
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
    /// Domains named by the entries, in first-seen order.
    pub fn domains(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in self.entries.iter().filter_map(|e| e.domain.clone()) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }
}

/// Reads and parses a log file; an unreadable file or one with no recognised event is bad input.
pub fn load(path: &Path) -> Result<Log, CliError> {
    let text = crate::input::read_text(path, crate::input::Kind::Log)?;
    from_text(path, &text)
}

/// Parses log `text` read from `path` (named in errors); one with no recognised event is bad
/// input. Never panics, whatever the text.
pub fn from_text(path: &Path, text: &str) -> Result<Log, CliError> {
    let log = parse(text);
    if log.entries.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: no QMP event, libvirt debug line or virsh command recognised ({} lines skipped); \
             docs/repro.md lists the accepted formats",
            path.display(),
            log.skipped
        )));
    }
    Ok(log)
}

/// Parses log text.
pub fn parse(text: &str) -> Log {
    let mut log = Log::default();
    let mut symptoms = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = symptom(line) {
            symptoms.push(s);
            continue;
        }
        match recognise(line) {
            Some((event, domain, handler)) => {
                // A handler line right after the event it handles is the same event.
                let dup = handler
                    && log.entries.last().is_some_and(|e| {
                        models::scenario::log_matches(&e.event, &event) && e.line + 3 > i
                    });
                if !dup {
                    log.entries.push(Entry {
                        line: i + 1,
                        event,
                        domain,
                        text: line.to_string(),
                    });
                }
            }
            None => log.skipped += 1,
        }
    }
    if !symptoms.is_empty() {
        log.symptom = Some(symptoms.join("; "));
    }
    log
}

fn symptom(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("symptom:")?;
    Some(line[at + "symptom:".len()..].trim().to_string())
}

/// How many `{` of a line are tried as the start of a QMP event object (each try parses up to
/// serde_json's nesting limit, so a line of a million `{` must not try them all).
const MAX_OBJECT_STARTS: usize = 16;

/// The first JSON object in `line` that has an `event` member.
fn qmp_event(line: &str) -> Option<(String, Option<String>)> {
    for (at, _) in line.match_indices('{').take(MAX_OBJECT_STARTS) {
        let mut stream =
            serde_json::Deserializer::from_str(&line[at..]).into_iter::<serde_json::Value>();
        if let Some(Ok(v)) = stream.next() {
            if let Some(name) = v.get("event").and_then(|e| e.as_str()) {
                let event = match v.pointer("/data/status").and_then(|s| s.as_str()) {
                    Some(status) if name == "MIGRATION" => format!("qmp:MIGRATION:{status}"),
                    _ => format!("qmp:{name}"),
                };
                return Some((event, None));
            }
        }
    }
    None
}

/// `name=X` or `name='X'` in a libvirt debug line.
fn name_field(line: &str) -> Option<String> {
    let at = line.find("name=")? + 5;
    let rest = line[at..].trim_start_matches(['\'', '"']);
    let name: String = rest
        .chars()
        .take_while(|c| !matches!(c, ',' | ')' | ' ' | '\'' | '"'))
        .collect();
    (!name.is_empty()).then_some(name)
}

fn flags(line: &str) -> u64 {
    line.split("flags=")
        .nth(1)
        .and_then(|f| {
            let f: String = f
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            match f.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => f.parse().ok(),
            }
        })
        .unwrap_or(0)
}

/// libvirt's reboot flags: 1 ACPI power button, 2 guest agent.
fn reboot_event(flags: u64) -> &'static str {
    match flags {
        1 => "api:reboot:acpi",
        2 => "api:reboot:agent",
        _ => "api:reboot",
    }
}

/// The event a line shows, its domain, and whether it is a handler line (deduplicated against
/// the event line it follows).
fn recognise(line: &str) -> Option<(String, Option<String>, bool)> {
    if line.contains("\"event\"") {
        if let Some((event, domain)) = qmp_event(line) {
            return Some((event, domain.or_else(|| name_field(line)), false));
        }
    }
    if let Some(v) = virsh(line) {
        return Some(v);
    }
    let dom = name_field(line);
    let api = [
        ("virDomainReboot", ""),
        ("virDomainShutdown", "api:shutdown"),
        ("virDomainDestroy", "api:destroy"),
        ("virDomainCreate", "api:start"),
        ("virDomainReset", "api:reset"),
        ("virDomainMigrate", "api:migrate"),
        ("virDomainResume", "api:resume"),
        ("virDomainSuspend", "api:suspend"),
    ];
    for (func, event) in api {
        if line.contains(&format!("{func}:")) || line.contains(&format!("{func}(")) {
            let event = if event.is_empty() {
                reboot_event(flags(line))
            } else {
                event
            };
            // The entry line of a call a `virsh` line just showed is the same call.
            return Some((event.to_string(), dom, true));
        }
    }
    let handlers = [
        ("qemuProcessHandleShutdown", "qmp:SHUTDOWN"),
        ("qemuProcessHandleReset", "qmp:RESET"),
        ("qemuProcessHandleStop", "qmp:STOP"),
        ("qemuProcessHandleResume", "qmp:RESUME"),
        ("qemuProcessHandleSerialChanged", "qmp:VSERPORT_CHANGE"),
        ("qemuProcessHandleAgentEOF", "agent:eof"),
        ("qemuProcessHandleAgentError", "agent:error"),
    ];
    for (func, event) in handlers {
        if line.contains(func) {
            return Some((event.to_string(), dom, true));
        }
    }
    if line.contains("qemuAgentIO") {
        let event = if line.contains("End of file") {
            "agent:eof"
        } else if line.contains("error") {
            "agent:error"
        } else {
            return None;
        };
        return Some((event.to_string(), dom, true));
    }
    let others = [
        ("qemuProcessKill", "signal:SIGTERM"),
        ("virProcessKillPainfully", "signal:SIGTERM"),
        ("terminating on signal 15", "signal:SIGTERM"),
        ("virNetDevTapCreate", "net:tap-create"),
        ("virNetDevBridgeAddPort", "net:bridge-add-port"),
        ("add-port", "net:ovs-add-port"),
        ("del-port", "net:ovs-del-port"),
    ];
    for (needle, event) in others {
        if line.contains(needle) {
            return Some((event.to_string(), dom, false));
        }
    }
    None
}

/// `… virsh reboot A --mode acpi` (an optional time or prompt before `virsh`).
fn virsh(line: &str) -> Option<(String, Option<String>, bool)> {
    let mut words = line.split_whitespace().skip_while(|w| *w != "virsh");
    words.next()?;
    let words: Vec<&str> = words.collect();
    // Global options before the command (`virsh -c qemu:///system reboot A`).
    let mut k = 0;
    while let Some(opt) = words.get(k).filter(|w| w.starts_with('-')) {
        k += 1;
        if !opt.contains('=') && k < words.len() {
            k += 1;
        }
    }
    let rest = &words[k..];
    let command = *rest.first()?;
    let domain = rest
        .iter()
        .skip(1)
        .find(|w| !w.starts_with('-'))
        .map(|s| s.to_string());
    let mode = line
        .split("--mode")
        .nth(1)
        .map(|m| m.trim_start_matches(['=', ' ']))
        .and_then(|m| m.split_whitespace().next())
        .unwrap_or("");
    let event = match command {
        "reboot" => match mode {
            "acpi" => "api:reboot:acpi",
            "agent" => "api:reboot:agent",
            _ => "api:reboot",
        },
        "shutdown" => "api:shutdown",
        "destroy" => "api:destroy",
        "start" => "api:start",
        "reset" => "api:reset",
        "migrate" => "api:migrate",
        "resume" => "api:resume",
        "suspend" => "api:suspend",
        // only a passed-through `cont` is a model op
        "qemu-monitor-command" if rest.iter().skip(2).any(|w| w.contains("cont")) => "api:cont",
        _ => return None,
    };
    Some((event.to_string(), domain, false))
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "qmp:SHUTDOWN",
                "qmp:MIGRATION:failed"
            ]
        );
        assert_eq!(log.skipped, 1);
        assert_eq!(log.symptom.as_deref(), Some("domain killed"));
        assert_eq!(log.domains(), ["vm1"]);
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
}
