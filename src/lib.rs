//! vmrace: the command-line tool's library side (scenario loading, reports, real replay).
pub mod real;
