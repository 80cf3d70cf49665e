//! Loom models of the concurrent core of the parallel BFS (`sim::search::{WorkQueue,
//! ShardedSet}`), checked under every interleaving loom explores:
//!
//! * `WorkQueue::claim` called from two or three threads hands out every index of the level
//!   exactly once (no loss, no duplicate), in chunks, and then only `None`;
//! * one whole BFS level in miniature: workers claim frontier chunks and bucket candidates by
//!   shard, then `ShardedSet::partition_mut` gives each merge thread disjoint shards, and the
//!   per-thread insertions (keeping the smallest parent link) yield exactly the union of the
//!   candidates, with the same parent links whatever the interleaving.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p sim --release --test loom_queue`.

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use sim::search::{ShardedSet, WorkQueue};
use std::collections::BTreeMap;

/// Claims until the queue is empty, returning the ranges in the order received.
fn drain(queue: &WorkQueue) -> Vec<std::ops::Range<usize>> {
    std::iter::from_fn(|| queue.claim()).collect()
}

/// Checks that `claimed` (per thread) covers `0..len` exactly once, in chunks of `chunk`.
fn assert_exactly_once(claimed: &[Vec<std::ops::Range<usize>>], len: usize, chunk: usize) {
    let mut seen = vec![0u32; len];
    for ranges in claimed {
        for w in ranges.windows(2) {
            assert!(w[0].end <= w[1].start, "a thread's claims go forward");
        }
        for r in ranges {
            assert!(r.start < r.end && r.end <= len, "bad range {r:?}");
            assert!(r.len() == chunk || r.end == len, "short chunk {r:?}");
            for i in r.clone() {
                seen[i] += 1;
            }
        }
    }
    assert!(seen.iter().all(|&n| n == 1), "claims per index: {seen:?}");
}

fn claim_from(threads: usize, len: usize, chunk: usize) {
    loom::model(move || {
        let queue = Arc::new(WorkQueue::new(len, chunk));
        let handles: Vec<_> = (1..threads)
            .map(|_| {
                let queue = queue.clone();
                thread::spawn(move || drain(&queue))
            })
            .collect();
        let mut claimed = vec![drain(&queue)];
        claimed.extend(handles.into_iter().map(|h| h.join().expect("claimer")));
        assert_exactly_once(&claimed, len, chunk);
        assert_eq!(queue.claim(), None, "an empty queue stays empty");
    });
}

#[test]
fn two_threads_claim_every_index_once() {
    claim_from(2, 5, 2);
}

#[test]
fn three_threads_claim_every_index_once() {
    claim_from(3, 4, 1);
}

#[test]
fn three_threads_with_uneven_chunks() {
    claim_from(3, 7, 3);
}

#[test]
fn an_empty_level_hands_out_nothing() {
    claim_from(2, 0, 4);
}

/// A fingerprint in shard `shard` (shards are chosen by bits 32.. of the fingerprint).
fn fp(shard: u64, low: u64) -> u64 {
    shard << 32 | low
}

/// The frontier of the miniature level: each state yields these (fingerprint, parent) links.
/// Several states reach the same fingerprint, with different parents, in different shards.
fn successors(state: usize) -> Vec<(u64, u64)> {
    let s = state as u64;
    vec![
        (fp(s % 4, 7), 100 - s),
        (fp((s + 1) % 4, s % 2), 50 + s),
        (fp(5, 1), 10 + s),
    ]
}

/// Returns `f`, typed as a function of the parts of `_partition` (the shard type is private to
/// the engine, so the merge closure gets its parameter type from here).
fn for_parts<T, F>(_partition: &[Vec<T>], f: F) -> F
where
    F: Fn(Vec<T>, Vec<Vec<(u64, u64)>>) -> usize + Copy,
{
    f
}

