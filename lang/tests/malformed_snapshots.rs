//! Every malformed model under `tests/malformed/` is refused at load with messages placed at
//! file:line:column; the messages are snapshots (`cargo insta review` after a deliberate
//! change). A model in that directory that loads is a failure.

use std::path::Path;

#[test]
fn every_malformed_model_is_refused_with_the_snapshotted_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/malformed")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus shrank: {files:?}");
    for path in files {
        let stem = path.file_stem().expect("a name").to_string_lossy();
        let text = std::fs::read_to_string(&path).expect("readable");
        let shown = format!("malformed/{stem}.yaml");
        let errors = match lang::load(&shown, &text, &lang::Config::default()) {
            Ok(_) => panic!("{shown} loaded"),
            Err(errors) => errors,
        };
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(stem.to_string(), messages.join("\n"));
    }
}
