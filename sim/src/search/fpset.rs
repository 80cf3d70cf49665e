//! A set of 64-bit fingerprints in open-addressing arrays of cache-line buckets (0 = empty): a
//! fingerprint's home is one 64-byte bucket of 8 slots, filled front to back, and a full bucket
//! spills into the next, so that a lookup nearly always reads one cache line. The sequential
//! searches' visited set.
//!
//! Probing never wraps around: past the last home bucket comes a small spill area that lengthens
//! on demand. That lets a shard double in place (the table is extended, then rehashed front to
//! back), so growing touches no memory twice. Large shards live in transparent huge pages where
//! the OS offers them, so that a random probe into a table far bigger than the cache costs a
//! cache miss but rarely a TLB miss as well.

use std::ptr::NonNull;

/// Shards, each growing on its own (which spreads the pauses of growing); a power of two, chosen
/// by fingerprint bits the per-shard index does not use. Few, so that shards reach huge-page size
/// early.
const SHARDS: usize = 8;
/// Grow a shard when it is this full (numerator over 8).
const MAX_LOAD_EIGHTHS: usize = 6;
/// Fingerprints per bucket: one cache line.
const BUCKET: usize = 8;

/// One cache line of slots.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket([u64; BUCKET]);

const EMPTY: Bucket = Bucket([0; BUCKET]);

/// What a probe of one bucket found.
enum Probe {
    Found,
    Stored,
    Full,
}

/// Looks for `fp` in `bucket`, storing it in the first empty slot if it is absent. Slots fill
/// front to back and are never cleared, so an empty one ends the search.
#[inline]
fn probe(bucket: &mut Bucket, fp: u64) -> Probe {
    for slot in bucket.0.iter_mut() {
        if *slot == fp {
            return Probe::Found;
        }
        if *slot == 0 {
            *slot = fp;
            return Probe::Stored;
        }
    }
    Probe::Full
}

struct Shard {
    /// The home buckets; a power of two of them.
    homes: Table,
    /// The buckets after the last home (kept apart, so that the home table stays a whole number
    /// of huge pages).
    spill: Vec<Bucket>,
    len: usize,
}

impl Shard {
    fn new() -> Self {
        Shard {
            homes: Table::zeroed(8),
            spill: Vec::new(),
            len: 0,
        }
    }

    /// Bucket `b` of the homes followed by the spill area, which lengthens to hold it.
    #[inline]
    fn bucket(&mut self, b: usize) -> &mut Bucket {
        match b.checked_sub(self.homes.len()) {
            None => &mut self.homes[b],
            Some(i) => {
                if i >= self.spill.len() {
                    self.spill.resize(i + 1, EMPTY);
                }
                &mut self.spill[i]
            }
        }
    }

    #[inline]
    fn insert(&mut self, fp: u64) -> bool {
        if (self.len + 1) * 8 > self.homes.len() * BUCKET * MAX_LOAD_EIGHTHS {
            self.grow();
        }
        let stored = self.put(fp);
        self.len += stored as usize;
        stored
    }

    /// `insert` without the count and the growth.
    #[inline]
    fn put(&mut self, fp: u64) -> bool {
        let home = (fp as usize) & (self.homes.len() - 1);
        match probe(&mut self.homes[home], fp) {
            Probe::Found => false,
            Probe::Stored => true,
            Probe::Full => self.place(fp, home + 1),
        }
    }

    /// Looks for `fp` from bucket `b` on, storing it in the first free slot if it is absent;
    /// true when stored. (A full home bucket is rare enough to leave the fast path.)
    #[cold]
    #[inline(never)]
    fn place(&mut self, fp: u64, mut b: usize) -> bool {
        loop {
            match probe(self.bucket(b), fp) {
                Probe::Found => return false,
                Probe::Stored => return true,
                Probe::Full => b += 1,
            }
        }
    }

    /// Hints the CPU to fetch the bucket `fp` would probe first.
    #[inline]
    fn prefetch(&self, fp: u64) {
        let b = (fp as usize) & (self.homes.len() - 1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `b` is a home bucket, in bounds; a prefetch never faults and has no
        // observable effect.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.homes.as_ptr().add(b) as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = b;
    }

    /// Doubles the home buckets in place. A fingerprint's new home is its old one or that plus
    /// the old count, and probing never wraps, so rehashing the old homes front to back only
    /// ever moves a fingerprint into a bucket already rehashed or into the new upper half; the
    /// spill area, whose places become home buckets, is emptied first and placed last.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let old = self.homes.len();
        let spilled = std::mem::take(&mut self.spill);
        self.homes.extend(2 * old);
        for b in 0..old {
            let fps = std::mem::replace(&mut self.homes[b], EMPTY).0;
            for fp in fps.into_iter().filter(|&fp| fp != 0) {
                self.put(fp);
            }
        }
        for fp in spilled.iter().flat_map(|b| b.0).filter(|&fp| fp != 0) {
            self.put(fp);
        }
    }
}

