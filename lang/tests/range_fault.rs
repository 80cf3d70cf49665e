//! An assignment whose value leaves its variable's range is a violation of a built-in property,
//! found by the search like any other, never a panic.

use sim::{explore, Model, Options, Reduction, Trace};

/// `x = x + 1` guarded by `x <= 3` instead of `x < 3`: the fourth increment leaves `0..3`.
/// Another actor runs alongside, so that reduction has something to reorder.
const BAD: &str = "model: overflow
globals:
  x: int 0..3
  y: bool
actors:
  inc:
    program:
      - label: bump
        when: x <= 3
        do: [\"x = x + 1\", goto bump]
  other:
    program:
      - label: flip
        do: [y = true]
";

#[test]
fn an_assignment_out_of_range_is_a_violation_at_its_statement() {
    let m = lang::load("overflow.yaml", BAD, &lang::Config::default())
        .unwrap_or_else(|e| panic!("{}", e[0]));
    for reduction in [Reduction::None, Reduction::Por] {
        let r = explore(
            &m,
            &Options {
                reduction,
                ..Options::default()
            },
        );
        assert!(r.complete);
        let v = r
            .violations
            .iter()
            .find(|v| v.property == lang::program::RANGE_PROPERTY)
            .expect("the range violation is found");
        assert!(
            r.violations.iter().all(|v| v.property != "deadlock"),
            "a faulted state is done, not a deadlock"
        );
        let path = v.path.as_ref().expect("a witness");
        let trace = Trace::from_path(&m, path);
        assert_eq!(trace.steps.last().unwrap().label, "bump");
        let states = trace.replay(&m).expect("the witness replays");
        let last = states.last().unwrap();
        assert_eq!(
            m.fault(last),
            Some("overflow.yaml:10:15: `x = x + 1` assigns a value outside 0..3")
        );
        let mut enabled = Vec::new();
        m.actions(last, &mut enabled);
        assert!(enabled.is_empty(), "a faulted state is terminal");
        assert!(m.is_done(last));
        let outcome = m.outcome(last).unwrap();
        assert!(outcome.contains("overflow.yaml:10:15"), "{outcome}");
    }
}

#[test]
fn a_model_without_run_time_checks_has_no_built_in_property() {
    let text = BAD.replace("x = x + 1", "x = 1");
    let m = lang::load("fine.yaml", &text, &lang::Config::default())
        .unwrap_or_else(|e| panic!("{}", e[0]));
    assert!(m
        .properties()
        .iter()
        .all(|p| p.name != lang::program::RANGE_PROPERTY));
}
