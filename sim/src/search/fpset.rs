//! A set of 64-bit fingerprints in open-addressing arrays of cache-line buckets (0 = empty): a
//! fingerprint's home is one 64-byte bucket of 8 slots, filled front to back, and a full bucket
//! spills into the next, so that a lookup nearly always reads one cache line. The sequential
//! searches' visited set; sharded so that growing it never needs twice the memory of the whole
//! set at once. Large shards live in transparent huge pages where the OS offers them, so that a
//! random probe into a table far bigger than the cache costs a cache miss but rarely a TLB miss.

/// Shards; a power of two, chosen by fingerprint bits the per-shard index does not use. Few, so
/// that shards reach huge-page size early; enough that growing one costs little extra memory.
const SHARDS: usize = 8;
/// Grow a shard when it is this full (numerator over 8).
const MAX_LOAD_EIGHTHS: usize = 7;
/// Fingerprints per bucket: one cache line.
const BUCKET: usize = 8;

/// One cache line of slots.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket([u64; BUCKET]);

struct Shard {
    buckets: Table,
    len: usize,
}

impl Shard {
    fn new() -> Self {
        Shard {
            buckets: Table::zeroed(8),
            len: 0,
        }
    }

    #[inline]
    fn insert(&mut self, fp: u64) -> bool {
        if (self.len + 1) * 8 > self.buckets.len() * BUCKET * MAX_LOAD_EIGHTHS {
            self.grow();
        }
        let mask = self.buckets.len() - 1;
        let mut b = (fp as usize) & mask;
        loop {
            // Slots fill front to back and are never cleared, so the first empty slot ends the
            // search.
            for slot in self.buckets[b].0.iter_mut() {
                if *slot == fp {
                    return false;
                }
                if *slot == 0 {
                    *slot = fp;
                    self.len += 1;
                    return true;
                }
            }
            b = (b + 1) & mask;
        }
    }

    /// Hints the CPU to fetch the bucket `fp` would probe first.
    #[inline]
    fn prefetch(&self, fp: u64) {
        let b = (fp as usize) & (self.buckets.len() - 1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `b` is in bounds; a prefetch never faults and has no observable effect.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.buckets.as_ptr().add(b) as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = b;
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let bigger = Table::zeroed(self.buckets.len() * 2);
        let old = std::mem::replace(&mut self.buckets, bigger);
        let mask = self.buckets.len() - 1;
        for &fp in old.iter().flat_map(|b| &b.0).filter(|&&fp| fp != 0) {
            let mut b = (fp as usize) & mask;
            loop {
                if let Some(slot) = self.buckets[b].0.iter_mut().find(|s| **s == 0) {
                    *slot = fp;
                    break;
                }
                b = (b + 1) & mask;
            }
        }
    }
}

/// Tables at least this big (in bytes) are mapped 2 MiB-aligned and advised to use huge pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// A zeroed array of buckets: an ordinary heap allocation, or on Linux, for tables of at least a
/// huge page, an anonymous mapping aligned to and advised for transparent huge pages.
enum Table {
    Heap(Box<[Bucket]>),
    #[cfg(target_os = "linux")]
    Huge(huge::Mapping),
}

impl Table {
    /// `len` zeroed buckets.
    fn zeroed(len: usize) -> Self {
        #[cfg(target_os = "linux")]
        if len * size_of::<Bucket>() >= HUGE_PAGE {
            if let Some(mapping) = huge::Mapping::zeroed(len) {
                return Table::Huge(mapping);
            }
        }
        Table::Heap(vec![Bucket([0; BUCKET]); len].into_boxed_slice())
    }
}

impl std::ops::Deref for Table {
    type Target = [Bucket];
    #[inline]
    fn deref(&self) -> &[Bucket] {
        match self {
            Table::Heap(buckets) => buckets,
            #[cfg(target_os = "linux")]
            Table::Huge(mapping) => mapping.as_slice(),
        }
    }
}

impl std::ops::DerefMut for Table {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Bucket] {
        match self {
            Table::Heap(buckets) => buckets,
            #[cfg(target_os = "linux")]
            Table::Huge(mapping) => mapping.as_mut_slice(),
        }
    }
}

