//! `lang`: vmrace's modelling language (`docs/language.md`). A model is a YAML file of typed
//! shared state and actors whose programs are labelled atomic steps; it is checked at load time
//! (errors at file:line:column), compiled to a packed state and closures, and explored as a
//! [`sim::Model`] whose partial-order-reduction footprints are derived from each step's reads
//! and writes.
//!
//! Modules, one job each: [`syntax`] (the YAML structs), [`expr`] (the C-like expression
//! syntax), [`patch`] (variants as patches of the programs), [`diff`] (what a patch changed, as
//! a listing), [`check`] (names, types, ranges, labels), [`ir`] (the checked program),
//! [`compile`] (state layout and closures), [`footprint`] (read/write sets), [`program`] (the
//! `sim::Model`).

pub mod check;
pub mod compile;
pub mod diff;
pub mod error;
pub mod expr;
pub mod footprint;
pub mod ir;
pub mod patch;
pub mod program;
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

/// A model file read and parsed, not yet checked: [`Source::load`] checks and compiles it for
/// a configuration.
pub struct Source {
    path: String,
    text: String,
    file: syntax::File,
}

impl Source {
    /// Parses a model from its YAML `text` (`path` names it in errors).
    pub fn new(path: &str, text: &str) -> Result<Source, Vec<Diagnostic>> {
        let file: syntax::File = serde_yaml_ng::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            vec![Diagnostic {
                file: path.to_string(),
                line,
                column,
                message: e.to_string(),
            }]
        })?;
        Ok(Source {
            path: path.to_string(),
            text: text.to_string(),
            file,
        })
    }

    /// Reads and parses a model file.
    pub fn read(path: &std::path::Path) -> Result<Source, Vec<Diagnostic>> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                file: shown.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read: {e}"),
            }]
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
