//! Errors the command line reports, each with the exit code it maps to.

/// Exit code: everything as expected.
pub const EXIT_OK: i32 = 0;
/// Exit code: a verdict drifted from what a scenario expects (or a replay disagreed).
pub const EXIT_DRIFT: i32 = 1;
/// Exit code: bad input (malformed YAML, unknown names, corrupt traces, missing tools).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code: a bound cut a search that the scenario says must be complete.
pub const EXIT_INCOMPLETE: i32 = 3;
/// Exit code: standard output was closed early (`vmrace check | head -1`): 128 + SIGPIPE, what
/// a shell reports for a tool that a closed pipe stopped. The run did not finish, so it is
/// never 0.
pub const EXIT_BROKEN_PIPE: i32 = 141;

/// A failure with a message that says where and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// The process exit code.
    pub code: i32,
    /// The message printed on stderr.
    pub message: String,
}

impl CliError {
    /// Bad input: exit code 2.
    pub fn bad_input(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    /// Standard output was closed early: exit [`EXIT_BROKEN_PIPE`] without a message.
    pub fn broken_pipe() -> Self {
        CliError {
            code: EXIT_BROKEN_PIPE,
            message: String::new(),
        }
    }
}

/// The result type of every command.
pub type CliResult<T = i32> = Result<T, CliError>;
