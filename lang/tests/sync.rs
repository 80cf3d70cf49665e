//! Mutexes, condition variables and queues (docs/language.md, "Synchronisation"): their
//! semantics as the search sees them, their run-time and load-time errors, and how traces show
//! them.

use serde_json::json;
use sim::{explore, Model, Options, Reduction, Report, Trace};

fn load(text: &str) -> lang::Program {
    lang::load("sync.yaml", text, &lang::Config::default())
        .unwrap_or_else(|e| panic!("{}\n{text}", e[0]))
}

fn error(text: &str) -> String {
    match lang::load("sync.yaml", text, &lang::Config::default()) {
        Ok(_) => panic!("loaded:\n{text}"),
        Err(e) => e[0].to_string(),
    }
}

/// The state after `actor`'s step `label`, which must be enabled in `state`.
fn take(m: &lang::Program, state: &lang::State, actor: &str, label: &str) -> lang::State {
    let mut enabled = Vec::new();
    m.actions(state, &mut enabled);
    let actors = m.actors();
    let action = enabled
        .iter()
        .find(|a| {
            let info = m.step_info(a);
            actors[info.actor as usize] == actor && info.label == label
        })
        .unwrap_or_else(|| panic!("{actor}: {label} is not enabled"));
    m.next_state(state, action)
}

fn run(m: &lang::Program, reduction: Reduction) -> Report<lang::Program> {
    let r = explore(
        m,
        &Options {
            reduction,
            ..Options::default()
        },
    );
    assert!(r.complete);
    r
}

fn violated(r: &Report<lang::Program>) -> Vec<&str> {
    let mut v: Vec<&str> = r.violations.iter().map(|v| v.property.as_str()).collect();
    v.sort();
    v.dedup();
    v
}

/// Two workers each increment `total` in a read step and a write step; `inside` counts the
/// workers between `take` and `release`.
const COUNTER: &str = "model: counter
globals:
  m: mutex
  total: int 0..2
  inside: int 0..2
actors:
  worker:
    instances: 2
    locals:
      seen: int 0..1
    program:
      - label: take
        do: [lock(m)]
      - label: read
        do: [seen = total, inside = inside + 1]
      - label: write
        do: [total = seen + 1, inside = inside - 1]
      - label: release
        do: [unlock(m)]
properties:
  - name: one worker inside
    always: inside <= 1
  - name: no lost update
    at_end: total == 2
outcome: \"total {total}\"
";

#[test]
fn a_lock_gives_mutual_exclusion_and_its_absence_loses_updates() {
    let m = load(COUNTER);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert!(violated(&r).is_empty(), "{:?}", violated(&r));
        assert_eq!(r.outcomes.keys().collect::<Vec<_>>(), ["total 2"]);
    }
    let unlocked = COUNTER
        .replace("      - label: take\n        do: [lock(m)]\n", "")
        .replace("      - label: release\n        do: [unlock(m)]\n", "");
    let m = load(&unlocked);
    let r = run(&m, Reduction::None);
    assert_eq!(violated(&r), ["no lost update", "one worker inside"]);
}

/// The same counter with the lock written by hand as an int (`0` free, `1 + self` held) has
/// exactly the states and transitions of the `mutex` one.
#[test]
fn a_mutex_is_a_hand_written_int_lock() {
    let by_hand = COUNTER
        .replace("  m: mutex", "  m: int 0..2")
        .replace("do: [lock(m)]", "when: m == 0\n        do: [m = self + 1]")
        .replace("do: [unlock(m)]", "do: [m = 0]");
    let (a, b) = (load(COUNTER), load(&by_hand));
    for reduction in [Reduction::None, Reduction::Por] {
        let (ra, rb) = (run(&a, reduction), run(&b, reduction));
        assert_eq!(
            (ra.states, ra.transitions, ra.terminal),
            (rb.states, rb.transitions, rb.terminal),
            "{reduction:?}"
        );
    }
    // Each order of the two workers: 1 + 3 states while the first holds the lock, 5 after.
    assert_eq!(run(&a, Reduction::None).states, 17);
}

/// `thief` releases the mutex `owner` holds (or waits forever for a chance to: a deadlock).
const THIEF: &str = "model: thief
globals:
  m: mutex
