//! Random small programs in the language: the reduced search (footprints derived from each
//! step's reads and writes) finds exactly the terminal states, outcomes and violations of the
//! unreduced one (range faults included), and every witness replays as a trace.

use proptest::prelude::*;
use sim::{explore, Model, Options, Reduction, Report, Trace};
use std::collections::BTreeMap;

/// A tiny deterministic generator: proptest picks the seed, this expands it into a program.
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Actors `P` and `R` (one instance each) work mostly on their own globals (`p`, `pb`; `r`,
/// `rb`), `Q` (two instances) on `a[self]`; all of them sometimes touch the shared `s` and
/// `a[0]`, so that some steps commute and some conflict. In half of the programs they also
/// share a mutex `m`, a cond `c` and a queue `q`: critical sections (a step that locks, then one
/// that unlocks or waits), signals, sends and receives, and guards on them.
fn program(seed: u64) -> String {
    let mut g = Gen(seed | 1);
    let checks = g.below(2) == 0;
    let sync = g.below(2) == 0;
    let mut out = String::from(concat!(
        "model: random\nglobals:\n  p: int 0..3\n  pb: bool\n  r: int 0..3\n  rb: bool\n",
        "  s: int 0..3\n  a: int 0..3[2]\n",
    ));
    if sync {
        out.push_str("  m: mutex\n  c: cond\n  q: queue int 0..3[2]\n");
    }
    out.push_str("actors:\n");
    for actor in ["P", "Q", "R"] {
        out.push_str(&format!("  {actor}:\n"));
        let (mut guards, mut stmts) = match actor {
            "P" => (
                vec!["p < 2", "pb", "!pb", "p == l", "l != p"],
                vec!["p = 1", "p = l", "l = p", "pb = !pb", "pb = p < l"],
            ),
            "R" => (
                vec!["r < 2", "rb", "!rb", "r == l", "l != r"],
                vec!["r = 2", "r = l", "l = r", "rb = !rb", "rb = r < l"],
            ),
            _ => {
                out.push_str("    instances: 2\n");
                (
                    vec!["a[self] != 3", "a[self] == l", "l < 2"],
                    vec!["a[self] = l", "l = a[self]", "l = 1", "a[self] = 2"],
                )
            }
        };
        guards.extend(["s < 2", "a[0] <= a[1]"]);
        stmts.extend(["s = l", "a[0] = l", "l = s"]);
        // A step's own guard may also peek (a peek blocks the whole step).
        let mut step_guards = guards.clone();
        if sync {
            guards.extend(["locked(m)", "held(m)", "len(q) < 2"]);
            step_guards.extend(["locked(m)", "!held(m)", "len(q) > 0", "peek(q) == l"]);
        }
        out.push_str("    locals:\n      l: int 0..3\n    program:\n");
        let steps = 1 + g.below(3);
        // The step after a `lock(m)` step unlocks, or waits.
        let mut releases = false;
        for n in 0..steps {
            out.push_str(&format!("      - label: s{n}\n"));
            let locks = sync && !releases && n + 1 < steps && g.below(2) == 0;
            let waits = releases && g.below(2) == 0;
            if g.below(3) > 0 {
                out.push_str(&format!("        when: \"{}\"\n", g.pick(&step_guards)));
            }
            let stmts = if g.below(5) == 0 {
                out.push_str("        pick: { k: 0..2 }\n");
                vec!["l = k", "s = k"]
            } else {
                stmts.clone()
            };
            out.push_str("        do:\n");
            if locks {
                out.push_str("          - lock(m)\n");
            } else if sync && g.below(4) == 0 {
                out.push_str(&format!(
                    "          - \"{}\"\n",
                    g.pick(&["send(q, l)", "recv(q, l)"])
                ));
            }
            for _ in 0..1 + g.below(2) {
                out.push_str(&format!("          - \"{}\"\n", g.pick(&stmts)));
            }
            if sync && g.below(4) == 0 {
                out.push_str(&format!(
                    "          - {}\n",
                    g.pick(&["signal(c)", "broadcast(c)"])
                ));
            }
            if releases && !waits {
                out.push_str("          - unlock(m)\n");
            }
            // An increment needs a run-time range check, and a checked step writes the fault
            // cell every step reads (it conflicts with all): guarded, or unguarded and faulting
            // at 3; in half of the programs only.
            let increment = g.below(5);
            match if checks { increment } else { 2 } {
                0 => out.push_str("          - if: \"l < 3\"\n            then: [\"l = l + 1\"]\n"),
                1 => out.push_str("          - \"l = l + 1\"\n"),
                _ => {}
            }
            // No `goto` leaves a critical section, nor a step that waits.
            if !locks && !waits && g.below(5) == 0 {
                let target = g.below(steps);
                out.push_str(&format!(
                    "          - if: \"{}\"\n            then: [goto s{target}]\n",
                    g.pick(&guards)
                ));
            }
            if waits {
                out.push_str(&format!(
                    "        either:\n          - when: \"{}\"\n            do: [\"wait(c, m)\"]\n          - do: [unlock(m)]\n",
                    g.pick(&guards)
                ));
            } else if g.below(6) == 0 {
                out.push_str(&format!(
                    "        either:\n          - when: \"{}\"\n            do: [\"l = 2\"]\n          - do: [\"l = 0\"]\n",
                    g.pick(&guards)
                ));
            }
            releases = locks;
        }
    }
    out.push_str(concat!(
        "properties:\n",
        "  - name: s stays low\n    always: \"s != 3\"\n",
        "  - name: ends set\n    at_end: \"p != 2 || rb\"\n",
        "  - name: reaches a[0] = 2\n    sometimes: \"a[0] == 2\"\n",
        "outcome: \"{p} {pb} {r} {rb} {s} {a[0]} {a[1]} {P[0].l} {Q[0].l} {Q[1].l} {R[0].l}",
    ));
    out.push_str(if sync {
        " {len(q)} {locked(m)}\"\n"
    } else {
        "\"\n"
    });
    out
}

fn run(m: &lang::Program, reduction: Reduction) -> Report<lang::Program> {
    explore(
        m,
        &Options {
            reduction,
            max_states: Some(20_000),
            ..Options::default()
        },
    )
}

fn outcomes(r: &Report<lang::Program>) -> BTreeMap<String, u64> {
    r.outcomes
        .iter()
        .map(|(k, o)| (k.clone(), o.count))
        .collect()
}

fn violated(r: &Report<lang::Program>) -> Vec<String> {
    let mut v: Vec<String> = r.violations.iter().map(|v| v.property.clone()).collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn reduction_keeps_terminal_states_and_violations(seed in any::<u64>()) {
        let text = program(seed);
        let m = lang::load("random.yaml", &text, &lang::Config::default())
            .unwrap_or_else(|e| panic!("{}\n{text}", e[0]));
        let none = run(&m, Reduction::None);
        if !none.complete {
            return Ok(());
        }
        let por = run(&m, Reduction::Por);
        prop_assert!(por.complete);
        prop_assert!(por.states <= none.states);
        // The outcome names every variable, so equal outcome counts are equal terminal states.
        prop_assert_eq!(outcomes(&por), outcomes(&none), "{}", text);
        prop_assert_eq!(por.terminal, none.terminal);
        prop_assert_eq!(por.violating_terminal, none.violating_terminal);
        prop_assert_eq!(violated(&por), violated(&none), "{}", text);
        prop_assert_eq!(&por.vacuous, &none.vacuous);
        for report in [&none, &por] {
            let paths = report
                .violations
                .iter()
                .filter_map(|v| v.path.as_ref())
                .chain(report.outcomes.values().filter_map(|o| o.path.as_ref()));
            for path in paths {
                let trace = Trace::from_path(&m, path);
                let states = trace.replay(&m);
                prop_assert!(states.is_ok(), "{:?}", states.err());
                let last = states.unwrap().pop().unwrap();
                let mut enabled = Vec::new();
                m.actions(&last, &mut enabled);
                prop_assert_eq!(trace.steps.len(), path.actions.len());
            }
        }
    }
}
/// The generator makes programs where reduction bites (else the property above says little).
#[test]
fn reduction_removes_states_in_most_programs() {
    let reduced = (0..40u64)
        .filter(|seed| {
            let m = lang::load("random.yaml", &program(*seed), &lang::Config::default()).unwrap();
            run(&m, Reduction::Por).states < run(&m, Reduction::None).states
        })
        .count();
    assert!(reduced >= 20, "only {reduced} of 40 programs reduced");
}

/// The programs with a mutex, a cond and a queue are mostly explored to the end (else the
/// property above says little about them), and some deadlock, fault on an unlock and wake from
/// a wait.
#[test]
fn synchronising_programs_are_explored() {
    let (mut sync, mut complete, mut deadlock, mut owner, mut woken) = (0, 0, 0, 0, 0);
    for seed in 0..200u64 {
        let text = program(seed);
        if !text.contains("m: mutex") {
            continue;
        }
        sync += 1;
        let m = lang::load("random.yaml", &text, &lang::Config::default())
            .unwrap_or_else(|e| panic!("{}\n{text}", e[0]));
        let r = run(&m, Reduction::None);
        complete += r.complete as u32;
        let has = |p: &str| r.violations.iter().any(|v| v.property == p);
        deadlock += has("deadlock") as u32;
        owner += has(lang::program::OWNER_PROPERTY) as u32;
        woken += r
            .outcomes
            .values()
            .filter_map(|o| o.path.as_ref())
            .any(|p| {
                Trace::from_path(&m, p)
                    .steps
                    .iter()
                    .any(|s| s.label.ends_with(".wake"))
            }) as u32;
    }
    eprintln!("{sync} sync programs: {complete} complete, {deadlock} deadlock, {owner} owner faults, {woken} woken");
    assert!(complete * 10 >= sync * 8, "{complete} of {sync} complete");
    assert!(deadlock >= 5 && owner >= 1 && woken >= 1);
}
