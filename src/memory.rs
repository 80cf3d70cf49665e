//! Peak resident memory, read from `/proc/self/status` (Linux), with the peak reset between
//! benchmark configurations through `/proc/self/clear_refs`.

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Current resident set size in bytes (0 where unknown).
pub fn current_rss() -> u64 {
    status_kib("VmRSS:").unwrap_or(0) * 1024
}

/// Peak resident set size in bytes since the last [`reset_peak`] (0 where unknown).
pub fn peak_rss() -> u64 {
    status_kib("VmHWM:").unwrap_or(0) * 1024
}

/// Resets the peak to the current size (Linux ≥ 4.0); harmless where unsupported.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