actors:
  owner:
    program:
      - label: take
        do: [lock(m)]
      - label: give
        do: [unlock(m)]
  thief:
    program:
      - label: steal
        when: locked(m) && !held(m)
        do: [unlock(m)]
      - label: take
        do: [lock(m)]
      - label: give
        do: [unlock(m)]
";

#[test]
fn an_unlock_by_an_actor_not_holding_the_mutex_is_a_violation() {
    let m = load(THIEF);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert_eq!(violated(&r), ["deadlock", lang::program::OWNER_PROPERTY]);
        let v = r
            .violations
            .iter()
            .find(|v| v.property == lang::program::OWNER_PROPERTY)
            .unwrap();
        let trace = Trace::from_path(&m, v.path.as_ref().expect("a witness"));
        let steps: Vec<(&str, &str)> = trace
            .steps
            .iter()
            .map(|s| (s.actor.as_str(), s.label.as_str()))
            .collect();
        assert_eq!(steps, [("owner", "take"), ("thief", "steal")]);
        let last = trace.replay(&m).expect("replays").pop().unwrap();
        let message = "sync.yaml:15:14: `unlock(m)` by an actor that does not hold it";
        assert_eq!(m.fault(&last), Some(message));
        assert_eq!(m.outcome(&last), Some(format!("lock fault: {message}")));
        assert!(
            m.is_done(&last),
            "a faulted state is terminal, not a deadlock"
        );
    }
}

#[test]
fn unlocking_a_mutex_the_actor_never_locks_is_a_load_error() {
    let text = THIEF.replace(
        "      - label: take\n        do: [lock(m)]\n      - label: give\n        do: [unlock(m)]\n\"",
        "\"",
    );
    let text = text.replacen(
        "  thief:\n    program:\n      - label: steal\n        when: locked(m) && !held(m)\n        do: [unlock(m)]\n      - label: take\n        do: [lock(m)]\n      - label: give\n        do: [unlock(m)]\n",
        "  thief:\n    program:\n      - label: steal\n        when: locked(m)\n        do: [unlock(m)]\n",
        1,
    );
    assert_eq!(
        error(&text),
        "sync.yaml:15:14: `unlock(m)`: `thief` never locks `m`, and only the actor holding a mutex may unlock it"
    );
}

#[test]
fn a_path_from_a_lock_to_done_without_its_unlock_is_a_load_error() {
    let text = "model: leak
globals:
  m: mutex
  error: bool
actors:
  api:
    program:
      - label: begin
        do: [lock(m)]
      - label: work
        do:
          - if: error
            then: [goto done]
      - label: end
        do: [unlock(m)]
";
    assert_eq!(
        error(text),
        "sync.yaml:9:14: `lock(m)` can reach `done` without unlocking `m` (begin → work → done): `api` would end holding it"
    );
    assert!(lang::load(
        "ok.yaml",
        &text.replace("goto done", "goto end"),
        &lang::Config::default()
    )
    .is_ok());
}

/// A consumer waits, in a predicate loop, until the producer has published.
const HANDOFF: &str = "model: handoff
globals:
  m: mutex
  c: cond
  ready: bool
  got: bool
actors:
  consumer:
    program:
      - label: take
        do: [lock(m)]
      - label: check
        either:
          - when: \"!ready\"
            do: [\"wait(c, m)\", goto check]
          - when: ready
            do: [got = true, unlock(m)]
  producer:
    program:
      - label: take
        do: [lock(m)]
      - label: publish
        do: [ready = true, signal(c), unlock(m)]
properties:
  - name: consumed
    at_end: got
";

#[test]
fn wait_and_signal_hand_over_and_a_lost_wakeup_deadlocks() {
    let m = load(HANDOFF);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert!(violated(&r).is_empty(), "{:?}", violated(&r));
    }
    // The consumer waits first: it sleeps, is signalled, and wakes in `check.wake`.
    let mut state = m.init_states().pop().unwrap();
    for (actor, label) in [
        ("consumer", "take"),
        ("consumer", "check"),
        ("producer", "take"),
        ("producer", "publish"),
        ("consumer", "check.wake"),
    ] {
        state = take(&m, &state, actor, label);
    }
    let view = m.state_json(&state);
    assert_eq!(view["globals"]["m"], json!("consumer"));
    assert_eq!(view["consumer"]["pc"], json!("check"));
    // Without the predicate loop, a signal before the wait is lost and the consumer sleeps for
    // good.
    let lost = HANDOFF
        .replace("        either:\n          - when: \"!ready\"\n            do: [\"wait(c, m)\", goto check]\n          - when: ready\n            do: [got = true, unlock(m)]\n",
            "        do: [\"wait(c, m)\"]\n      - label: consume\n        do: [got = true, unlock(m)]\n");
    let m = load(&lost);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert_eq!(violated(&r), ["consumed", "deadlock"]);
        let v = r
            .violations
            .iter()
            .find(|v| v.property == "deadlock")
            .unwrap();
        let trace = Trace::from_path(&m, v.path.as_ref().unwrap());
        let last = trace.replay(&m).unwrap().pop().unwrap();
        let view = m.state_json(&last);
        assert_eq!(view["consumer"]["pc"], json!("check.wake"));
        assert_eq!(view["globals"]["c"], json!(["consumer"]), "still waiting");
        assert_eq!(view["globals"]["m"], json!(null));
    }
}

