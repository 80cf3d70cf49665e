//! The concurrent core of the parallel search: a fingerprint set split into shards that threads
//! own disjointly while merging, and a lock-free queue that hands out chunks of a level.

use crate::sync::{AtomicUsize, Ordering};
use std::hash::{BuildHasher, Hasher};

/// Number of shards; a power of two. Shards also bound the memory spike of a table resize to a
/// small fraction of the whole set.
pub const SHARDS: usize = 256;

/// One shard: fingerprints with a value each (`()` for a plain set, a parent link for BFS).
pub type Shard<V> = hashbrown::HashMap<u64, V, PassThrough>;

/// A table keyed by 64-bit fingerprints, sharded by bits that the per-shard table does not use.
pub struct ShardedSet<V = ()> {
    shards: Vec<Shard<V>>,
}

impl<V> Default for ShardedSet<V> {
    fn default() -> Self {
        ShardedSet {
            shards: (0..SHARDS)
                .map(|_| hashbrown::HashMap::with_hasher(PassThrough))
                .collect(),
        }
    }
}

impl<V> ShardedSet<V> {
    /// The shard a fingerprint belongs to.
    pub fn shard_of(fp: u64) -> usize {
        ((fp >> 32) as usize) & (SHARDS - 1)
    }

    /// Whether `fp` is present.
    pub fn contains(&self, fp: u64) -> bool {
        self.shards[Self::shard_of(fp)].contains_key(&fp)
    }

    /// Inserts `fp` with `value`; true when it was new (an existing value is kept).
    pub fn insert(&mut self, fp: u64, value: V) -> bool {
        match self.shards[Self::shard_of(fp)].entry(fp) {
            hashbrown::hash_map::Entry::Occupied(_) => false,
            hashbrown::hash_map::Entry::Vacant(v) => {
                v.insert(value);
                true
            }
        }
    }

    /// The value stored with `fp`.
    pub fn get(&self, fp: u64) -> Option<&V> {
        self.shards[Self::shard_of(fp)].get(&fp)
    }

    /// Number of fingerprints stored.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Splits the shards among `parts` owners: owner `i` gets shards `i, i + parts, ...`, so each
    /// thread can merge into its own shards with no lock.
    pub fn partition_mut(&mut self, parts: usize) -> Vec<Vec<(usize, &mut Shard<V>)>> {
        let mut out: Vec<Vec<_>> = (0..parts).map(|_| Vec::new()).collect();
        for (i, shard) in self.shards.iter_mut().enumerate() {
            out[i % parts].push((i, shard));
        }
        out
    }
}

/// Fingerprints are already uniformly hashed; the table uses them as they are.
#[derive(Clone, Copy, Default)]
pub struct PassThrough;

/// The hasher behind [`PassThrough`].
#[derive(Default)]
pub struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;
    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher(0)
    }
}

/// Hands out consecutive chunks of `0..len` to any number of threads; each index exactly once.
pub struct WorkQueue {
    next: AtomicUsize,
    len: usize,
    chunk: usize,
}

impl WorkQueue {
    /// A queue over `0..len` in chunks of `chunk`.
    pub fn new(len: usize, chunk: usize) -> Self {
        WorkQueue {
            next: AtomicUsize::new(0),
            len,
            chunk: chunk.max(1),
        }
    }

    /// The next unclaimed range, or `None` when everything is claimed.
    pub fn claim(&self) -> Option<std::ops::Range<usize>> {
        let start = self.next.fetch_add(self.chunk, Ordering::Relaxed);
        if start >= self.len {
            None
        } else {
            Some(start..(start + self.chunk).min(self.len))
        }
    }
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests {
    use super::*;

    #[test]
    fn set_counts_distinct() {
        let mut s = ShardedSet::default();
        assert!(s.insert(5, ()));
        assert!(!s.insert(5, ()));
        assert!(s.insert(5 << 40, ()));
        assert_eq!(s.len(), 2);
        assert!(s.contains(5));
        let parts = s.partition_mut(3);
        assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), SHARDS);
    }

    #[test]
    fn queue_hands_out_everything_once() {
        let q = WorkQueue::new(10, 4);
        let got: Vec<_> = std::iter::from_fn(|| q.claim()).collect();
        assert_eq!(got, vec![0..4, 4..8, 8..10]);
    }
}
