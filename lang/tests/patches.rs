//! Variants as patches: a configuration applies named patches that delete, replace and insert
//! steps by label; the checks run on the patched program and say which patch broke it; each
//! applied patch shows as a diff of the program it edited.

use lang::Config;
use sim::{explore, Model, Options, Reduction};

/// The lost update of docs/language.md, with patches that fix it and patches that break it.
const MODEL: &str = "model: counter
params:
  N: { type: int 1..3, default: 2 }
globals:
  total: int 0..4
  lock: bool
actors:
  worker:
    instances: N
    locals:
      seen: int 0..3
    program:
      - label: read
        fn: virAtomicIntGet
        do: [seen = total]
      - label: write
        fn: virAtomicIntSet
        do: [total = seen + 1]
properties:
  - name: no lost update
    at_end: total == N
outcome: \"total {total}\"
patches:
  atomic:
    title: \"virObjectRef: one atomic increment\"
    ops:
      - replace: worker.read
        with:
          - label: inc
            fn: virAtomicIntInc
            do: [\"total = total + 1\"]
      - delete: worker.write
  locked:
    title: take a lock around the read and the write
    ops:
      - insert_before: worker.read
        steps:
          - { label: lock, fn: virMutexLock, when: \"!lock\", do: [lock = true] }
      - insert_after: worker.write
        steps:
          - { label: unlock, fn: virMutexUnlock, do: [lock = false] }
  no-read:
    ops:
      - delete: worker.read
  log-twice:
    ops:
      - insert_after: worker.read
        steps: [{ label: first, fn: VIR_DEBUG }]
      - insert_after: worker.read
        steps: [{ label: second, fn: VIR_DEBUG }]
";

fn load(text: &str, patches: &[&str]) -> Result<lang::Program, String> {
    let config = Config {
        params: Vec::new(),
        patches: patches.iter().map(|p| p.to_string()).collect(),
    };
    lang::load("m.yaml", text, &config).map_err(|e| e[0].to_string())
}

fn loaded(text: &str, patches: &[&str]) -> lang::Program {
    load(text, patches).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str, patches: &[&str]) -> String {
    match load(text, patches) {
        Ok(_) => panic!("loaded with {patches:?}"),
        Err(e) => e,
    }
}

/// The outcomes every interleaving reaches, and whether a property failed.
fn outcomes(m: &lang::Program) -> (Vec<String>, bool) {
    let r = explore(m, &Options::default());
    (
        r.outcomes.keys().cloned().collect(),
        !r.violations.is_empty(),
    )
}

/// Every label of `worker`'s program after the first patch, as its listing shows them (the
/// programs here are short: one hunk from the first step shows them all).
fn labels_after(m: &lang::Program) -> Vec<String> {
    let hunks = &m.patches()[0].actors[0].hunks;
    assert_eq!((hunks.len(), hunks[0].new.0), (1, 1));
    hunks[0]
        .lines
        .iter()
        .filter(|(mark, _)| *mark != lang::diff::Mark::Removed)
        .map(|(_, l)| l.label.clone())
        .collect()
}

#[test]
fn replace_and_delete_make_the_increment_atomic() {
    assert_eq!(
        outcomes(&loaded(MODEL, &[])),
        (vec!["total 1".into(), "total 2".into()], true)
    );
    let fixed = loaded(MODEL, &["atomic"]);
    assert_eq!(outcomes(&fixed), (vec!["total 2".into()], false));
    assert_eq!(fixed.name(), "counter(N=2)+atomic");
}

#[test]
fn inserts_before_and_after_take_a_lock() {
    let m = loaded(MODEL, &["locked"]);
    assert_eq!(outcomes(&m), (vec!["total 2".into()], false));
    assert_eq!(labels_after(&m), ["lock", "read", "write", "unlock"]);
}

#[test]
fn a_delete_changes_what_runs() {
    // Without the read every worker writes 0 + 1.
    assert_eq!(
        outcomes(&loaded(MODEL, &["no-read"])),
        (vec!["total 1".into()], true)
    );
}

#[test]
fn ops_apply_in_order_and_patches_in_the_configurations_order() {
    // The second insert after `read` goes between `read` and the first.
    let m = loaded(MODEL, &["log-twice"]);
    assert_eq!(labels_after(&m), ["read", "second", "first", "write"]);
    // `locked` then `atomic`: the lock steps stay around the atomic increment.
    let both = loaded(MODEL, &["locked", "atomic"]);
    assert_eq!(
        both.patches()
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["locked", "atomic"]
    );
    assert_eq!(both.name(), "counter(N=2)+locked+atomic");
    assert_eq!(outcomes(&both), (vec!["total 2".into()], false));
    // `atomic` then `locked`: the lock is inserted before a step `atomic` removed.
    assert_eq!(
        error(MODEL, &["atomic", "locked"]),
        "m.yaml:36:31: patch `locked`: actor `worker` has no label `read` (patch `atomic` removed it)"
    );
}

#[test]
fn the_diff_lists_each_patch_against_the_program_before_it() {
    let m = loaded(MODEL, &["locked", "atomic"]);
    let shown: Vec<String> = m.patches().iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("locked-then-atomic", shown.join("\n"));
    assert_eq!(
        m.patches()[1].title.as_deref(),
        Some("virObjectRef: one atomic increment")
    );
}

/// A patch that deletes the only step writing a variable takes it out of every footprint: the
/// readers no longer conflict with the writer's future.
#[test]
fn footprints_come_from_the_patched_program() {
    let text = "model: fp
globals:
  x: bool
  y: bool
actors:
  writer:
    program:
      - { label: w1, do: [y = true] }
      - { label: w2, do: [x = true] }
  reader:
    locals:
      seen: bool
    program:
      - { label: r, do: [seen = x] }
patches:
  no-write:
    ops: [{ delete: writer.w2 }]
";
    // (patches, the reader conflicts with the writer's future, states, states with reduction)
    let cases = [(&[][..], true, 7, 7), (&["no-write"][..], false, 4, 3)];
    for (patches, conflict, states, reduced) in cases {
        let m = loaded(text, patches);
        let init = &m.init_states()[0];
        let mut actions = Vec::new();
        m.actions(init, &mut actions);
        let read = actions
            .iter()
            .find(|a| m.actor_of(a) == 1)
            .expect("the reader can read");
        assert_eq!(
            m.future_footprint(init, 0)
                .conflicts(&m.footprint(init, read)),
            conflict,
            "{patches:?}"
        );
        let options = |reduction| Options {
            reduction,
            ..Options::default()
        };
        assert_eq!(explore(&m, &options(Reduction::None)).states, states);
        assert_eq!(explore(&m, &options(Reduction::Por)).states, reduced);
    }
}

/// Errors at their place in the file: the op's target, the patch's step, or the base step a
/// patch broke; each names the patch.
#[test]
fn errors_name_the_patch_and_its_place() {
    assert_eq!(
        error(MODEL, &["atomc"]),
        "m.yaml:23:1: the model has no patch `atomc`; did you mean `atomic`?"
    );
    assert_eq!(
        error(MODEL, &["atomic", "atomic"]),
        "m.yaml:24:3: patch `atomic` is applied twice"
    );
    let (end, _) = MODEL.split_once("patches:").expect("patches");
    assert_eq!(
        error(end, &["atomic"]),
        "m.yaml:1:1: the model has no patch `atomic` (it has no `patches:`)"
    );
    assert_eq!(
        error(&format!("{MODEL}  none:\n    ops: []\n"), &["none"]),
        "m.yaml:52:5: patch `none` has no ops"
    );
    let with = |op: &str| format!("{MODEL}  extra:\n    ops:\n{op}");
    assert_eq!(
        error(&with("      - delete: wroker.read\n"), &["extra"]),
        "m.yaml:53:17: patch `extra`: no actor `wroker`; did you mean `worker`?"
    );
    assert_eq!(
        error(&with("      - delete: worker.raed\n"), &["extra"]),
        "m.yaml:53:24: patch `extra`: actor `worker` has no label `raed`; did you mean `read`?"
    );
    assert_eq!(
        error(&with("      - delete: read\n"), &["extra"]),
        "m.yaml:53:17: patch `extra`: `read` does not name a step as `actor.label`"
    );
    assert_eq!(
        error(
            &with("      - delete: worker.read\n        replace: worker.write\n"),
            &["extra"]
        ),
        "m.yaml:53:17: patch `extra`: an op has exactly one of `delete:`, `replace:`, \
         `insert_after:` and `insert_before:`"
    );
    assert_eq!(
        error(&with("      - replace: worker.read\n"), &["extra"]),
        "m.yaml:53:18: patch `extra`: `replace: worker.read` needs `with:`, one step or more"
    );
    assert_eq!(
        error(
            &with("      - delete: worker.read\n        steps: [{label: x}]\n"),
            &["extra"]
        ),
        "m.yaml:53:17: patch `extra`: `delete:` takes no `steps:`"
    );
    // An inserted label the program already has.
    assert_eq!(
        error(
            &with("      - insert_after: worker.read\n        steps: [{label: write}]\n"),
            &["extra"]
        ),
        "m.yaml:54:25: after patch `extra`: label `write` is used twice in `worker` (`done` is reserved)"
    );
}

/// The checks of the patched program: a `goto` to a label a patch removed, a step no longer
/// reachable, an empty program, and errors inside a patch's steps, even when a replacement
/// reuses the base step's label (the error is placed in the patch, not at the base step).
#[test]
fn checks_of_the_patched_program_say_which_patch() {
    let text = "model: g
globals:
  x: int 0..3
actors:
  a:
    program:
      - label: one
        do: [{ if: x == 0, then: [goto three] }]
      - label: two
        do: [x = 1, goto done]
      - label: three
        do: [x = 2]
patches:
  cut:
    ops: [{ delete: a.three }]
  skip:
    title: jump to three no more
    ops:
      - replace: a.one
        with: [{ label: one, do: [x = 3] }]
  jump:
    ops:
      - insert_after: a.two
        steps: [{ label: back, do: [goto three] }]
  typo:
    ops:
      - replace: a.two
        with:
          - label: two
            do: [x = y]
  grow:
    ops:
      - replace: a.three
        with:
          - { label: three, do: [x = 2] }
          - { label: four, do: [x = x + 1] }
  empty:
    ops: [{ delete: a.one }, { delete: a.two }, { delete: a.three }]
";
    assert!(load(text, &[]).is_ok());
    // The base step's `goto` names the label the patch deleted.
    assert_eq!(
        error(text, &["cut"]),
        "m.yaml:8:40: after patch `cut`: `goto three`: no such label in this actor (the patch \
         removed it)"
    );
    // Placed at the step's own label, not at the `goto three` before it.
    assert_eq!(
        error(text, &["skip"]),
        "m.yaml:11:16: after patch `skip`: label `three` is unreachable: no step goes to it"
    );
    // A later patch's step jumps to a label an earlier patch removed.
    assert_eq!(
        error(text, &["skip", "cut", "jump"]),
        "m.yaml:24:42: after patch `jump`: `goto three`: no such label in this actor (patch \
         `cut` removed it)"
    );
    // The replacement reuses the label `two`: the error is in the patch (line 30), not at
    // the base step (line 10).
    assert_eq!(
        error(text, &["typo"]),
        "m.yaml:30:22: after patch `typo`: unknown name `y`"
    );
    assert_eq!(
        error(text, &["empty"]),
        "m.yaml:5:3: after patch `empty`: actor `a` has an empty program"
    );
    // A run-time range check in a replacement step names the patch's line.
    let grown = lang::load(
        "m.yaml",
        &text.replace("x: int 0..3", "x: int 0..2"),
        &Config {
            params: Vec::new(),
            patches: vec!["grow".into()],
        },
    )
    .unwrap_or_else(|e| panic!("{}", e[0]));
    let r = explore(&grown, &Options::default());
    assert_eq!(
        r.outcomes.keys().collect::<Vec<_>>(),
        ["range fault: m.yaml:36:33: `x = x + 1` assigns a value outside 0..2"]
    );
}

/// The listing docs/language.md shows is the bundled fake-reboot model's patch, as rendered.
#[test]
fn the_documented_diff_is_the_bundled_patch() {
    let m = lang::load_file(
        std::path::Path::new("../models/lang/fake-reboot.yaml"),
        &Config {
            params: Vec::new(),
            patches: vec!["revert-b0c144c5792".into()],
        },
    )
    .unwrap_or_else(|e| panic!("{}", e[0]));
    assert_eq!(m.name(), "fake-reboot()+revert-b0c144c5792");
    let doc = include_str!("../../docs/language.md");
    let listing = format!("```diff\n{}```", m.patches()[0]);
    assert!(doc.contains(&listing), "docs/language.md lacks:\n{listing}");
}

/// The lock checks run on the patched program too, and say which patch left a lock held.
#[test]
fn lock_checks_of_the_patched_program_say_which_patch() {
    let model = "model: m
globals:
  m: mutex
  x: int 0..3
actors:
  a:
    program:
      - label: take
        do: [lock(m)]
      - label: work
        do: [x = 1]
      - label: give
        do: [unlock(m)]
patches:
  forget-unlock:
    ops:
      - delete: a.give
";
    assert!(load(model, &[]).is_ok());
    let Err(e) = load(model, &["forget-unlock"]) else {
        panic!("a lock held at done was accepted");
    };
    assert!(
        e.starts_with("m.yaml:9:14: after patch `forget-unlock`: `lock(m)` can reach `done`"),
        "{e}"
    );
}
