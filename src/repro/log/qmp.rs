//! QMP events, wherever a log shows them: QEMU's JSON (raw, pretty-printed over several lines,
//! or inside libvirt's `qemuMonitorJSONIOProcessLine` lines) and `virsh qemu-monitor-event`
//! output. Each becomes `qmp:<EVENT>[:<detail>]`; events no model has are dropped here.

use super::stamp::Stamp;
use serde_json::Value;

/// The canonical event for QMP event `name` with `data`, or `None` for an event no model
/// distinguishes (see `docs/repro.md`: e.g. `RTC_CHANGE`, or a `MIGRATION` still in progress).
pub fn event(name: &str, data: Option<&Value>) -> Option<String> {
    let flag = |key: &str, yes: &'static str, no: &'static str| -> Option<&'static str> {
        data.and_then(|d| d.get(key))
            .and_then(Value::as_bool)
            .map(|b| if b { yes } else { no })
    };
    let detail = match name {
        "SHUTDOWN" | "RESET" => flag("guest", "guest", "host"),
        "VSERPORT_CHANGE" => flag("open", "open", "closed"),
        "MIGRATION" => {
            let status = data?.get("status")?.as_str()?;
            match status {
                "completed" | "failed" | "cancelled" => Some(status),
                _ => return None,
            }
        }
        "STOP" | "RESUME" | "POWERDOWN" => None,
        _ => return None,
    };
    Some(match detail {
        Some(d) => format!("qmp:{name}:{d}"),
        None => format!("qmp:{name}"),
    })
}

/// A QMP event object: its canonical event (`None` for one no model has) and its timestamp.
pub fn from_object(v: &Value) -> Option<(Option<String>, Option<Stamp>)> {
    let name = v.get("event")?.as_str()?;
    let stamp = v.get("timestamp").and_then(|t| {
        Some(Stamp::epoch(
            t.get("seconds")?.as_u64()?,
            t.get("microseconds")?.as_u64()?,
        ))
    });
    Some((event(name, v.get("data")), stamp))
}

/// How a JSON object starting at byte `at` of a text parses.
pub enum Json {
    /// A complete value, and the bytes it took.
    Value(Value, usize),
    /// The text ends inside it (a pretty-printed object continues on the next lines).
    Unfinished,
    /// Not JSON.
    Invalid,
}

/// Parses the JSON value that starts at `text[at..]`.
pub fn parse_at(text: &str, at: usize) -> Json {
    let mut stream = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => Json::Value(v, stream.byte_offset()),
        Some(Err(e)) if e.is_eof() => Json::Unfinished,
        _ => Json::Invalid,
    }
}

/// A `virsh qemu-monitor-event` line: `[TIME: ]event NAME [at S.U ]for domain 'D': DATA`,
/// where DATA is JSON or `<null>`. Returns the event name, the domain, the `at` stamp and the
/// byte offset of DATA.
pub fn monitor_event_line(line: &str) -> Option<(&str, String, Option<Stamp>, usize)> {
    let start = line.find("event ")?;
    if start > 0 && !line[..start].ends_with(": ") {
        return None;
    }
    let rest = &line[start + "event ".len()..];
    let name = rest.split_whitespace().next()?;
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_uppercase() || c == b'_') {
        return None;
    }
    let after = &rest[name.len()..];
    let mut stamp = None;
    let tail = if let Some(at) = after.strip_prefix(" at ") {
        let (secs, more) = at.split_once(' ')?;
        let (s, u) = secs.split_once('.')?;
        stamp = Some(Stamp::epoch(s.parse().ok()?, u.parse().ok()?));
        more
    } else {
        after.strip_prefix(' ')?
    };
    let dom_start = tail.strip_prefix("for domain '")?;
    let (domain, data) = dom_start.split_once("':")?;
    let data_at = line.len() - data.len() + (data.len() - data.trim_start().len());
    Some((name, domain.to_string(), stamp, data_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_and_their_details() {
        let e = |n: &str, d: Value| event(n, Some(&d));
        assert_eq!(
            e("SHUTDOWN", json!({"guest": false})).unwrap(),
            "qmp:SHUTDOWN:host"
        );
        assert_eq!(
            e("RESET", json!({"guest": true})).unwrap(),
            "qmp:RESET:guest"
        );
        assert_eq!(
            e("VSERPORT_CHANGE", json!({"open": false, "id": "channel0"})).unwrap(),
            "qmp:VSERPORT_CHANGE:closed"
        );
        assert_eq!(event("SHUTDOWN", None).unwrap(), "qmp:SHUTDOWN");
        assert_eq!(e("MIGRATION", json!({"status": "active"})), None);
        assert_eq!(event("RTC_CHANGE", None), None);
    }

    #[test]
    fn monitor_event_lines() {
        let line =
            "2026-12-02 02:57:04.374+0000: event VSERPORT_CHANGE for domain 'A': {\"open\":false}";
        let (name, dom, stamp, at) = monitor_event_line(line).unwrap();
        assert_eq!((name, dom.as_str(), stamp), ("VSERPORT_CHANGE", "A", None));
        assert_eq!(&line[at..], "{\"open\":false}");
        let line = "event STOP at 1796180224.537517 for domain 'vm-1': <null>";
        let (name, dom, stamp, _) = monitor_event_line(line).unwrap();
        assert_eq!((name, dom.as_str()), ("STOP", "vm-1"));
        assert_eq!(stamp, Some(Stamp::epoch(1796180224, 537517)));
        assert!(monitor_event_line("2026: event 'lifecycle' for domain 'A': Started").is_none());
    }
}
