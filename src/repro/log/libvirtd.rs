//! libvirtd debug log lines (with or without a journald prefix) and QEMU's own log: API entry
//! points, event handlers, kills, and the host-side network calls.

use super::virsh::is_cont;

/// What a libvirtd or QEMU log line shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// An API entry point (`virDomainReboot:1744 : …, flags=0x1`).
    Api(&'static str),
    /// An event handler (`qemuProcessHandleShutdown`, `qemuAgentIO … End of file`).
    Handler(&'static str),
    /// A kill of QEMU process `pid` (`qemuProcessKill`, `virProcessKillPainfully`): libvirt
    /// calls it up to three times per process; only the first is a signal.
    Kill(Option<String>),
    /// Another signal, tap or port line (`terminating on signal 15`, `virNetDevTapCreate`).
    Other(&'static str),
}

/// The public API entry points that stand for a modelled call.
const API: [(&str, &str); 21] = [
    ("virDomainReboot", "reboot"),
    ("virDomainShutdown", "shutdown"),
    ("virDomainShutdownFlags", "shutdown"),
    ("virDomainDestroy", "api:destroy"),
    ("virDomainDestroyFlags", "api:destroy"),
    ("virDomainCreate", "api:start"),
    ("virDomainCreateWithFlags", "api:start"),
    ("virDomainCreateWithFiles", "api:start"),
    ("virDomainCreateXML", "api:start"),
    ("virDomainCreateXMLWithFiles", "api:start"),
    ("virDomainReset", "api:reset"),
    ("virDomainMigrate", "api:migrate"),
    ("virDomainMigrate2", "api:migrate"),
    ("virDomainMigrate3", "api:migrate"),
    ("virDomainMigrateToURI", "api:migrate"),
    ("virDomainMigrateToURI2", "api:migrate"),
    ("virDomainMigrateToURI3", "api:migrate"),
    ("virDomainResume", "api:resume"),
    ("virDomainSuspend", "api:suspend"),
    ("virDomainQemuMonitorCommand", "cont"),
    ("virDomainQemuMonitorCommandWithFiles", "cont"),
];

const HANDLERS: [(&str, &str); 6] = [
    ("qemuProcessHandleShutdown", "qmp:SHUTDOWN"),
    ("qemuProcessHandleReset", "qmp:RESET"),
    ("qemuProcessHandleStop", "qmp:STOP"),
    ("qemuProcessHandleResume", "qmp:RESUME"),
    ("qemuProcessHandleAgentEOF", "agent:eof"),
    ("qemuProcessHandleAgentError", "agent:error"),
];

/// The function a libvirt debug line names (`… : virDomainReboot:1744 : …`): an identifier
/// followed by `:` or `(`, starting with `name`'s prefix.
fn function<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.match_indices(prefix).find_map(|(at, _)| {
        let name_len = line[at..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(line.len() - at);
        let after = line[at + name_len..].chars().next();
        matches!(after, Some(':' | '(')).then(|| &line[at..at + name_len])
    })
}

/// `flags=0x…` in a debug line.
fn flags(line: &str) -> u64 {
    line.split("flags=")
        .nth(1)
        .and_then(|f| {
            let f: String = f.chars().take_while(char::is_ascii_alphanumeric).collect();
            match f.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => f.parse().ok(),
            }
        })
        .unwrap_or(0)
}

/// A `field=value` of a debug line (`pid=30132`, `name=A`, `name='A'`).
pub fn field(line: &str, key: &str) -> Option<String> {
    let at = line
        .match_indices(key)
        .find(|(at, _)| {
            line[..*at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric())
        })?
        .0
        + key.len();
    let rest = line[at..]
        .strip_prefix('=')?
        .trim_start_matches(['\'', '"']);
    let value: String = rest
        .chars()
        .take_while(|c| !matches!(c, ',' | ')' | ' ' | '\'' | '"'))
        .collect();
    (!value.is_empty()).then_some(value)
}

/// libvirt's reboot and shutdown flags: 0 no mode given, 1 ACPI power button, 2 guest agent;
/// other modes (initctl, signal, paravirt, or several) are not modelled.
fn mode_event(call: &str, flags: u64) -> &'static str {
    match (call, flags) {
        ("reboot", 0) => "api:reboot",
        ("reboot", 1) => "api:reboot:acpi",
        ("reboot", 2) => "api:reboot:agent",
        ("reboot", _) => "api:reboot:other",
        (_, 0) => "api:shutdown",
        (_, 1) => "api:shutdown:acpi",
        (_, 2) => "api:shutdown:agent",
        _ => "api:shutdown:other",
    }
}