/// One level: `workers` threads expand a frontier of `frontier` states in chunks of 1, then
/// `parts` threads merge disjoint shards.
fn level(workers: usize, parts: usize, frontier: usize) {
    loom::model(move || {
        let queue = Arc::new(WorkQueue::new(frontier, 1));
        let expand = move |queue: Arc<WorkQueue>| {
            let mut buckets: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
            while let Some(range) = queue.claim() {
                for state in range {
                    for (f, parent) in successors(state) {
                        buckets
                            .entry(ShardedSet::<u64>::shard_of(f))
                            .or_default()
                            .push((f, parent));
                    }
                }
            }
            buckets
        };
        let handles: Vec<_> = (1..workers)
            .map(|_| {
                let queue = queue.clone();
                thread::spawn(move || expand(queue))
            })
            .collect();
        let mut per_worker = vec![expand(queue)];
        per_worker.extend(handles.into_iter().map(|h| h.join().expect("worker")));

        // The merge threads borrow disjoint shards of `set`; every one is joined before the set
        // is read again or freed, which is what `std::thread::scope` guarantees in the engine
        // (loom has no scoped threads).
        let set: *mut ShardedSet<u64> = Box::into_raw(Box::default());
        // SAFETY: `set` is a live allocation; the borrows handed to the threads end when they
        // are joined below, before `set` is touched again.
        let partition = unsafe { &mut *set }.partition_mut(parts);
        // What one merge thread does with its shards: insert each candidate, keeping the
        // smallest parent link, and count the fingerprints that were new.
        let merge = for_parts(&partition, |mine, inputs| {
            let mut fresh = 0;
            for ((index, shard), candidates) in mine.into_iter().zip(inputs) {
                for (f, parent) in candidates {
                    assert_eq!(ShardedSet::<u64>::shard_of(f), index);
                    match shard.get(&f) {
                        None => {
                            shard.insert(f, parent);
                            fresh += 1;
                        }
                        Some(&old) if parent < old => {
                            shard.insert(f, parent);
                        }
                        Some(_) => {}
                    }
                }
            }
            fresh
        });
        let mut owned: Vec<usize> = Vec::new();
        let merges: Vec<_> = partition
            .into_iter()
            .map(|mine| {
                owned.extend(mine.iter().map(|(index, _)| *index));
                let inputs: Vec<Vec<(u64, u64)>> = mine
                    .iter()
                    .map(|(shard, _)| {
                        per_worker
                            .iter()
                            .flat_map(|b| b.get(shard).cloned().unwrap_or_default())
                            .collect()
                    })
                    .collect();
                (mine, inputs)
            })
            .collect();
        // Part 0 is merged by this thread, the others by their own (loom allows 5 threads).
        let mut merges = merges.into_iter();
        let (mine, inputs) = merges.next().expect("at least one part");
        let handles: Vec<_> = merges
            .map(|(mine, inputs)| thread::spawn(move || merge(mine, inputs)))
            .collect();
        let mut fresh = merge(mine, inputs);
        fresh += handles
            .into_iter()
            .map(|h| h.join().expect("merger"))
            .sum::<usize>();
        // SAFETY: every merge thread has been joined; no borrow of `*set` is left.
        let set = unsafe { Box::from_raw(set) };

        let mut expected: BTreeMap<u64, u64> = BTreeMap::new();
        for state in 0..frontier {
            for (f, parent) in successors(state) {
                let e = expected.entry(f).or_insert(parent);
                *e = (*e).min(parent);
            }
        }
        // The parts partition the shards: every shard index exactly once.
        owned.sort_unstable();
        assert!(owned.iter().copied().eq(0..owned.len()) && owned.len() > 5);
        assert_eq!(
            fresh,
            expected.len(),
            "each new state is fresh exactly once"
        );
        assert_eq!(set.len(), expected.len());
        for (f, parent) in &expected {
            assert_eq!(set.get(*f), Some(parent), "smallest parent of {f:#x}");
        }
    });
}

#[test]
fn two_workers_two_mergers_yield_the_union() {
    level(2, 2, 4);
}

#[test]
fn three_workers_three_mergers_yield_the_union() {
    level(3, 3, 3);
}