/// Two waiters and one `signal`: either may be the one woken; `broadcast` wakes both.
const TWO_WAITERS: &str = "model: two
globals:
  m: mutex
  c: cond
  asleep: int 0..2
actors:
  sleeper:
    instances: 2
    locals:
      up: bool
    program:
      - label: take
        do: [lock(m)]
      - label: sleep
        do: [asleep = asleep + 1, \"wait(c, m)\"]
      - label: up
        do: [up = true, unlock(m)]
  waker:
    program:
      - label: take
        when: asleep == 2
        do: [lock(m)]
      - label: wake
        do: [signal(c), unlock(m)]
outcome: \"{sleeper[0].up} {sleeper[1].up}\"
";

#[test]
fn signal_wakes_any_one_waiter_and_broadcast_all() {
    let m = load(TWO_WAITERS);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert_eq!(violated(&r), ["deadlock"]);
        // One sleeper is woken, either of them; the other sleeps on.
        assert_eq!(
            r.outcomes.keys().collect::<Vec<_>>(),
            ["false true", "true false"]
        );
        assert_eq!(r.violating_terminal, 2);
    }
    let m = load(&TWO_WAITERS.replace("signal(c)", "broadcast(c)"));
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert!(violated(&r).is_empty());
        assert_eq!(r.outcomes.keys().collect::<Vec<_>>(), ["true true"]);
    }
}

/// A producer sends 1, 2, 3 into a queue of two; a consumer receives them in that order.
const FIFO: &str = "model: fifo
globals:
  q: queue int 0..3[2]
