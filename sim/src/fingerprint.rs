//! 64-bit state fingerprints: a fixed-seed hash, so that the same state has the same fingerprint
//! on every machine and in every run (they appear in traces).

use std::hash::{BuildHasher, Hash};

const SEED: u64 = 0x766d_7261_6365_0001; // "vmrace" + format version

/// The fingerprint of a value.
pub fn fingerprint<T: Hash + ?Sized>(value: &T) -> u64 {
    let fp = foldhash::fast::FixedState::with_seed(SEED).hash_one(value);
    // 0 is reserved so that tables may use it as "empty"
    if fp == 0 {
        1
    } else {
        fp
    }
}

/// Formats a fingerprint the way traces and reports print it.
pub fn format_fingerprint(fp: u64) -> String {
    format!("{fp:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinguishing() {
        assert_eq!(fingerprint(&(1u8, 2u32)), fingerprint(&(1u8, 2u32)));
        assert_ne!(fingerprint(&(1u8, 2u32)), fingerprint(&(2u8, 1u32)));
        assert_eq!(format_fingerprint(0xab).len(), 16);
    }
}
