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
    /// `lifecycle`, `network`, `migration`, or `lang` (a model in the modelling language).
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
    #[serde(default)]
    pub strategy: StrategyName,
    /// Runs for `random`, `pct` and `portfolio`.
    #[serde(default)]
    pub runs: Runs,
    /// PCT's bug depth.
    #[serde(default)]
    pub depth: PctDepth,
    /// Seed for the randomised strategies.
    #[serde(default)]
    pub seed: u64,
    /// `none` (default) or `por` (`dpor` is another name for it).
    #[serde(default)]
    pub reduction: ReductionName,
    /// Distinct-state budget.
    #[serde(default)]
    pub max_states: Option<u64>,
    /// Depth bound.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Time budget in seconds.
    #[serde(default)]
    pub max_seconds: Option<Seconds>,
    /// A cut search is an error (exit 3) rather than "no violation within the bound".
    #[serde(default = "yes")]
    pub must_complete: bool,
}

impl Default for SearchSpec {
    fn default() -> Self {
        SearchSpec {
            strategy: StrategyName::default(),
            runs: Runs::default(),
            depth: PctDepth::default(),
            seed: 0,
            reduction: ReductionName::default(),
            max_states: Some(2_000_000),
            max_depth: None,
            max_seconds: None,
            must_complete: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// The search strategies a scenario can name (`search.strategy`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StrategyName {
    /// Exhaustive breadth-first search.
    #[default]
    Bfs,
    /// Exhaustive depth-first search.
    Dfs,
    /// `runs` uniformly random walks.
    Random,
    /// `runs` PCT runs with bug depth `depth`.
    Pct,
    /// A bounded BFS, then random walks and PCT.
    Portfolio,
}

/// The reductions a scenario can name (`search.reduction`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReductionName {
    /// Every interleaving.
    #[default]
    None,
    /// Partial-order reduction (persistent sets from declared footprints); `dpor` is accepted
    /// as another name for it.
    #[serde(alias = "dpor")]
    Por,
}

/// The number of runs of a randomised strategy: at least 1 (default 1000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runs(pub u64);

impl Default for Runs {
    fn default() -> Self {
        Runs(1000)
    }
}

impl<'de> Deserialize<'de> for Runs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked::whole(d, |runs| match runs {
            0 => Err("0 runs would sample nothing: give at least 1".into()),
            runs => Ok(Runs(runs)),
        })
    }
}

/// PCT's bug depth: `1..=sim::MAX_PCT_DEPTH` (default 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PctDepth(pub u32);

impl Default for PctDepth {
    fn default() -> Self {
        PctDepth(3)
    }
}

impl<'de> Deserialize<'de> for PctDepth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let max = sim::MAX_PCT_DEPTH;
        checked::whole(d, |depth| match u32::try_from(depth) {
            Ok(d) if (1..=max).contains(&d) => Ok(PctDepth(d)),
            _ => Err(format!(
                "PCT's bug depth is 1 to {max} (d-1 change points among a walk's steps), \
                 found {depth}"
            )),
        })
    }
}

/// A time budget in seconds: a finite number, 0 or more.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked::real(d, |seconds| {
            if seconds.is_finite() && seconds >= 0.0 {
                Ok(Seconds(seconds))
            } else {
                Err(format!(
                    "a time budget is a number of seconds, 0 or more, found {seconds} \
                     (leave max_seconds out for no time budget)"
                ))
            }
        })
    }
}

/// Numbers checked while they are read, so that the parser places a refusal at the value.
mod checked {
    use serde::de::{Deserializer, Error, Unexpected, Visitor};
    use std::fmt;

    /// Reads a whole number 0 or more and passes it through `check`.
    pub fn whole<'de, D: Deserializer<'de>, T>(
        d: D,
        check: impl FnOnce(u64) -> Result<T, String>,
    ) -> Result<T, D::Error> {
        d.deserialize_u64(Whole(check))
    }

    /// Reads a number and passes it through `check`.
    pub fn real<'de, D: Deserializer<'de>, T>(
        d: D,
        check: impl FnOnce(f64) -> Result<T, String>,
    ) -> Result<T, D::Error> {
        d.deserialize_f64(Real(check))
    }

    struct Whole<F>(F);

    impl<'de, T, F: FnOnce(u64) -> Result<T, String>> Visitor<'de> for Whole<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number, 0 or more")
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<T, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
            }
        }
    }

    struct Real<F>(F);

    impl<'de, T, F: FnOnce(f64) -> Result<T, String>> Visitor<'de> for Real<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<T, E> {
            self.visit_f64(v as f64)
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<T, E> {
            self.visit_f64(v as f64)
        }
    }
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
        let (place, message) = sim::yaml::describe(&e);
        let place = match place {
            Some((line, column)) => format!("{}:{line}:{column}", path.display()),
            None => path.display().to_string(),
        };
        CliError::bad_input(format!("{place}: {message}"))
    })
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