actors:
  producer:
    program:
      - label: one
        do: [\"send(q, 1)\"]
      - label: two
        do: [\"send(q, 2)\"]
      - label: three
        do: [\"send(q, 3)\"]
  consumer:
    locals:
      got: int 0..3[4]
      n: int 0..3
    program:
      - label: get
        do:
          - \"recv(q, got[n])\"
          - n = n + 1
          - if: n < 3
            then: [goto get]
properties:
  - name: in order
    at_end: \"consumer[0].got[0] == 1 && consumer[0].got[1] == 2 && consumer[0].got[2] == 3\"
";

#[test]
fn a_queue_is_fifo_and_a_full_queue_blocks_send() {
    let m = load(FIFO);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert!(violated(&r).is_empty(), "{:?}", violated(&r));
    }
    // Nobody receives: the third send blocks with the queue full.
    let m = load(&FIFO.replace(
        "      - label: get\n",
        "      - label: get\n        when: n > 3\n",
    ));
    let r = run(&m, Reduction::None);
    assert_eq!(r.states, 3, "sent 1, sent 2, and no more");
    let v = r
        .violations
        .iter()
        .find(|v| v.property == "deadlock")
        .unwrap();
    let trace = Trace::from_path(&m, v.path.as_ref().unwrap());
    let last = trace.replay(&m).unwrap().pop().unwrap();
    let view = m.state_json(&last);
    assert_eq!(view["globals"]["q"], json!([1, 2]));
    assert_eq!(view["producer"]["pc"], json!("three"));
}

#[test]
fn peek_blocks_while_the_queue_is_empty() {
    let text = "model: peek
globals:
  q: queue bool[1]
  seen: bool
actors:
  reader:
    program:
      - label: look
        when: peek(q)
        do: [seen = true]
  writer:
    program:
      - label: put
        do: [\"send(q, true)\"]
properties:
  - name: saw it
    at_end: seen
  - name: never peeked at nothing
    always: \"!seen || len(q) == 1\"
";
    let m = load(text);
    for reduction in [Reduction::None, Reduction::Por] {
        let r = run(&m, reduction);
        assert!(violated(&r).is_empty(), "{:?}", violated(&r));
    }
}

/// Traces show a mutex by its holder's name, a cond by its waiters' names, a queue as a list,
/// and a deadlock's outcome says who holds what.
#[test]
fn the_state_names_holders_and_waiters() {
    let text = "model: named
globals:
  locks: mutex[2]
  c: cond
  q: queue int 0..3[2]
actors:
  a:
    program:
      - label: first
        do: [\"lock(locks[0])\", \"send(q, 3)\"]
      - label: second
        do: [\"lock(locks[1])\"]
      - label: end
        do: [\"unlock(locks[1])\", \"unlock(locks[0])\"]
  b:
    instances: 1
    program:
      - label: first
        do: [\"lock(locks[1])\"]
      - label: second
        do: [\"lock(locks[0])\"]
      - label: end
        do: [\"unlock(locks[0])\", \"unlock(locks[1])\"]
";
    let m = load(text);
    let init = m.init_states().pop().unwrap();
    assert_eq!(
        m.state_json(&init)["globals"],
        json!({"locks": [null, null], "c": [], "q": []})
    );
    let r = run(&m, Reduction::None);
    let v = r
        .violations
        .iter()
        .find(|v| v.property == "deadlock")
        .unwrap();
    let trace = Trace::from_path(&m, v.path.as_ref().unwrap());
    let last = trace.replay(&m).unwrap().pop().unwrap();
    assert_eq!(
        m.state_json(&last)["globals"],
        json!({"locks": ["a", "b0"], "c": [], "q": [3]})
    );
    assert_eq!(
        m.outcome(&last).as_deref(),
        Some("deadlock with locks[0] held by a, locks[1] held by b0")
    );
    let first = &trace.steps[0];
    assert!(first
        .changes
        .iter()
        .any(|c| c.path == "globals.locks[0]" && c.after == json!("a")
            || c.path == "globals.locks[1]" && c.after == json!("b0")));
}

/// A base for load errors: `STEP` is replaced by a step's keys.
const ERRORS: &str = "model: e
globals:
  m: mutex
  c: cond
  q: queue int 0..3[2]
  x: int 0..3
actors:
  a:
    locals:
      l: int 0..3
    program:
      - label: take
        do: [lock(m)]
      - label: s
STEP
      - label: give
        do: [unlock(m)]
properties:
  - name: p
    always: PROPERTY
";

fn step_error(step: &str) -> String {
    error(&ERRORS.replace("STEP", step).replace("PROPERTY", "true"))
}

#[test]
fn misplaced_and_mistyped_synchronisation_is_a_load_error() {
    assert_eq!(
        step_error("        do: [x = 1, \"send(q, 1)\"]"),
        "sync.yaml:15:22: `send(q, 1)` blocks, so it must come first in a step's `do` (or an `either` alternative's), after other blocking statements only and not inside `if`"
    );
    assert_eq!(
        step_error("        do: [\"wait(c, m)\", x = 1]"),
        "sync.yaml:15:15: `wait(c, m)` must be the last statement of a step's `do` (or an `either` alternative's), not inside `if`, followed at most by a `goto` (where the actor goes once woken)"
    );
    assert_eq!(
        step_error("        do: [wait(c, m)]"),
        "sync.yaml:15:20: syntax error in `wait(c`: unexpected text (in a YAML flow list `[...]`, quote a statement with a comma: `\"wait(c, m)\"`)"
    );
    assert_eq!(
        step_error("        do: [\"recv(q, l)\", \"send(q, l)\"]"),
        "sync.yaml:15:29: `send(q, l)` is decided before the step runs, but this step already changed what it names (or an index): put it in a step of its own"
    );
    assert_eq!(
        step_error("        do: [lock(c)]"),
        "sync.yaml:15:19: `lock` takes a mutex here, not cond"
    );
    assert_eq!(
        step_error("        do: [x = m]"),
        "sync.yaml:15:18: a mutex is not a value: use `locked(m)` or `held(m)`"
    );
    assert_eq!(
        step_error("        either:\n          - do: [\"wait(c, m)\"]\n          - do: [goto give]\n        do: [goto s]"),
        "sync.yaml:16:19: a `wait` ends its step: a step that waits may `goto` only right after its `wait` (where the actor goes once woken)"
    );
    assert_eq!(
        error(&ERRORS.replace("STEP", "        do: [x = 0]").replace("PROPERTY", "peek(q) == 1")),
        "sync.yaml:20:13: `peek(q)` blocks while `q` is empty, so it exists only in an actor's program; use `len(q)`"
    );
    assert_eq!(
        error(&ERRORS.replace("STEP", "        do: [x = 0]").replace("PROPERTY", "true").replace("      l: int 0..3", "      l: mutex")),
        "sync.yaml:10:7: local `l`: mutexes, conds and queues are shared, so they are declared in `globals:`"
    );
    assert_eq!(
        error(&ERRORS.replace("STEP", "        do: [x = 0]").replace("PROPERTY", "true").replace("  a:\n", "  a:\n    instances: 63\n")),
        "sync.yaml:4:3: `c` is a cond, and a model with a cond may have at most 62 actor instances (63 here)"
    );
    assert_eq!(
        error(&ERRORS.replace("STEP", "        do: [x = 0]").replace("PROPERTY", "true").replace("  a:\n", "  a:\n    instances: 2\n    symmetric: true\n")),
        "sync.yaml:15:14: `lock` records which actor holds the mutex, so the symmetric actor `a` cannot use it"
    );
}

/// An unlock on every path to which the actor locked the same mutex needs no run-time check:
/// the model has no ownership property, and actors on different mutexes commute.
#[test]
fn a_surely_held_mutex_needs_no_run_time_check() {
    let names = |m: &lang::Program| {
        m.properties()
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    assert!(!names(&load(COUNTER)).contains(&lang::program::OWNER_PROPERTY.to_string()));
    assert!(names(&load(THIEF)).contains(&lang::program::OWNER_PROPERTY.to_string()));
    let text = "model: own
globals:
  locks: mutex[2]
  counts: int 0..2[2]
actors:
  worker:
    instances: 2
    program:
      - label: take
        do: [\"lock(locks[self])\"]
      - label: bump
        do: [\"counts[self] = 1\"]
      - label: give
        do: [\"unlock(locks[self])\", goto again]
      - label: again
        do: [\"lock(locks[self])\", \"counts[self] = 2\", \"unlock(locks[self])\"]
";
    let m = load(text);
    assert!(m.properties().is_empty());
    let (none, por) = (run(&m, Reduction::None), run(&m, Reduction::Por));
    assert_eq!((none.states, por.states), (25, 9));
}

/// The example of docs/language.md's "Synchronisation" loads and holds, and is this file's
/// `HANDOFF` with comments.
#[test]
fn the_documented_example_hands_over() {
    let doc = include_str!("../../docs/language.md");
    let section = &doc[doc.find("## Synchronisation").expect("the section")..];
    let start = section.find("```yaml\n").expect("an example") + 8;
    let text = &section[start..start + section[start..].find("```").expect("closed")];
    let m = lang::load("docs/language.md", text, &lang::Config::default())
        .unwrap_or_else(|e| panic!("{}", e[0]));
    for reduction in [Reduction::None, Reduction::Por] {
        assert!(violated(&run(&m, reduction)).is_empty());
    }
    let uncommented: String = text
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(uncommented.trim(), HANDOFF.trim());
}

/// Records of globals may hold mutexes, conds and queues.
#[test]
fn records_hold_mutexes_and_queues() {
    let text = "model: rec
types:
  Dom: { record: { lock: mutex, cond: cond, events: \"queue bool[2]\", up: bool } }
globals:
  doms: Dom[2]
actors:
  api:
    instances: 2
    program:
      - label: take
        do: [\"lock(doms[self].lock)\", \"send(doms[1].events, true)\"]
      - label: give
        do: [\"doms[self].up = true\", \"unlock(doms[self].lock)\"]
properties:
  - name: both sent
    at_end: len(doms[1].events) == 2 && !locked(doms[0].lock)
";
    let m = load(text);
    let r = run(&m, Reduction::Por);
    assert!(violated(&r).is_empty(), "{:?}", violated(&r));
    let state = take(&m, &m.init_states()[0], "api1", "take");
    assert_eq!(
        m.state_json(&state)["globals"]["doms"],
        json!([
            {"lock": null, "cond": [], "events": [], "up": false},
            {"lock": "api1", "cond": [], "events": [true], "up": false},
        ])
    );
}