#[cfg(target_os = "linux")]
mod huge {
    use super::{Bucket, HUGE_PAGE};
    use std::ptr::NonNull;

    /// An anonymous private mapping of `len` buckets, 2 MiB-aligned, advised `MADV_HUGEPAGE`.
    pub(super) struct Mapping {
        ptr: NonNull<Bucket>,
        len: usize,
    }

    // SAFETY: the mapping is owned exclusively, like a `Box<[Bucket]>`.
    unsafe impl Send for Mapping {}
    // SAFETY: shared access only reads, like a `Box<[Bucket]>`.
    unsafe impl Sync for Mapping {}

    impl Mapping {
        /// `len` zeroed buckets, or `None` if the mapping fails.
        pub(super) fn zeroed(len: usize) -> Option<Self> {
            let bytes = len * size_of::<Bucket>();
            let padded = bytes + HUGE_PAGE;
            // SAFETY: a fresh anonymous mapping; no existing memory is affected.
            let raw = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    padded,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if raw == libc::MAP_FAILED {
                return None;
            }
            let start = raw as usize;
            let head = start.next_multiple_of(HUGE_PAGE) - start;
            let aligned = start + head;
            // SAFETY: the trimmed ranges lie inside the mapping just made and outside
            // `aligned..aligned + bytes`; the advice only concerns that range. A failure leaves
            // the memory usable (with small pages, or with some unused address space), so the
            // results are ignored.
            unsafe {
                if head > 0 {
                    libc::munmap(raw, head);
                }
                libc::munmap((aligned + bytes) as *mut libc::c_void, HUGE_PAGE - head);
                libc::madvise(aligned as *mut libc::c_void, bytes, libc::MADV_HUGEPAGE);
            }
            Some(Mapping {
                ptr: NonNull::new(aligned as *mut Bucket)?,
                len,
            })
        }

        #[inline]
        pub(super) fn as_slice(&self) -> &[Bucket] {
            // SAFETY: `ptr` points to `len` zero-filled (hence initialised) buckets owned by self.
            unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
        }

        #[inline]
        pub(super) fn as_mut_slice(&mut self) -> &mut [Bucket] {
            // SAFETY: as in `as_slice`; `&mut self` makes the access exclusive.
            unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: exactly the range kept by `zeroed`, unmapped once.
            unsafe {
                libc::munmap(
                    self.ptr.as_ptr() as *mut libc::c_void,
                    self.len * size_of::<Bucket>(),
                );
            }
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
    #[inline]
    fn shard(fp: u64) -> usize {
        (fp >> (64 - SHARDS.trailing_zeros())) as usize
    }

    /// Inserts `fp` (never 0); true when it was new.
    #[inline]
    pub fn insert(&mut self, fp: u64) -> bool {
        debug_assert_ne!(fp, 0, "fingerprints are never 0");
        self.shards[Self::shard(fp)].insert(fp)
    }

    /// Starts fetching the memory a later `insert(fp)` will touch, so that several misses overlap.
    #[inline]
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

    #[test]
    fn full_buckets_spill_into_the_next_and_wrap() {
        let mut shard = Shard::new();
        let last = shard.buckets.len() as u64 - 1;
        // Twenty fingerprints with the same home, the last bucket: they fill it, then wrap.
        let fps: Vec<u64> = (1..=20).map(|i| (i << 32) | last).collect();
        assert!(fps.iter().all(|&fp| shard.insert(fp)));
        assert!(fps.iter().all(|&fp| !shard.insert(fp)));
        assert_eq!(shard.buckets[0].0[0], fps[8]);
        shard.grow();
        assert_eq!(shard.len, 20);
        assert!(fps.iter().all(|&fp| !shard.insert(fp)));
    }

    #[test]
    fn large_tables_are_zeroed_and_writable() {
        let len = 3 * (2 << 20) / size_of::<Bucket>();
        let mut table = Table::zeroed(len);
        assert_eq!(table.len(), len);
        assert_eq!(table.as_ptr() as usize % 64, 0);
        assert!(table.iter().all(|b| b.0 == [0; BUCKET]));
        table[len - 1].0[BUCKET - 1] = 7;
        assert_eq!(table.last().map(|b| b.0[BUCKET - 1]), Some(7));
    }
}
