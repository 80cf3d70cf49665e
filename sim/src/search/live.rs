//! Live figures of a running search (states, depth, queue), for a progress display on another
//! thread. Searches update them now and then with relaxed stores; they never change a result.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters a search publishes while it runs; read them with [`Live::snapshot`].
#[derive(Debug, Default)]
pub struct Live {
    states: AtomicU64,
    depth: AtomicU64,
    queue: AtomicU64,
}

/// One reading of a [`Live`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveSnapshot {
    /// States expanded so far (BFS: the levels done and this level's share; DFS: the visited
    /// set's size).
    pub states: u64,
    /// The depth being explored (BFS: the level; DFS: the stack's height).
    pub depth: u64,
    /// States waiting to be expanded (BFS: the rest of the level; DFS: the stack's height).
    pub queue: u64,
}

impl Live {
    /// Publishes the current figures.
    pub fn publish(&self, states: u64, depth: u64, queue: u64) {
        self.states.store(states, Ordering::Relaxed);
        self.depth.store(depth, Ordering::Relaxed);
        self.queue.store(queue, Ordering::Relaxed);
    }

    /// The figures last published.
    pub fn snapshot(&self) -> LiveSnapshot {
        LiveSnapshot {
            states: self.states.load(Ordering::Relaxed),
            depth: self.depth.load(Ordering::Relaxed),
            queue: self.queue.load(Ordering::Relaxed),
        }
    }
}