/// What a libvirtd debug line or QEMU log line shows, if anything modelled.
pub fn recognise(line: &str) -> Option<Line> {
    if let Some(f) = function(line, "virDomain") {
        let (_, event) = API.iter().find(|(name, _)| *name == f)?;
        return Some(Line::Api(match *event {
            "reboot" | "shutdown" => mode_event(event, flags(line)),
            "cont" => {
                let cmd = line.split_once("cmd=")?.1;
                let cmd = cmd.split(", result=").next().unwrap_or(cmd);
                if !is_cont(cmd, flags(line) & 1 == 1) {
                    return None;
                }
                "api:cont"
            }
            other => other,
        }));
    }
    for (name, event) in HANDLERS {
        if line.contains(name) {
            return Some(Line::Handler(event));
        }
    }
    if line.contains("qemuProcessHandleSerialChanged") {
        return Some(Line::Handler(if line.contains("changed to '1'") {
            "qmp:VSERPORT_CHANGE:open"
        } else if line.contains("changed to '0'") {
            "qmp:VSERPORT_CHANGE:closed"
        } else {
            "qmp:VSERPORT_CHANGE"
        }));
    }
    if line.contains("qemuAgentIO") {
        if line.contains("End of file") {
            return Some(Line::Handler("agent:eof"));
        }
        if line.contains("error") {
            return Some(Line::Handler("agent:error"));
        }
        return None;
    }
    if function(line, "qemuProcessKill").is_some()
        || function(line, "virProcessKillPainfully").is_some()
    {
        return Some(Line::Kill(
            field(line, "pid").or_else(|| field(line, "vpid")),
        ));
    }
    let others = [
        ("terminating on signal 15", "signal:SIGTERM"),
        ("virNetDevTapCreate", "net:tap-create"),
        ("virNetDevBridgeAddPort", "net:bridge-add-port"),
        ("add-port", "net:ovs-add-port"),
        ("del-port", "net:ovs-del-port"),
    ];
    others
        .iter()
        .find(|(needle, _)| line.contains(needle))
        .map(|&(_, event)| Line::Other(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_entries_by_function_name() {
        let api = |l: &str| match recognise(l) {
            Some(Line::Api(e)) => Some(e),
            _ => None,
        };
        let pre = "2026-12-02 02:57:03.754+0000: 27611: debug : ";
        assert_eq!(
            api(&format!(
                "{pre}virDomainShutdownFlags:1533 : dom=0x7f, (VM: name=A), flags=0x2"
            )),
            Some("api:shutdown:agent")
        );
        assert_eq!(
            api(&format!(
                "{pre}virDomainDestroyFlags:520 : dom=0x7f, flags=0x0"
            )),
            Some("api:destroy")
        );
        assert_eq!(
            api(&format!(
                "{pre}virDomainCreateWithFlags:6600 : dom=0x7f, flags=0x0"
            )),
            Some("api:start")
        );
        assert_eq!(
            api(&format!(
                "{pre}virDomainMigrateToURI3:9631 : dom=0x55d1, flags=0x1"
            )),
            Some("api:migrate")
        );
        assert_eq!(
            api("Dec 02 12:00:00 h libvirtd[1]: 27611: debug : virDomainReboot:1744 : flags=0x1"),
            Some("api:reboot:acpi")
        );
        assert_eq!(
            api(&format!(
                "{pre}virDomainLookupByName:449 : conn=0x7f, name=A"
            )),
            None
        );
        assert_eq!(
            api(&format!(
                "{pre}virDomainMigratePrepare3Params:5 : conn=0x7f"
            )),
            None
        );
        assert_eq!(
            api(&format!("{pre}virDomainQemuMonitorCommand:80 : domain=0x1, cmd={{\"execute\":\"cont\"}}, result=0x2, flags=0x0")),
            Some("api:cont")
        );
    }

    #[test]
    fn kills_handlers_and_fields() {
        let kill = "qemuProcessKill:8268 : vm=0x7f20780065f0 name=A pid=30132 flags=0x2";
        assert_eq!(recognise(kill), Some(Line::Kill(Some("30132".into()))));
        assert_eq!(field(kill, "name").as_deref(), Some("A"));
        assert_eq!(
            field("(VM: name='vm1', uuid=1)", "name").as_deref(),
            Some("vm1")
        );
        let painfully = "virProcessKillPainfullyDelay:400 : vpid=30132 force=1 extradelay=0";
        assert_eq!(recognise(painfully), Some(Line::Kill(Some("30132".into()))));
        assert_eq!(
            recognise("qemuProcessHandleSerialChanged:1388 : Serial port channel0 state changed to '0' in domain 0x7f A"),
            Some(Line::Handler("qmp:VSERPORT_CHANGE:closed"))
        );
        assert_eq!(recognise("qemuProcessHandleEvent:546 : vm=0x7f"), None);
    }
}
