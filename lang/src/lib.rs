//! `lang`: vmrace's modelling language (`docs/language.md`). A model is a YAML file of typed
//! shared state and actors whose programs are labelled atomic steps; it is checked at load time
//! (errors at file:line:column), compiled to a packed state and closures, and explored as a
//! [`sim::Model`] whose partial-order-reduction footprints are derived from each step's reads
//! and writes.
//!
//! Modules, one job each: [`syntax`] (the YAML structs), [`expr`] (the C-like expression
//! syntax), [`patch`] (variants as patches of the programs), [`diff`] (what a patch changed, as
//! a listing), [`check`] (names, types, ranges, labels), [`ir`] (the checked program),
//! [`compile`] (state layout and closures), [`sync`] (mutexes, conds and queues at run time),
//! [`footprint`] (read/write sets), [`program`] (the `sim::Model`).

pub mod check;
pub mod compile;
pub mod diff;
pub mod error;
pub mod expr;
pub mod footprint;
pub mod ir;
pub mod patch;
pub mod program;
pub mod sync;
pub mod syntax;

pub use diff::PatchDiff;
pub use error::Diagnostic;
pub use program::{Action, Program, State};

/// A configuration of a model: parameter values and the patches to apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Parameter values (`("N", "3")`); the others take their defaults.
    pub params: Vec<(String, String)>,
    /// Names of the model's `patches:`, applied in this order.
    pub patches: Vec<String>,
}

/// The largest model file [`Source::read`] reads, in bytes (1 MiB; real models are a few KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A model file read and parsed, not yet checked: [`Source::load`] checks and compiles it for
/// a configuration.
pub struct Source {
    path: String,
    text: String,
    file: syntax::File,
}

impl Source {
    /// Parses a model from its YAML `text` (`path` names it in errors), after checking the
    /// YAML limits of `sim::yaml` (nesting, alias expansion).
    pub fn new(path: &str, text: &str) -> Result<Source, Vec<Diagnostic>> {
        sim::yaml::check(text).map_err(|e| {
            vec![Diagnostic {
                file: path.to_string(),
                line: e.line,
                column: e.column,
                message: e.what,
            }]
        })?;
        let file: syntax::File = serde_yaml_ng::from_str(text).map_err(|e| {
            let (place, message) = sim::yaml::describe(&e);
            let (line, column) = place.unwrap_or((1, 1));
            vec![Diagnostic {
                file: path.to_string(),
                line,
                column,
                message,
            }]
        })?;
        Ok(Source {
            path: path.to_string(),
            text: text.to_string(),
            file,
        })
    }

    /// Reads (at most [`MAX_FILE_BYTES`] of UTF-8 text) and parses a model file.
    pub fn read(path: &std::path::Path) -> Result<Source, Vec<Diagnostic>> {
        use std::io::Read;
        let shown = path.display().to_string();
        let refuse = |message: String| {
            vec![Diagnostic {
                file: shown.clone(),
                line: 1,
                column: 1,
                message,
            }]
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| refuse(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(refuse(format!(
                "larger than the {} MiB a model file may have",
                MAX_FILE_BYTES >> 20
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            refuse(format!(
                "cannot read: not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Source::new(&shown, &text)
    }

    /// The names of the model's patches, in file order.
    pub fn patches(&self) -> impl Iterator<Item = &str> {
        self.file.patches.0.iter().map(|(name, _)| name.as_str())
    }

    /// Applies `config`'s patches, checks the result with its parameters and compiles it.
    pub fn load(&self, config: &Config) -> Result<Program, Vec<Diagnostic>> {
        let loc = error::Locator::new(&self.path, &self.text);
        let patched = patch::apply(&self.file, &loc, &config.patches)?;
        let checked = check::check(loc, &self.file, &patched, &config.params)?;
        Ok(Program::new(&checked))
    }
}

/// Loads a model from its YAML `text` (`path` names it in errors) in configuration `config`.
pub fn load(path: &str, text: &str, config: &Config) -> Result<Program, Vec<Diagnostic>> {
    Source::new(path, text)?.load(config)
}

/// Reads and loads a model file in configuration `config`.
pub fn load_file(path: &std::path::Path, config: &Config) -> Result<Program, Vec<Diagnostic>> {
    Source::read(path)?.load(config)
}
