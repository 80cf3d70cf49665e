//! Traces of language models show the state by name: globals, and each actor instance's
//! program counter (as a label) and locals, enum values by name and bools as bools.

use serde_json::json;
use sim::{explore, Model, Options, Trace};

const MODEL: &str = "model: named
types:
  Phase: { enum: [idle, busy] }
  Port: { record: { up: bool, owner: int 0..3 } }
globals:
  phase: Phase
  ports: Port[2]
  total: int 0..2
actors:
  worker:
    instances: 2
    locals:
      mine: bool
    program:
      - label: claim
        when: \"!ports[self].up\"
        do: [\"ports[self].up = true\", \"ports[self].owner = self + 1\", mine = true]
      - label: count
        do: [total = total + 1, phase = busy]
properties:
  - name: both counted
    at_end: total == 2
outcome: \"total {total}\"
";

#[test]
fn a_trace_names_variables_and_replays() {
    let m = lang::load("named.yaml", MODEL, &lang::Config::default())
        .unwrap_or_else(|e| panic!("{}", e[0]));
    assert_eq!(
        m.state_json(&m.init_states()[0]),
        json!({
            "globals": {
                "phase": "idle",
                "ports": [{"up": false, "owner": 0}, {"up": false, "owner": 0}],
                "total": 0,
            },
            "worker0": {"pc": "claim", "mine": false},
            "worker1": {"pc": "claim", "mine": false},
            "fault": null,
        })
    );
    let r = explore(&m, &Options::default());
    let path = r
        .outcomes
        .values()
        .find_map(|o| o.path.as_ref())
        .expect("a witness");
    let trace = Trace::from_path(&m, path);
    let first = &trace.steps[0];
    let paths: Vec<&str> = first.changes.iter().map(|c| c.path.as_str()).collect();
    let who = &first.actor;
    let me = &who[who.len() - 1..];
    assert_eq!(
        paths,
        [
            format!("globals.ports[{me}].owner"),
            format!("globals.ports[{me}].up"),
            format!("{who}.mine"),
            format!("{who}.pc"),
        ]
    );
    assert_eq!(first.changes[3].after, json!("count"));
    let last = trace.steps.last().unwrap();
    assert!(last
        .changes
        .iter()
        .any(|c| c.path.ends_with(".pc") && c.after == json!("done")));
    let text = trace.to_yaml();
    let states = Trace::from_yaml(&text)
        .unwrap()
        .replay(&m)
        .expect("the trace replays");
    assert_eq!(states.len(), trace.steps.len() + 1);
}
