//! The scenario file format (`docs/scenarios.md`): parsed with line-and-column errors, unknown
//! keys refused with a suggestion.

use crate::error::CliError;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scenario as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name; defaults to the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// One line for people.
    pub title: String,
    /// Where the race comes from: seed files, upstream commits, list posts.
    pub source: Vec<String>,
    /// `lifecycle`, `network` or `migration`.
    pub model: String,
    /// The model's setup (its `Config`).
    pub setup: Value,
    /// Matrix rows: case name → setup overrides.
    #[serde(default)]
    pub cases: Option<indexmap_like::Ordered>,
    /// Variant name → setup overrides.
    pub variants: indexmap_like::Ordered,
    /// Observations whose values name an outcome.
    #[serde(default)]
    pub observe: Vec<String>,
    /// Properties over observations.
    #[serde(default)]
    pub properties: Vec<PropertySpec>,
    /// Expected verdict per variant, or per case then per variant.
    pub expect: BTreeMap<String, Value>,
    /// Search options.
    #[serde(default)]
    pub search: SearchSpec,
    /// Where the model departs from the seed, and why.
    #[serde(default)]
    pub notes: Option<String>,
    /// How reports lay out a matrix scenario's outcome table (`crate::report::table`).
    #[serde(default)]
    pub table: Option<crate::report::table::TableSpec>,
}

/// Ordered maps for YAML mappings whose order matters (cases and variants print in file order).
pub mod indexmap_like {
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde::Deserialize;
    use serde_yaml_ng::Value;

    /// A mapping kept in file order.
    #[derive(Clone, Debug, Default)]
    pub struct Ordered(pub Vec<(String, Value)>);

    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a mapping of names to setup overrides")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    let mut seen = std::collections::BTreeSet::new();
                    while let Some((k, v)) = map.next_entry::<String, Value>()? {
                        if !seen.insert(k.clone()) {
                            return Err(serde::de::Error::custom(format!("`{k}` is given twice")));
                        }
                        out.push((k, v));
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(V)
        }
    }
}

/// One property: a name and exactly one of the four kinds, each an expression.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertySpec {
    /// Name shown in reports.
    pub name: String,
    /// Must hold in every state.
    #[serde(default, deserialize_with = "super::expr::limited")]
    pub always: Option<String>,
    /// Must hold in every terminal state.
    #[serde(default, deserialize_with = "super::expr::limited")]
    pub at_end: Option<String>,
    /// Must hold somewhere.
    #[serde(default, deserialize_with = "super::expr::limited")]
    pub sometimes: Option<String>,
    /// Every path must reach it.
    #[serde(default, deserialize_with = "super::expr::limited")]
    pub eventually: Option<String>,
    /// Plain-words explanation for reports.
    #[serde(default)]
    pub means: Option<String>,
}

/// How to search.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// `bfs` (default), `dfs`, `random`, `pct` or `portfolio`.
    #[serde(default = "bfs")]
    pub strategy: String,
    /// Runs for `random`, `pct` and `portfolio`.
    #[serde(default = "runs")]
    pub runs: u64,
    /// PCT's bug depth.
    #[serde(default = "depth")]
    pub depth: u32,
    /// Seed for the randomised strategies.
    #[serde(default)]
    pub seed: u64,
    /// `none` (default) or `dpor`.
    #[serde(default = "none")]
    pub reduction: String,
    /// Distinct-state budget.
    #[serde(default)]
    pub max_states: Option<u64>,
    /// Depth bound.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Time budget in seconds.
    #[serde(default)]
    pub max_seconds: Option<f64>,
    /// A cut search is an error (exit 3) rather than "no violation within the bound".
    #[serde(default = "yes")]
    pub must_complete: bool,
}

impl Default for SearchSpec {
    fn default() -> Self {
        SearchSpec {
            strategy: bfs(),
            runs: runs(),
            depth: depth(),
            seed: 0,
            reduction: none(),
            max_states: Some(2_000_000),
            max_depth: None,
            max_seconds: None,
            must_complete: true,
        }
    }
}

fn bfs() -> String {
    "bfs".into()
}
fn runs() -> u64 {
    1000
}
fn depth() -> u32 {
    3
}
fn none() -> String {
    "none".into()
}
fn yes() -> bool {
    true
}

/// The top-level keys, for suggestions.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "title",
    "source",
    "model",
    "setup",
    "cases",
    "variants",
    "observe",
    "properties",
    "expect",
    "search",
    "notes",
    "table",
];

/// Parses scenario text; errors name the file, line and column, and suggest a key for typos.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, CliError> {
    sim::yaml::check(text).map_err(|e| {
        CliError::bad_input(format!(
            "{}:{}:{}: {}",
            path.display(),
            e.line,
            e.column,
            e.what
        ))
    })?;
    serde_yaml_ng::from_str(text).map_err(|e| {
        let place = match e.location() {
            Some(l) => format!("{}:{}:{}", path.display(), l.line(), l.column()),
            None => path.display().to_string(),
        };
        CliError::bad_input(format!("{place}: {}", with_suggestion(&e.to_string())))
    })
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of …" messages.
pub fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message.to_string();
    };
    let found = rest.split('`').next().unwrap_or("");
    let candidates: Vec<&str> = message
        .split("expected ")
        .nth(1)
        .map(|list| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    match suggest(found, &candidates) {
        Some(best) => format!("{message} (did you mean `{best}`?)"),
        None => message.to_string(),
    }
}

/// The closest candidate to `found`, if close enough to be a typo.
pub fn suggest<'a>(found: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(found, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Every `*.yaml` file under the given paths (files as given, directories searched, sorted).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| CliError::bad_input(format!("{}: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            out.extend(found);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(CliError::bad_input(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    Ok(out)
}
