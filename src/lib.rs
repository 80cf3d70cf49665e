//! vmrace: the command-line tool's library side (scenario loading, checking, reports, benchmarks
//! and real replay). The engine is the `sim` crate; the actors are in the `models` crate.
pub mod bench;
pub mod commands;
pub mod error;
pub mod gate;
mod input;
pub mod memory;
pub mod out;
pub mod progress;
pub mod real;
pub mod report;
pub mod repro;
pub mod scenario;
pub mod story;
