//! One module per subcommand; each takes its parsed arguments and returns an exit code.

pub mod bench;
pub mod check;
pub mod explore;
pub mod guest;
pub mod list;
pub mod real;
pub mod replay;
pub mod report;
pub mod table;
