//! Bug-report logs: the log reader (`repro::log::from_text`) and the scenario `vmrace new`
//! writes from what it read.
#![no_main]
use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(log) = vmrace::repro::log::from_text(Path::new("fuzz.log"), text) {
            let _ = vmrace::repro::new::render(&log, "fuzz", "fuzz.log");
        }
    }
});
