//! `lang`: vmrace's modelling language (`docs/language.md`). A model is a YAML file of typed
//! shared state and actors whose programs are labelled atomic steps; it is checked at load time
//! (errors at file:line:column), compiled to a packed state and closures, and explored as a
//! [`sim::Model`] whose partial-order-reduction footprints are derived from each step's reads
//! and writes.
//!
//! Modules, one job each: [`syntax`] (the YAML structs), [`expr`] (the C-like expression
//! syntax), [`check`] (names, types, ranges, labels), [`ir`] (the checked program), [`compile`]
//! (state layout and closures), [`sync`] (mutexes, conds and queues at run time), [`footprint`]
//! (read/write sets), [`program`] (the `sim::Model`).

pub mod check;
pub mod compile;
pub mod error;
pub mod expr;
pub mod footprint;
pub mod ir;
pub mod program;
pub mod sync;
pub mod syntax;

pub use error::Diagnostic;
pub use program::{Action, Program, State};

/// Loads a model from its YAML `text` (`path` names it in errors), with parameter values
/// `params` (`("N", "3")`; the others take their defaults).
pub fn load(
    path: &str,
    text: &str,
    params: &[(String, String)],
) -> Result<Program, Vec<Diagnostic>> {
    let file: syntax::File = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        vec![Diagnostic {
            file: path.to_string(),
            line,
            column,
            message: e.to_string(),
        }]
    })?;
    let checked = check::check(path, text, &file, params)?;
    Ok(Program::new(&checked))
}

/// Reads and loads a model file.
pub fn load_file(
    path: &std::path::Path,
    params: &[(String, String)],
) -> Result<Program, Vec<Diagnostic>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic {
            file: shown.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read: {e}"),
        }]
    })?;
    load(&shown, &text, params)
}
