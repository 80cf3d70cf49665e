//! Scenario YAML: parsing, validation and building every job's model (`Scenario::from_text`).
#![no_main]
use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vmrace::scenario::Scenario::from_text(Path::new("fuzz.yaml"), text.to_string());
    }
});
