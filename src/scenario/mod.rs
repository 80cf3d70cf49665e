//! Scenarios: YAML files that set up a model, name its variants (and matrix cases), state
//! properties over observations, and say which verdict each variant must get.

pub mod checked;
mod expr;
pub mod file;
pub mod locate;
pub mod merge;
pub mod run;
pub mod verify;

use crate::error::CliError;
use checked::Checked;
use file::ScenarioFile;
use models::lifecycle::Lifecycle;
use models::migration::Migration;
use models::network::Network;
use models::scenario::{ModelInfo, Observable};
use run::Run;
use serde_yaml_ng::Value;
use sim::{PropertyKind, ReplayError, Trace};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a scenario expects of one variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Every property holds, under exhaustive search.
    Holds,
    /// Some property is violated.
    Violated,
    /// Exactly these outcomes are reachable.
    Outcomes(BTreeSet<String>),
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Holds => write!(f, "holds"),
            Expected::Violated => write!(f, "violated"),
            Expected::Outcomes(o) => {
                write!(
                    f,
                    "{{{}}}",
                    o.iter().cloned().collect::<Vec<_>>().join(" | ")
                )
            }
        }
    }
}

/// The most case × variant jobs one scenario may have (each is a search of its own).
pub const MAX_JOBS: usize = 1_000;

/// The most properties, and the most `observe` names, one scenario may have (every job checks
/// all of them against its model, so they multiply with the jobs).
pub const MAX_PROPERTIES: usize = 100;

/// The models scenarios can name.
pub fn models() -> Vec<ModelInfo> {
    vec![
        Lifecycle::info(),
        models::network::info(),
        models::migration::info(),
    ]
}

/// A loaded scenario file.
pub struct Scenario {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its name (`name:` or the file stem).
    pub name: String,
    /// The parsed file.
    pub file: ScenarioFile,
    /// The SHA-256 of the file's bytes (traces record it, replays check it).
    pub sha256: String,
    /// The file's text (to place errors found after the setups are merged).
    text: String,
    /// The properties, parsed once for all jobs.
    properties: Vec<checked::ParsedProperty>,
}

/// One unit of work: a case (for matrix scenarios) and a variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Matrix case.
    pub case: Option<String>,
    /// Variant.
    pub variant: String,
    /// Expected verdict.
    pub expected: Expected,
}

impl Scenario {
    /// Loads and validates a scenario: every case × variant must have an expectation and build.
    pub fn load(path: &Path) -> Result<Scenario, CliError> {
        let text = crate::input::read_text(path, crate::input::Kind::Scenario)?;
        Scenario::from_text(path, text)
    }