/// Tables at least this big (in bytes) are mapped 2 MiB-aligned and advised to use huge pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// A zeroed, extendable array of buckets: an ordinary heap allocation, or on Linux, from a huge
/// page's size on, a mapping with room reserved to grow in place.
struct Table {
    /// Address and number of the buckets in `memory`, cached so that indexing needs no match on
    /// the kind of memory; `memory` changes only in `extend`, which refreshes them.
    ptr: NonNull<Bucket>,
    len: usize,
    memory: Memory,
}

enum Memory {
    Heap(Vec<Bucket>),
    #[cfg(target_os = "linux")]
    Mapped(huge::Mapping),
}

impl Table {
    /// `len` zeroed buckets.
    fn zeroed(len: usize) -> Self {
        let mut table = Table {
            ptr: NonNull::dangling(),
            len: 0,
            memory: Memory::Heap(Vec::new()),
        };
        table.extend(len);
        table
    }

    /// Lengthens the table to `len` buckets, keeping its contents; the new buckets are empty.
    fn extend(&mut self, len: usize) {
        let old = std::mem::replace(&mut self.memory, Memory::Heap(Vec::new()));
        self.memory = match self.map(old, len) {
            Ok(mapped) => mapped,
            Err(Memory::Heap(mut heap)) => {
                heap.resize(len, EMPTY);
                Memory::Heap(heap)
            }
            #[cfg(target_os = "linux")]
            Err(Memory::Mapped(mapping)) => {
                let mut heap = mapping.buckets().to_vec();
                heap.resize(len, EMPTY);
                Memory::Heap(heap)
            }
        };
        (self.ptr, self.len) = match &mut self.memory {
            Memory::Heap(heap) => (NonNull::from(heap.as_mut_slice()).cast(), heap.len()),
            #[cfg(target_os = "linux")]
            Memory::Mapped(mapping) => (mapping.as_ptr(), len),
        };
    }

    /// `old` (this table's memory) lengthened to `len` buckets in a huge-page mapping, or `old`
    /// back when the table is too small for one or no mapping can be had.
    #[cfg(target_os = "linux")]
    fn map(&self, old: Memory, len: usize) -> Result<Memory, Memory> {
        let old = match old {
            Memory::Mapped(mut mapping) => {
                if mapping.extend(len) {
                    return Ok(Memory::Mapped(mapping));
                }
                Memory::Mapped(mapping)
            }
            heap => heap,
        };
        if len * size_of::<Bucket>() < HUGE_PAGE {
            return Err(old);
        }
        let Some(mut mapping) = huge::Mapping::reserve(len) else {
            return Err(old);
        };
        if !mapping.extend(len) {
            return Err(old);
        }
        // SAFETY: the mapping's first `len` buckets are accessible and its own; the table's
        // `self.len` buckets, no more, lie in `old`, other memory.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), mapping.as_ptr().as_ptr(), self.len);
        }
        Ok(Memory::Mapped(mapping))
    }

    #[cfg(not(target_os = "linux"))]
    fn map(&self, old: Memory, _len: usize) -> Result<Memory, Memory> {
        Err(old)
    }
}

