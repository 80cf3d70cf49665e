//! A set of 64-bit fingerprints in one open-addressing array (linear probing, 0 = empty): one
//! cache line per lookup, 8 bytes per slot. The sequential searches' visited set; sharded so that
//! growing it never needs twice the memory of the whole set at once.

/// Shards; a power of two, chosen by fingerprint bits the per-shard index does not use.
const SHARDS: usize = 64;
/// Grow a shard when it is this full (numerator over 8).
const MAX_LOAD_EIGHTHS: usize = 7;

struct Shard {
    slots: Vec<u64>,
    len: usize,
}

impl Shard {
    fn new() -> Self {
        Shard {
            slots: vec![0; 64],
            len: 0,
        }
    }

    fn insert(&mut self, fp: u64) -> bool {
        if (self.len + 1) * 8 > self.slots.len() * MAX_LOAD_EIGHTHS {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = (fp as usize) & mask;
        loop {
            let slot = self.slots[i];
            if slot == fp {
                return false;
            }
            if slot == 0 {
                self.slots[i] = fp;
                self.len += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Hints the CPU to fetch the cache line `fp` would probe first.
    fn prefetch(&self, fp: u64) {
        let i = (fp as usize) & (self.slots.len() - 1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `i` is in bounds; a prefetch never faults and has no observable effect.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.slots.as_ptr().add(i) as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    fn grow(&mut self) {
        let bigger = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.slots.len() - 1;
        for fp in old.into_iter().filter(|&fp| fp != 0) {
            let mut i = (fp as usize) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = fp;
        }
    }
}

/// A set of non-zero fingerprints.
pub struct FingerprintSet {
    shards: Vec<Shard>,
}

impl Default for FingerprintSet {
    fn default() -> Self {
        FingerprintSet {
            shards: (0..SHARDS).map(|_| Shard::new()).collect(),
        }
    }
}

impl FingerprintSet {
    fn shard(fp: u64) -> usize {
        (fp >> 58) as usize & (SHARDS - 1)
    }

    /// Inserts `fp` (never 0); true when it was new.
    pub fn insert(&mut self, fp: u64) -> bool {
        debug_assert_ne!(fp, 0, "fingerprints are never 0");
        self.shards[Self::shard(fp)].insert(fp)
    }

    /// Starts fetching the memory a later `insert(fp)` will touch, so that several misses overlap.
    pub fn prefetch(&self, fp: u64) {
        self.shards[Self::shard(fp)].prefetch(fp)
    }

    /// Number of fingerprints stored.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_set_across_growth() {
        let mut set = FingerprintSet::default();
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let fp = (x % 5_000).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
            assert_eq!(set.insert(fp), reference.insert(fp));
        }
        assert_eq!(set.len(), reference.len());
        assert!(reference.iter().all(|&fp| !set.insert(fp)));
        assert!(set.insert(2));
    }
}
