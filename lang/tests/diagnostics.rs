//! Load-time errors: placed at file:line:column, with suggestions, never a panic.

fn error(text: &str) -> String {
    match lang::load("bad.yaml", text, &lang::Config::default()) {
        Ok(_) => panic!("loaded:\n{text}"),
        Err(e) => e[0].to_string(),
    }
}

const BASE: &str = "model: m
globals:
  kernel: bool[4]
  used: int 0..3
actors:
  vm:
    instances: 2
    locals:
      tap: int 0..3
    program:
      - label: first
        when: \"WHEN\"
        do:
          - \"DO\"
      - label: second
        do: [\"used = 1\"]
";

fn with(when: &str, body: &str) -> String {
    BASE.replace("WHEN", when).replace("DO", body)
}

#[test]
fn errors_name_the_place_and_suggest() {
    assert_eq!(
        error(&with("!kernl[tap]", "used = 0")),
        "bad.yaml:12:17: unknown name `kernl`; did you mean `kernel`?"
    );
    assert_eq!(
        error(&with("used", "used = 0")),
        "bad.yaml:12:16: expected a bool, found int 0..3"
    );
    assert_eq!(
        error(&with("kernel[tap + 1]", "used = 0")),
        "bad.yaml:12:16: the index ranges over 1..4, outside the array's 0..3"
    );
    assert_eq!(
        error(&with("true", "goto secnd")),
        "bad.yaml:14:19: `goto secnd`: no such label in this actor; did you mean `second`?"
    );
    assert_eq!(
        error(&with("true", "used = kernel[0]")),
        "bad.yaml:14:21: cannot assign a value of type bool to a place of type int 0..3"
    );
    assert_eq!(
        error(&with("kernel[0] &&", "used = 0")),
        "bad.yaml:12:28: syntax error in `kernel[0] &&`: expected a name, a number, `(`, `!` or `-`"
    );
    let unreachable = with("true", "goto first");
    assert_eq!(
        error(&unreachable),
        "bad.yaml:15:16: label `second` is unreachable: no step goes to it"
    );
    assert_eq!(
        error(&BASE.replace("kernel: bool[4]", "count: bool[4]")),
        "bad.yaml:3:3: `count` is a reserved word"
    );
    assert!(error(&BASE.replace("when:", "wen:")).starts_with("bad.yaml:12:9: "));
    assert!(lang::load(
        "ok.yaml",
        &with("!kernel[tap]", "used = 0"),
        &lang::Config::default()
    )
    .is_ok());
}

/// Too many bound variables at once is an error, not a panic.
#[test]
fn too_many_bound_variables_are_an_error() {
    let nested = (0..17).fold("true".to_string(), |e, i| format!("any(v{i} in 0..0: {e})"));
    let text = with("true", "used = 0")
        + &format!("properties:\n  - name: deep\n    always: \"{nested}\"\n");
    assert_eq!(
        error(&text),
        "bad.yaml:1:1: more than 16 variables are bound at once (a step's `pick`s and `signal`s, and the quantifiers around an expression)"
    );
}

/// The first example of docs/language.md loads and finds its lost update.
#[test]
fn the_documented_example_finds_the_lost_update() {
    let doc = include_str!("../../docs/language.md");
    let start = doc.find("```yaml\n").expect("an example") + 8;
    let text = &doc[start..start + doc[start..].find("```").expect("closed")];
    let m = lang::load("docs/language.md", text, &lang::Config::default())
        .unwrap_or_else(|e| panic!("{}", e[0]));
    let r = sim::explore(&m, &sim::Options::default());
    assert!(r.outcomes.contains_key("total 1") && r.outcomes.contains_key("total 2"));
    assert_eq!(r.violations[0].property, "no lost update");
}