impl std::ops::Deref for Table {
    type Target = [Bucket];
    #[inline]
    fn deref(&self) -> &[Bucket] {
        // SAFETY: `ptr` and `len` describe the initialised buckets `memory` owns (see the fields).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Table {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Bucket] {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive, and `memory` is not
        // otherwise accessed outside `extend`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(target_os = "linux")]
mod huge {
    use super::{Bucket, HUGE_PAGE};
    use std::ptr::NonNull;

    const PAGE: usize = 4096;

    /// A 2 MiB-aligned anonymous reservation, advised `MADV_HUGEPAGE`, of which the first `len`
    /// buckets are accessible (and zero until written); the rest has no access and costs no
    /// memory until `extend` opens it.
    pub(super) struct Mapping {
        ptr: NonNull<Bucket>,
        len: usize,
        /// Accessible bytes: `len` buckets rounded up to whole pages.
        open: usize,
        reserved: usize,
    }

    impl Mapping {
        /// An empty mapping with room for at least `len` buckets (and, to grow in place, for as
        /// many as fill this machine's memory once all shards have grown alike), or `None` if
        /// it cannot be mapped.
        pub(super) fn reserve(len: usize) -> Option<Self> {
            // SAFETY: sysconf only reads system configuration.
            let memory = unsafe {
                libc::sysconf(libc::_SC_PHYS_PAGES).max(0) as usize
                    * libc::sysconf(libc::_SC_PAGESIZE).max(0) as usize
            };
            let reserved = (memory / super::SHARDS)
                .max(2 * len * size_of::<Bucket>())
                .next_multiple_of(HUGE_PAGE);
            // SAFETY: a fresh anonymous mapping; no existing memory is affected.
            let raw = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    reserved + HUGE_PAGE,
                    libc::PROT_NONE,
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
            // `aligned..aligned + reserved`; the advice only concerns that range. A failure
            // leaves the reservation usable (with small pages, or with some address space to
            // spare), so the results are ignored.
            unsafe {
                if head > 0 {
                    libc::munmap(raw, head);
                }
                libc::munmap((aligned + reserved) as *mut libc::c_void, HUGE_PAGE - head);
                libc::madvise(aligned as *mut libc::c_void, reserved, libc::MADV_HUGEPAGE);
            }
            Some(Mapping {
                ptr: NonNull::new(aligned as *mut Bucket)?,
                len: 0,
                open: 0,
                reserved,
            })
        }

        /// Makes the first `len` buckets accessible (new ones are zero); false, changing
        /// nothing, when `len` exceeds the reservation or access cannot be granted.
        pub(super) fn extend(&mut self, len: usize) -> bool {
            let open = (len * size_of::<Bucket>()).next_multiple_of(PAGE);
            if open > self.reserved {
                return false;
            }
            if open > self.open {
                // SAFETY: the range lies inside the reservation and holds no accessible memory
                // yet, so no reference into it exists.
                let status = unsafe {
                    libc::mprotect(
                        (self.ptr.as_ptr() as *mut u8).add(self.open) as *mut libc::c_void,
                        open - self.open,
                        libc::PROT_READ | libc::PROT_WRITE,
                    )
                };
                if status != 0 {
                    return false;
                }
                self.open = open;
            }
            self.len = self.len.max(len);
            true
        }

        /// The first bucket.
        pub(super) fn as_ptr(&self) -> NonNull<Bucket> {
            self.ptr
        }

        /// The accessible buckets.
        pub(super) fn buckets(&self) -> &[Bucket] {
            // SAFETY: the first `len` buckets are accessible and initialised (zero-filled by
            // the OS or written since), and owned by self.
            unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: exactly the reservation made by `reserve`, unmapped once.
            unsafe {
                libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.reserved);
            }
        }
    }
}

/// A set of non-zero fingerprints.
pub struct FingerprintSet {
    shards: [Shard; SHARDS],
    len: usize,
}

impl Default for FingerprintSet {
    fn default() -> Self {
        FingerprintSet {
            shards: std::array::from_fn(|_| Shard::new()),
            len: 0,
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
        let new = self.shards[Self::shard(fp)].insert(fp);
        self.len += new as usize;
        new
    }

    /// Starts fetching the memory a later `insert(fp)` will touch, so that several misses overlap.
    #[inline]
    pub fn prefetch(&self, fp: u64) {
        self.shards[Self::shard(fp)].prefetch(fp)
    }

    /// Number of fingerprints stored.
    pub fn len(&self) -> usize {
        self.len
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
    fn full_buckets_spill_past_the_end_and_survive_growth() {
        let mut shard = Shard::new();
        while shard.homes.len() < 256 {
            shard.grow();
        }
        let last = shard.homes.len() as u64 - 1;
        // Fingerprints with the last home fill it and then ten spill buckets.
        let fps: Vec<u64> = (1..=(BUCKET * 11) as u64)
            .map(|i| (i << 32) | last)
            .collect();
        assert!(fps.iter().all(|&fp| shard.insert(fp)));
        assert_eq!(shard.spill.len(), 10);
        assert!(fps.iter().all(|&fp| !shard.insert(fp)));
        assert_eq!(shard.homes.len(), 256, "no growth while filling");
        shard.grow();
        assert!(shard.spill.is_empty());
        assert_eq!(shard.len, fps.len());
        assert!(fps.iter().all(|&fp| !shard.insert(fp)));
    }

    #[test]
    fn growing_in_place_keeps_every_fingerprint() {
        let mut shard = Shard::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut fps = Vec::new();
        // Enough to move the table into a huge-page mapping and grow it there.
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            fps.push(x | 1);
            assert!(shard.insert(x | 1));
        }
        assert_eq!(shard.homes.len() * size_of::<Bucket>(), 4 << 20);
        #[cfg(target_os = "linux")]
        assert!(matches!(shard.homes.memory, Memory::Mapped(_)));
        assert_eq!(shard.len, fps.len());
        assert!(fps.iter().all(|&fp| !shard.insert(fp)));
    }

    #[test]
    fn tables_extend_zeroed_keeping_contents() {
        let mut table = Table::zeroed(10);
        table[9].0[BUCKET - 1] = 7;
        for len in [1 << 15, 3 << 15, 5 << 16] {
            table.extend(len);
            assert_eq!(table.len(), len);
            assert_eq!(table.as_ptr() as usize % 64, 0);
            assert_eq!(table[9].0[BUCKET - 1], 7);
            assert_eq!(table.iter().filter(|b| b.0 != [0; BUCKET]).count(), 1);
        }
    }
}
