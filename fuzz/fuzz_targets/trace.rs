//! Trace YAML: parsing (`sim::Trace::from_yaml`), then finding its scenario and replaying it
//! (`scenario::verify`). The trace is placed in `scenarios/traces/`, so that the bundled traces
//! of the seed corpus find their scenarios.
#![no_main]
use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/traces/fuzz.yaml"
    ));
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(trace) = vmrace::commands::replay::parse_trace(path, text) {
            let _ = vmrace::scenario::verify::verify(&trace, path);
        }
    }
});
