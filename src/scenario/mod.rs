//! Scenarios: YAML files that set up a model, name its variants (and matrix cases), state
//! properties over observations, and say which verdict each variant must get.

pub mod checked;
mod expr;
pub mod file;
pub mod locate;
pub mod merge;
pub mod run;
pub mod typecheck;
pub mod verify;

use crate::error::CliError;
use checked::Checked;
use file::ScenarioFile;
use locate::Step;
use models::lifecycle::Lifecycle;
use models::migration::Migration;
use models::network::Network;
use models::scenario::{ModelInfo, Observable};
use run::Run;
use serde_yaml_ng::Value;
use sim::{Live, PropertyKind, ReplayError, Trace};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        ModelInfo {
            name: "lang",
            summary: "a model in the modelling language (docs/language.md): setup.file names it, \
                      setup.params sets its parameters, setup.patches applies its patches",
            axes: Vec::new(),
        },
    ]
}

/// The setup of a `model: lang` scenario.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LangSetup {
    /// The model file, relative to the scenario file.
    file: String,
    /// Parameter values (bools, integers, enum constants by name); the others take their
    /// defaults.
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    /// Names of the model file's `patches:`, applied in this order (a variant's list replaces
    /// the setup's).
    #[serde(default)]
    patches: Vec<String>,
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
    /// The properties bound to each distinct initial observation the jobs have.
    bound: checked::Bound,
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
            bound: checked::Bound::default(),
        };
        if !models().iter().any(|m| m.name == scenario.file.model) {
            let names: Vec<&str> = models().iter().map(|m| m.name).collect();
            let hint = sim::yaml::closest(&scenario.file.model, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(scenario.error_at(
                &[Step::key("model")],
                format!(
                    "model: unknown model `{}`{hint}; models are {}",
                    scenario.file.model,
                    names.join(", ")
                ),
            ));
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
        for job in scenario.jobs()? {
            scenario.check_builds(&job)?;
        }
        Ok(scenario)
    }

    fn error(&self, message: String) -> CliError {
        CliError::bad_input(format!("{}: {message}", self.path.display()))
    }

    /// `file:line:column` of the value at `path` in the file, or the file alone when the file
    /// has no such value.
    pub fn place_of(&self, path: &[Step]) -> String {
        match locate::value_at(&self.text, path) {
            Some((line, column)) => format!("{}:{line}:{column}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// An error about the value at `path`, placed where it stands.
    fn error_at(&self, path: &[Step], message: String) -> CliError {
        CliError::bad_input(format!("{}: {message}", self.place_of(path)))
    }

    /// A model's refusal of `job`'s setup. Models begin a message with the key path of the value
    /// it is about (`domains[1].name: …`); it is placed in the section that holds that value,
    /// looking at the variant's overrides, then the case's, then `setup` (sequences are replaced
    /// whole by an override, so the first that has the value is where it came from).
    fn setup_error(&self, job: &Job, message: String) -> CliError {
        let at = Self::place(job);
        let path = message
            .split_once(": ")
            .and_then(|(path, _)| locate::parse_path(path));
        let mut sections = vec![(
            format!("variant `{}`", job.variant),
            vec![Step::key("variants"), Step::key(&job.variant)],
        )];
        if let Some(case) = &job.case {
            sections.push((
                format!("case `{case}`"),
                vec![Step::key("cases"), Step::key(case)],
            ));
        }
        sections.push(("setup".into(), vec![Step::key("setup")]));
        let placed = path.and_then(|path| {
            sections.into_iter().find_map(|(section, mut full)| {
                full.extend(path.iter().cloned());
                let (line, column) = locate::value_at(&self.text, &full)?;
                Some(format!(
                    "{}:{line}:{column}: {section}",
                    self.path.display()
                ))
            })
        });
        match placed {
            Some(place) => CliError::bad_input(format!("{place} (used by {at}): {message}")),
            None => self.error(format!("{at}: {message}")),
        }
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
                    let hint = sim::yaml::closest(key, refs.iter().copied())
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
        let properties = &self.file.properties;
        for (i, p) in properties.iter().enumerate() {
            if let Some(first) = properties[..i].iter().position(|q| q.name == p.name) {
                return Err(self.error_at(
                    &[Step::key("properties"), Step::Index(i), Step::key("name")],
                    format!(
                        "properties[{i}].name: `{}` is also the name of properties[{first}]; \
                         property names must differ (reports and traces are named after them)",
                        p.name
                    ),
                ));
            }
        }
        properties
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
        job: &Job,
    ) -> Result<Checked<M>, CliError> {
        let model = model.map_err(|e| self.setup_error(job, e))?;
        let checked = Checked::new(
            model,
            &self.properties,
            self.file.observe.clone(),
            &self.bound,
        )
        .map_err(|e| self.property_error(e))?;
        self.check_outcomes(&checked, job)?;
        Ok(checked)
    }

    /// A refusal of a property or of `observe:`, placed at the expression or name it is about
    /// (the message names the property, ``property `P`: …``, or the observation).
    fn property_error(&self, message: String) -> CliError {
        let property = message
            .strip_prefix("property `")
            .and_then(|rest| rest.split_once("`: "))
            .and_then(|(name, _)| self.file.properties.iter().position(|p| p.name == name));
        if let Some(i) = property {
            let p = &self.file.properties[i];
            let kinds = [
                ("always", &p.always),
                ("at_end", &p.at_end),
                ("sometimes", &p.sometimes),
                ("eventually", &p.eventually),
            ];
            let key = kinds
                .iter()
                .find(|(_, e)| e.is_some())
                .map_or("name", |k| k.0);
            let path = [Step::key("properties"), Step::Index(i), Step::key(key)];
            return self.error_at(&path, message);
        }
        let observed = message
            .strip_prefix("observe: unknown observation `")
            .and_then(|rest| rest.split_once('`'))
            .and_then(|(name, _)| self.file.observe.iter().position(|o| o == name));
        match observed {
            Some(j) => self.error_at(&[Step::key("observe"), Step::Index(j)], message),
            None => self.error(message),
        }
    }

    /// Checks `job`'s expected outcomes against `observe:` and the types of the observations.
    fn check_outcomes<M: Observable>(&self, model: &Checked<M>, job: &Job) -> Result<(), CliError> {
        use sim::Model;
        let Some(init) = model.init_states().into_iter().next() else {
            return Ok(());
        };
        let types = typecheck::ObsTypes::new(&model.inner.observe(&init));
        if let Expected::Outcomes(want) = &job.expected {
            let mut path = vec![Step::key("expect")];
            path.extend(job.case.iter().map(|c| Step::key(c)));
            path.extend([Step::key(&job.variant), Step::key("outcomes")]);
            let written = self.outcomes_as_written(job);
            for outcome in want {
                typecheck::outcome(outcome, &self.file.observe, &types).map_err(|e| {
                    let index = written.iter().position(|w| w == outcome).unwrap_or(0);
                    let mut at = path.clone();
                    at.push(Step::Index(index));
                    self.error_at(&at, format!("expected outcome `{outcome}`: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// `job`'s expected outcomes in file order (its expectation's `outcomes:` list).
    fn outcomes_as_written(&self, job: &Job) -> Vec<String> {
        let by_variant = match &job.case {
            Some(case) => self.file.expect.get(case),
            None => None,
        };
        let expectation = match by_variant {
            Some(map) => map.get(job.variant.as_str()),
            None => self.file.expect.get(&job.variant),
        };
        expectation
            .and_then(|e| e.get("outcomes"))
            .and_then(Value::as_sequence)
            .map(|list| {
                list.iter()
                    .map(|o| o.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
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
            let message = sim::yaml::with_suggestion(&e.to_string());
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
        match self.file.model.as_str() {
            "lifecycle" => {
                let config = self.config(setup, job)?;
                let model = self.build(Lifecycle::new(config), job)?;
                f.lifecycle(&model);
            }
            "network" => {
                let config = self.config(setup, job)?;
                let model = self.build(Network::new(config), job)?;
                f.network(&model);
            }
            "migration" => {
                let config = self.config(setup, job)?;
                let model = self.build(Migration::new(config), job)?;
                f.migration(&model);
            }
            "lang" => {
                let model = self.lang_model(self.config(setup, job)?, job)?;
                let builtin = sim::Model::properties(&model)
                    .into_iter()
                    .filter(|p| lang::program::is_builtin(&p.name))
                    .collect();
                let model = self.build(Ok(model), job)?.keeping(builtin);
                f.lang(&model);
            }
            other => return Err(self.error(format!("model `{other}` is not built in"))),
        }
        Ok(())
    }

    /// For a `model: lang` scenario, the SHA-256 of `job`'s model file (traces record it, as
    /// they record the scenario's, so that a replay notices an edited model).
    pub fn model_file_sha256(&self, job: &Job) -> Option<String> {
        let bytes = crate::input::read_bytes(&self.model_file(job)?, crate::input::Kind::Scenario);
        Some(verify::sha256_hex(&bytes.ok()?))
    }

    /// For a `model: lang` scenario, `job`'s model file (its setup's `file`, relative to the
    /// scenario file).
    pub fn model_file(&self, job: &Job) -> Option<PathBuf> {
        if self.file.model != "lang" {
            return None;
        }
        let setup: LangSetup = self.setup_as(job).ok()?;
        Some(self.beside(&setup.file))
    }

    /// For a `model: lang` scenario, the patches `job`'s setup applies to its model, in order,
    /// each with what it changed (none for other models).
    pub fn patches(&self, job: &Job) -> Result<Vec<lang::PatchDiff>, CliError> {
        if self.file.model != "lang" {
            return Ok(Vec::new());
        }
        let setup: LangSetup = self.setup_as(job)?;
        if setup.patches.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.lang_model(setup, job)?.patches().to_vec())
    }

    /// `file` as a path relative to this scenario's file.
    fn beside(&self, file: &str) -> PathBuf {
        self.path.parent().unwrap_or(Path::new("")).join(file)
    }

    /// Loads a language model with `setup`'s parameters and patches; its errors are placed in
    /// the model file, except a patch the model does not have, placed where the scenario names
    /// it.
    fn lang_model(&self, setup: LangSetup, job: &Job) -> Result<lang::Program, CliError> {
        let params = setup
            .params
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::Bool(b) => Ok((name.clone(), b.to_string())),
                serde_json::Value::Number(n) => Ok((name.clone(), n.to_string())),
                serde_json::Value::String(s) => Ok((name.clone(), s.clone())),
                other => Err(self.setup_error(
                    job,
                    format!("params.{name}: {other} is not a bool, an integer or a name"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let in_model = |errors: Vec<lang::Diagnostic>| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            CliError::bad_input(format!(
                "{}\n(the model of {}, {})",
                lines.join("\n"),
                self.path.display(),
                Self::place(job)
            ))
        };
        let source = lang::Source::read(&self.beside(&setup.file)).map_err(in_model)?;
        let declared: Vec<&str> = source.patches().collect();
        for (i, name) in setup.patches.iter().enumerate() {
            if !declared.contains(&name.as_str()) {
                let hint = sim::yaml::closest(name, declared.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(self.setup_error(
                    job,
                    format!("patches[{i}]: {} has no patch `{name}`{hint}", setup.file),
                ));
            }
        }
        let config = lang::Config {
            params,
            patches: setup.patches,
        };
        source.load(&config).map_err(in_model)
    }

    /// The trace context that lets `vmrace replay` rebuild the model.
    pub fn context(&self, job: &Job) -> BTreeMap<String, String> {
        let mut c = BTreeMap::new();
        c.insert("scenario".into(), self.name.clone());
        c.insert("file".into(), self.path.display().to_string());
        c.insert(verify::SCENARIO_SHA256.into(), self.sha256.clone());
        if let Some(hash) = self.model_file_sha256(job) {
            c.insert(verify::MODEL_SHA256.into(), hash);
        }
        c.insert("variant".into(), job.variant.clone());
        if let Some(case) = &job.case {
            c.insert("case".into(), case.clone());
        }
        c
    }

    /// Runs one job.
    pub fn run(&self, job: &Job, jobs: usize) -> Result<Run, CliError> {
        self.run_watched(job, jobs, None)
    }

    /// Runs one job, publishing the search's progress to `live` while it runs.
    pub fn run_watched(
        &self,
        job: &Job,
        jobs: usize,
        live: Option<Arc<Live>>,
    ) -> Result<Run, CliError> {
        let mut runner = Runner {
            scenario: self,
            job,
            jobs,
            live,
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
    /// With a model in the modelling language.
    fn lang(&mut self, model: &Checked<lang::Program>);
}

struct NoOp;
impl WithModel for NoOp {
    fn lifecycle(&mut self, _: &Checked<Lifecycle>) {}
    fn network(&mut self, _: &Checked<Network>) {}
    fn migration(&mut self, _: &Checked<Migration>) {}
    fn lang(&mut self, _: &Checked<lang::Program>) {}
}

struct Runner<'a> {
    scenario: &'a Scenario,
    job: &'a Job,
    jobs: usize,
    live: Option<Arc<Live>>,
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
            self.live.clone(),
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
    fn lang(&mut self, model: &Checked<lang::Program>) {
        self.go(model)
    }
}
