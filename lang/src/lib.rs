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
    let checked = check::check(path, text, &file, params)?;
    Ok(Program::new(&checked))
}

/// The largest model file [`load_file`] reads, in bytes (1 MiB; real models are a few KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads (at most [`MAX_FILE_BYTES`] of UTF-8 text) and loads a model file.
pub fn load_file(
    path: &std::path::Path,
    params: &[(String, String)],
) -> Result<Program, Vec<Diagnostic>> {
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
    load(&shown, &text, params)
}
