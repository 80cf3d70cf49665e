//! The few concurrency primitives the parallel search uses, switched to loom's or shuttle's
//! versions when those checkers test the engine (`--cfg loom`, feature `shuttle`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(all(not(loom), feature = "shuttle"))]
pub(crate) use shuttle::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(all(not(loom), not(feature = "shuttle")))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(feature = "shuttle")]
pub(crate) use shuttle::thread::scope;

#[cfg(not(feature = "shuttle"))]
pub(crate) use std::thread::scope;
