//! Reading a trace step (its kind and state changes) and the real event
//! stream (matching a model event to a QMP event, the order of a run).

use std::time::Instant;

use serde_json::Value;
use sim::TraceStep;

use crate::real::qemu::control::ControlMsg;
use crate::real::qemu::launch::AGENT_PORT_ID;
use crate::real::qemu::{QmpEvent, Vm};

/// The model step's kind name and payload, from the trace's `action`.
pub(super) fn kind(step: &TraceStep) -> (String, Value) {
    match step.action.get("kind") {
        Some(Value::String(s)) => (s.clone(), Value::Null),
        Some(Value::Object(o)) => o
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap_or_default(),
        _ => (String::new(), Value::Null),
    }
}

/// The change of the state field whose path ends with `suffix`.
pub(super) fn change<'a>(step: &'a TraceStep, suffix: &str) -> Option<(&'a Value, &'a Value)> {
    step.changes
        .iter()
        .find(|c| c.path.ends_with(suffix))
        .map(|c| (&c.before, &c.after))
}

/// The QMP events this step wrote to libvirt's monitor stream (replies left out).
pub(super) fn appended_events(step: &TraceStep) -> Vec<Value> {
    appended(step, ".libvirt.monitor")
        .into_iter()
        .filter_map(|m| m.get("event").cloned())
        .collect()
}

/// Elements appended to the list at `suffix` by this step.
pub(super) fn appended(step: &TraceStep, suffix: &str) -> Vec<Value> {
    match change(step, suffix) {
        Some((Value::Array(b), Value::Array(a))) if a.len() > b.len() => a[b.len()..].to_vec(),
        Some((Value::Null, Value::Array(a))) => a.clone(),
        _ => Vec::new(),
    }
}

/// Does a real QMP event match the model's event (its serialized form)?
pub(super) fn matches(model: &Value, e: &QmpEvent) -> bool {
    match model {
        Value::String(name) => e.name == *name,
        Value::Object(o) => o.iter().all(|(name, data)| {
            e.name == *name
                && data
                    .as_object()
                    .into_iter()
                    .flatten()
                    .all(|(k, v)| e.flag(k) == v.as_bool())
                && (name != "VSERPORT_CHANGE" || e.text("id") == Some(AGENT_PORT_ID))
        }),
        _ => false,
    }
}

pub(super) fn describe(e: &QmpEvent) -> String {
    if e.data.is_null() {
        e.name.clone()
    } else {
        format!("{} {}", e.name, e.data)
    }
}

pub(super) fn hellos(vm: &Vm) -> usize {
    vm.control
        .messages()
        .iter()
        .filter(|m| matches!(m.msg, ControlMsg::Hello { .. }))
        .count()
}

/// QMP events, agent-socket EOF and QMP EOF of `vm`, in arrival order, with
/// milliseconds since QEMU was spawned (ties keep arrival order, EOFs last).
pub(super) fn order(vm: &mut Vm) -> String {
    let t0 = vm.spawned().mono;
    let ms = |t: Instant| t.saturating_duration_since(t0).as_micros();
    let mut items: Vec<(u128, String)> = vm
        .qmp
        .events()
        .map(|e| e.to_vec())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let what = match e.name.as_str() {
                "VSERPORT_CHANGE" => format!(
                    "VSERPORT_CHANGE({}{})",
                    e.text("id").unwrap_or("?"),
                    if e.flag("open") == Some(true) {
                        ",open"
                    } else {
                        ",closed"
                    }
                ),
                "SHUTDOWN" | "RESET" => format!("{}({})", e.name, e.text("reason").unwrap_or("")),
                _ => e.name.clone(),
            };
            (ms(e.received.mono), what)
        })
        .collect();
    if let Some(t) = vm.agent.eof() {
        items.push((ms(t.mono), "agent-socket-EOF".into()));
    }
    if let Some(t) = vm.qmp.eof() {
        items.push((ms(t.mono), "QMP-EOF".into()));
    }
    items.sort_by_key(|(t, _)| *t);
    items
        .into_iter()
        .map(|(t, w)| format!("{w}@{:.1}ms", t as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::qemu::Stamp;
    use serde_json::json;

    fn ev(name: &str, data: Value) -> QmpEvent {
        QmpEvent {
            name: name.into(),
            data,
            qemu_time: None,
            received: Stamp::now(),
        }
    }

    #[test]
    fn model_events_match_real_ones() {
        let shutdown = ev(
            "SHUTDOWN",
            json!({"guest": true, "reason": "guest-shutdown"}),
        );
        assert!(matches(&json!({"SHUTDOWN": {"guest": true}}), &shutdown));
        assert!(!matches(&json!({"SHUTDOWN": {"guest": false}}), &shutdown));
        assert!(matches(&json!("STOP"), &ev("STOP", Value::Null)));
        let closed = ev("VSERPORT_CHANGE", json!({"id": "channel0", "open": false}));
        assert!(matches(
            &json!({"VSERPORT_CHANGE": {"open": false}}),
            &closed
        ));
        let control = ev("VSERPORT_CHANGE", json!({"id": "channel1", "open": false}));
        assert!(!matches(
            &json!({"VSERPORT_CHANGE": {"open": false}}),
            &control
        ));
    }
}
