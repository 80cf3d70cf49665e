//! Reading input files with a size limit per kind, so that a huge file (or `/dev/zero`) is
//! refused with a clear error instead of filling memory. The limits are far above any real
//! file: the bundled scenarios are under 10 KiB, the stored traces under 25 KiB.

use crate::error::CliError;
use std::io::Read;
use std::path::Path;

/// What a file is read as; each kind has its own size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A scenario (YAML): at most 1 MiB.
    Scenario,
    /// A trace (YAML): at most 16 MiB.
    Trace,
    /// A bug-report log: at most 64 MiB.
    Log,
}

impl Kind {
    /// The largest file of this kind accepted, in bytes.
    pub const fn max_bytes(self) -> u64 {
        match self {
            Kind::Scenario => 1 << 20,
            Kind::Trace => 16 << 20,
            Kind::Log => 64 << 20,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario file",
            Kind::Trace => "trace",
            Kind::Log => "log",
        }
    }
}

/// Reads at most `kind`'s limit of bytes from `path`; a longer file is bad input.
pub fn read_bytes(path: &Path, kind: Kind) -> Result<Vec<u8>, CliError> {
    let cannot =
        |e: std::io::Error| CliError::bad_input(format!("{}: cannot read: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(kind.max_bytes() + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > kind.max_bytes() {
        return Err(CliError::bad_input(format!(
            "{}: larger than the {} MiB a {} may have",
            path.display(),
            kind.max_bytes() >> 20,
            kind.name()
        )));
    }
    Ok(bytes)
}

/// Reads `path` as UTF-8 text of at most `kind`'s limit.
pub fn read_text(path: &Path, kind: Kind) -> Result<String, CliError> {
    String::from_utf8(read_bytes(path, kind)?).map_err(|e| {
        CliError::bad_input(format!(
            "{}: cannot read: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}
