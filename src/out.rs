//! Standard output and standard error without panics, coloured only where colour belongs. `println!` panics when stdout is a closed
//! pipe (`vmrace check | head -1`) or a full disk; every command writes through [`outln!`] and
//! [`out!`] instead, which return the failure as a [`CliError`] for the command to propagate:
//! a closed pipe becomes a quiet exit with [`EXIT_BROKEN_PIPE`](crate::error::EXIT_BROKEN_PIPE),
//! any other write error (`No space left on device`) bad input naming it. [`errln!`] writes to
//! stderr and drops its errors: with stderr gone there is nowhere left to report them.
//!
//! Both go through [`anstream`]: styles written with [`paint`] reach a terminal, and are
//! stripped on a pipe, in a file, or when `NO_COLOR` is set (`CLICOLOR_FORCE` forces them).

use crate::error::CliError;
use anstyle::{AnsiColor, Style};
use std::io::{self, Write};

/// Writes `args` to standard output and flushes, so that every failure is seen at once.
pub fn write_stdout(args: std::fmt::Arguments) -> Result<(), CliError> {
    let mut stdout = anstream::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .map_err(stdout_error)
}

/// The error for a failed write to standard output: a closed pipe, or bad input naming the
/// cause.
pub fn stdout_error(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError::broken_pipe()
    } else {
        CliError::bad_input(format!("cannot write to standard output: {e}"))
    }
}

/// What a piece of output says, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Something is wrong (drift, a violation): red.
    Bad,
    /// Something needs a look (incomplete, timing-dependent): yellow.
    Warn,
    /// As expected: green.
    Good,
}

/// `text` in `tone`'s colour (bold for [`Tone::Bad`]); plain wherever colour is off.
pub fn paint(text: &str, tone: Tone) -> String {
    let style = match tone {
        Tone::Bad => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        Tone::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Tone::Good => Style::new().fg_color(Some(AnsiColor::Green.into())),
    };
    format!("{style}{text}{style:#}")
}

/// Writes `args` to standard error, ignoring failures.
pub fn write_stderr(args: std::fmt::Arguments) {
    let _ = anstream::stderr().lock().write_fmt(args);
}

/// `print!` to standard output, returning `Result<(), CliError>` instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` to standard output, returning `Result<(), CliError>` instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics (a closed or full stderr is ignored).
#[macro_export]
macro_rules! errln {
    () => {
        $crate::out::write_stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}
