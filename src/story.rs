//! A trace told as a numbered story: who did what (and which upstream function that is), and
//! what changed. The plain-text form printed on drift and by `vmrace explore`.

use sim::Trace;

/// Renders a value from a state diff compactly.
pub fn short(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The trace as numbered lines.
pub fn story(trace: &Trace) -> String {
    let mut out = String::new();
    for (i, step) in trace.steps.iter().enumerate() {
        let upstream = step
            .upstream
            .as_deref()
            .map(|u| format!(" [{u}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:>3}. {}: {}{}\n",
            i + 1,
            step.actor,
            step.label,
            upstream
        ));
        for c in &step.changes {
            out.push_str(&format!(
                "         {}: {} → {}\n",
                c.path,
                short(&c.before),
                short(&c.after)
            ));
        }
        if trace.lasso_start == Some(i) {
            out.push_str("         (the cycle starts here)\n");
        }
    }
    if trace.steps.is_empty() {
        out.push_str("  (the initial state)\n");
    }
    out
}
