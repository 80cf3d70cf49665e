//! Property expressions: `CompiledProperty::compile` (limits, parse, names, evaluation) against
//! observations of each type.
#![no_main]
use models::scenario::Obs;
use vmrace::scenario::checked::CompiledProperty;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let observed = vec![
            ("A.result".to_string(), Obs::Str("REBOOT".into())),
            ("A.killed".to_string(), Obs::Bool(false)),
            ("A.boots".to_string(), Obs::Int(1)),
            ("B.connected".to_string(), Obs::Bool(true)),
        ];
        let def = (
            "p".to_string(),
            sim::PropertyKind::Always,
            text.to_string(),
            None,
        );
        let _ = CompiledProperty::compile(def, &observed);
    }
});