    /// Parses and validates scenario `text` as if read from `path` (which names it in errors
    /// and in traces); never panics, whatever the text.
    pub fn from_text(path: &Path, text: String) -> Result<Scenario, CliError> {
        let file = file::parse(path, &text)?;
        let name = file.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let mut scenario = Scenario {
            path: path.to_path_buf(),
            name,
            file,
            sha256: verify::sha256_hex(text.as_bytes()),
            text,
            properties: Vec::new(),
        };
        if !models().iter().any(|m| m.name == scenario.file.model) {
            let names: Vec<&str> = models().iter().map(|m| m.name).collect();
            let hint = file::suggest(&scenario.file.model, &names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(scenario.error(format!(
                "model: unknown model `{}`{hint}; models are {}",
                scenario.file.model,
                names.join(", ")
            )));
        }
        for (key, n) in [
            ("properties", scenario.file.properties.len()),
            ("observe", scenario.file.observe.len()),
        ] {
            if n > MAX_PROPERTIES {
                return Err(scenario.error(format!(
                    "{key}: {n} entries; a scenario may have at most {MAX_PROPERTIES}"
                )));
            }
        }
        scenario.properties = scenario
            .props()?
            .into_iter()
            .map(|def| checked::ParsedProperty::parse(def).map_err(|e| scenario.error(e)))
            .collect::<Result<_, _>>()?;
        if run::strategy(&scenario.file.search).is_none() {
            return Err(scenario.error(format!(
                "search.strategy: unknown strategy `{}`; expected bfs, dfs, random, pct or portfolio",
                scenario.file.search.strategy
            )));
        }
        for job in scenario.jobs()? {
            scenario.check_builds(&job)?;
        }
        Ok(scenario)
    }

    fn error(&self, message: String) -> CliError {
        CliError::bad_input(format!("{}: {message}", self.path.display()))
    }

    fn case_names(&self) -> Vec<String> {
        match &self.file.cases {
            Some(c) => c.0.iter().map(|(n, _)| n.clone()).collect(),
            None => Vec::new(),
        }
    }

    fn variant_names(&self) -> Vec<String> {
        self.file
            .variants
            .0
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Every case × variant with its expectation, in file order.
    pub fn jobs(&self) -> Result<Vec<Job>, CliError> {
        let variants = self.variant_names();
        if variants.is_empty() {
            return Err(self.error("variants: at least one variant is needed".into()));
        }
        let mut jobs = Vec::new();
        let cases = self.case_names();
        let count = variants.len() * cases.len().max(1);
        if count > MAX_JOBS {
            return Err(self.error(format!(
                "{count} case × variant jobs; a scenario may have at most {MAX_JOBS}"
            )));
        }
        let known: BTreeSet<&str> = variants.iter().map(String::as_str).collect();
        let by_variant = |map: &BTreeMap<String, Value>,
                          at: &str|
         -> Result<Vec<(String, Expected)>, CliError> {
            for key in map.keys() {
                if !known.contains(key.as_str()) {
                    let refs: Vec<&str> = variants.iter().map(String::as_str).collect();
                    let hint = file::suggest(key, &refs)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    return Err(self.error(format!("expect{at}: unknown variant `{key}`{hint}")));
                }
            }
            variants
                .iter()
                .map(|v| {
                    let value = map.get(v).ok_or_else(|| {
                        self.error(format!("expect{at}: no expectation for variant `{v}`"))
                    })?;
                    Ok((v.clone(), self.expected(value, &format!("expect{at}.{v}"))?))
                })
                .collect()
        };
        if cases.is_empty() {
            for (variant, expected) in by_variant(&self.file.expect, "")? {
                jobs.push(Job {
                    case: None,
                    variant,
                    expected,
                });
            }
        } else {
            for key in self.file.expect.keys() {
                if !cases.contains(key) {
                    return Err(self.error(format!("expect: unknown case `{key}`")));
                }
            }
            for case in &cases {
                let value = self.file.expect.get(case).ok_or_else(|| {
                    self.error(format!("expect: no expectations for case `{case}`"))
                })?;
                let map: BTreeMap<String, Value> = serde_yaml_ng::from_value(value.clone())
                    .map_err(|e| {
                        self.error(format!(
                            "expect.{case}: expected a mapping of variants: {e}"
                        ))
                    })?;
                for (variant, expected) in by_variant(&map, &format!(".{case}"))? {
                    jobs.push(Job {
                        case: Some(case.clone()),
                        variant,
                        expected,
                    });
                }
            }
        }
        Ok(jobs)
    }

    fn expected(&self, value: &Value, at: &str) -> Result<Expected, CliError> {
        match value {
            Value::String(s) if s == "holds" => Ok(Expected::Holds),
            Value::String(s) if s == "violated" => Ok(Expected::Violated),
            Value::Mapping(m) => {
                let outcomes =
                    m.get("outcomes")
                        .and_then(|o| o.as_sequence())
                        .ok_or_else(|| {
                            self.error(format!(
                                "{at}: expected `holds`, `violated` or `{{outcomes: [...]}}`"
                            ))
                        })?;
                let set = outcomes
                    .iter()
                    .map(|o| {
                        o.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.error(format!("{at}: outcomes are strings")))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Expected::Outcomes(set))
            }
            other => Err(self.error(format!(
                "{at}: expected `holds`, `violated` or `{{outcomes: [...]}}`, found {}",
                serde_yaml_ng::to_string(other).unwrap_or_default().trim()
            ))),
        }
    }

    /// The setup for a case and variant: the base setup with the case's and then the variant's
    /// overrides merged in.
    pub fn setup(&self, case: Option<&str>, variant: &str) -> Result<Value, CliError> {
        let mut setup = self.file.setup.clone();
        if let Some(case) = case {
            let cases = self.file.cases.as_ref().map(|c| &c.0[..]).unwrap_or(&[]);
            let over = cases.iter().find(|(n, _)| n == case).ok_or_else(|| {
                self.error(format!(
                    "unknown case `{case}`; cases are {}",
                    self.case_names().join(", ")
                ))
            })?;
            merge::deep_merge(&mut setup, &over.1);
        }
        let over = self
            .file
            .variants
            .0
            .iter()
            .find(|(n, _)| n == variant)
            .ok_or_else(|| {
                self.error(format!(
                    "unknown variant `{variant}`; variants are {}",
                    self.variant_names().join(", ")
                ))
            })?;
        merge::deep_merge(&mut setup, &over.1);
        Ok(setup)
    }

    fn props(&self) -> Result<Vec<checked::PropertyDef>, CliError> {
        self.file
            .properties
            .iter()
            .map(|p| {
                let kinds = [
                    (PropertyKind::Always, &p.always),
                    (PropertyKind::AtEnd, &p.at_end),
                    (PropertyKind::Sometimes, &p.sometimes),
                    (PropertyKind::Eventually, &p.eventually),
                ];
                let given: Vec<_> = kinds
                    .iter()
                    .filter_map(|(k, e)| e.as_ref().map(|e| (*k, e.clone())))
                    .collect();
                match given.as_slice() {
                    [(kind, expr)] => Ok((p.name.clone(), *kind, expr.clone(), p.means.clone())),
                    _ => Err(self.error(format!(
                        "property `{}`: give exactly one of always, at_end, sometimes, eventually",
                        p.name
                    ))),
                }
            })
            .collect()
    }

    fn build<M: Observable>(
        &self,
        model: Result<M, String>,
        at: &str,
    ) -> Result<Checked<M>, CliError> {
        let model = model.map_err(|e| self.error(format!("{at}: {e}")))?;
        Checked::new(model, &self.properties, self.file.observe.clone()).map_err(|e| self.error(e))
    }

    /// The setup of `job` (case and variant merged in) decoded as `T`: a model's `Config`, or
    /// `serde_json::Value` for a look at it.
    pub fn setup_as<T: serde::de::DeserializeOwned>(&self, job: &Job) -> Result<T, CliError> {
        let setup = self.setup(job.case.as_deref(), &job.variant)?;
        self.config(setup, job)
    }

    fn config<T: serde::de::DeserializeOwned>(
        &self,
        setup: Value,
        job: &Job,
    ) -> Result<T, CliError> {
        let at = Self::place(job);
        // Through JSON: YAML values carry enums as tags, while setups write them as `{op: {..}}`.
        let json =
            serde_json::to_value(&setup).map_err(|e| self.error(format!("setup ({at}): {e}")))?;
        serde_json::from_value(json).map_err(|e| {
            let message = file::with_suggestion(&e.to_string());
            // The merged setup has no places: find the named key or value in the file, in the
            // sections merged into this job's setup (the variant's, the case's, then `setup`).
            let mut sections = vec![format!("variant `{}`", job.variant)];
            sections.extend(job.case.as_ref().map(|c| format!("case `{c}`")));
            sections.push("setup".into());
            match locate::locate(&self.text, &message, &sections) {
                Some(p) => CliError::bad_input(format!(
                    "{}:{}:{}: {} (used by {at}): {message}",
                    self.path.display(),
                    p.line,
                    p.column,
                    p.section
                )),
                None => self.error(format!("setup ({at}): {message}")),
            }
        })
    }

    fn place(job: &Job) -> String {
        match &job.case {
            Some(c) => format!("case `{c}`, variant `{}`", job.variant),
            None => format!("variant `{}`", job.variant),
        }
    }

    fn check_builds(&self, job: &Job) -> Result<(), CliError> {
        self.with_model(job, &mut NoOp)
    }

    /// Builds the model for `job` and hands it to `f`.
    pub fn with_model(&self, job: &Job, f: &mut dyn WithModel) -> Result<(), CliError> {
        let setup = self.setup(job.case.as_deref(), &job.variant)?;
        let at = Self::place(job);
        match self.file.model.as_str() {
            "lifecycle" => {
                let config = self.config(setup, job)?;
                let model = self.build(Lifecycle::new(config), &at)?;
                f.lifecycle(&model);
            }
            "network" => {
                let config = self.config(setup, job)?;
                let model = self.build(Network::new(config), &at)?;
                f.network(&model);
            }
            "migration" => {
                let config = self.config(setup, job)?;
                let model = self.build(Migration::new(config), &at)?;
                f.migration(&model);
            }
            other => return Err(self.error(format!("model `{other}` is not built in"))),
        }
        Ok(())
    }

    /// The trace context that lets `vmrace replay` rebuild the model.
    pub fn context(&self, job: &Job) -> BTreeMap<String, String> {
        let mut c = BTreeMap::new();
        c.insert("scenario".into(), self.name.clone());
        c.insert("file".into(), self.path.display().to_string());
        c.insert(verify::SCENARIO_SHA256.into(), self.sha256.clone());
        c.insert("variant".into(), job.variant.clone());
        if let Some(case) = &job.case {
            c.insert("case".into(), case.clone());
        }
        c
    }

    /// Runs one job.
    pub fn run(&self, job: &Job, jobs: usize) -> Result<Run, CliError> {
        let mut runner = Runner {
            scenario: self,
            job,
            jobs,
            out: None,
        };
        self.with_model(job, &mut runner)?;
        Ok(runner.out.expect("the model ran"))
    }

    /// Replays a trace of this scenario; returns the observations after the last step.
    pub fn replay(
        &self,
        job: &Job,
        trace: &Trace,
    ) -> Result<Result<Vec<(String, String)>, ReplayError>, CliError> {
        Ok(verify::replay(self, job, trace)?.map(|r| r.observations))
    }
}

/// Something to do with a built model, whatever its type.
pub trait WithModel {
    /// With the lifecycle model.
    fn lifecycle(&mut self, model: &Checked<Lifecycle>);
    /// With the network model.
    fn network(&mut self, model: &Checked<Network>);
    /// With the migration model.
    fn migration(&mut self, model: &Checked<Migration>);
}

struct NoOp;
impl WithModel for NoOp {
    fn lifecycle(&mut self, _: &Checked<Lifecycle>) {}
    fn network(&mut self, _: &Checked<Network>) {}
    fn migration(&mut self, _: &Checked<Migration>) {}
}

struct Runner<'a> {
    scenario: &'a Scenario,
    job: &'a Job,
    jobs: usize,
    out: Option<Run>,
}

impl Runner<'_> {
    fn go<M: Observable>(&mut self, model: &Checked<M>) {
        let mut run = run::run_model(
            model,
            &self.scenario.file,
            self.scenario.context(self.job),
            self.job.expected.clone(),
            self.jobs,
        );
        run.scenario = self.scenario.name.clone();
        self.out = Some(run);
    }
}

impl WithModel for Runner<'_> {
    fn lifecycle(&mut self, model: &Checked<Lifecycle>) {
        self.go(model)
    }
    fn network(&mut self, model: &Checked<Network>) {
        self.go(model)
    }
    fn migration(&mut self, model: &Checked<Migration>) {
        self.go(model)
    }
}
