//! The real-replay commands: `vmrace replay --real TRACE`, the `--real` part of `vmrace check`,
//! and `vmrace fidelity` (how often real replays of a scenario's witness traces agree with the
//! model).
//!
//! Exit codes: 0 every real replay agreed, 1 some disagreed, 2 a replay could not run (bad
//! input, missing tools, not root).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sim::{Model, Trace};

use super::check::{load_all, Format};
use super::replay::load_trace;
use crate::error::{CliError, CliResult, EXIT_DRIFT, EXIT_OK};
use crate::real::replay::{other_software, replay_real, supports_real, RealOutcome};
use crate::scenario::checked::Checked;
use crate::scenario::verify::scenario_of;
use crate::scenario::{Job, Scenario, WithModel};
use crate::{out, outln};

/// Seed of the random sample of found traces (`vmrace fidelity --seed`).
pub const DEFAULT_SEED: u64 = 2026;

/// `vmrace replay --real TRACE`: prints predicted vs observed (Markdown or one JSON object).
pub fn replay(path: &Path, format: Format) -> CliResult {
    let trace = load_trace(path)?;
    let (scenario, job) = scenario_of(&trace, path)?;
    let outcome = replay_real(&scenario, &job, &trace)?;
    match format {
        Format::Json => outln!("{}", json(&outcome))?,
        Format::Table => out!("{}", outcome.to_markdown())?,
    }
    Ok(if outcome.agreed { EXIT_OK } else { EXIT_DRIFT })
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// A trace to replay and where it came from (`outcome: ...`, `violation: ...`, `sample N`).
pub struct Witness {
    /// Where the trace came from.
    pub source: String,
    /// The trace.
    pub trace: Trace,
}

/// The witnesses of `job`: the violation witness of every broken property and the witness of
/// every distinct outcome, then `sample` random executions of the model (a seeded random walk
/// from the initial state to the end; deterministic for a given seed).
pub fn witnesses(
    scenario: &Scenario,
    job: &Job,
    sample: usize,
    seed: u64,
) -> Result<Vec<Witness>, CliError> {
    let run = scenario.run(job, 1)?;
    let mut out: Vec<Witness> = run
        .broken
        .into_iter()
        .filter(|b| b.trace.witness.as_deref() != Some("vacuous"))
        .map(|b| Witness {
            source: format!("violation: {}", b.property),
            trace: b.trace,
        })
        .collect();
    out.extend(run.outcomes.into_iter().map(|o| Witness {
        source: format!("outcome: {}", o.name),
        trace: o.trace,
    }));
    if sample > 0 {
        let mut sampler = Sampler {
            count: sample,
            seed,
            context: scenario.context(job),
            out: Vec::new(),
        };
        scenario.with_model(job, &mut sampler)?;
        out.extend(sampler.out);
    }
    Ok(out)
}

/// Seeded random walks through a model, each to a terminal state (or `sim::DEFAULT_WALK_CAP`
/// steps).
struct Sampler {
    count: usize,
    seed: u64,
    context: std::collections::BTreeMap<String, String>,
    out: Vec<Witness>,
}

impl Sampler {
    fn go<M: models::scenario::Observable>(&mut self, model: &Checked<M>) {
        for n in 0..self.count {
            let mut rng = self.seed ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut state = model.init_states().swap_remove(0);
            let mut path = sim::Path::<Checked<M>> {
                init: 0,
                actions: Vec::new(),
            };
            let mut actions = Vec::new();
            // a model with a cycle must not walk forever: stop where sim's walks stop
            while path.actions.len() < sim::DEFAULT_WALK_CAP {
                actions.clear();
                model.actions(&state, &mut actions);
                if actions.is_empty() {
                    break;
                }
                let pick = (splitmix(&mut rng) % actions.len() as u64) as usize;
                let action = actions.swap_remove(pick);
                state = model.next_state(&state, &action);
                path.actions.push(action);
            }
            let mut trace = Trace::from_path(model, &path);
            trace.context = self.context.clone();
            let source = format!("sample {n} (seed {})", self.seed);
            trace.witness = Some(source.clone());
            self.out.push(Witness { source, trace });
        }
    }
}

/// SplitMix64: a tiny, well-mixed deterministic generator.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl WithModel for Sampler {
    fn lifecycle(&mut self, model: &Checked<models::lifecycle::Lifecycle>) {
        self.go(model)
    }
    fn network(&mut self, model: &Checked<models::network::Network>) {
        self.go(model)
    }
    fn migration(&mut self, model: &Checked<models::migration::Migration>) {
        self.go(model)
    }
    fn lang(&mut self, model: &Checked<lang::Program>) {
        self.go(model)
    }
}

/// Number of VMs in a job's setup (`setup.vms`), 0 if it has none.
fn vm_count(scenario: &Scenario, job: &Job) -> Result<usize, CliError> {
    let setup: serde_json::Value = scenario.setup_as(job)?;
    Ok(setup["vms"].as_array().map_or(0, Vec::len))
}

/// One JSON line of `check --real`.
#[derive(Serialize)]
struct CheckLine<'a> {
    real: bool,
    scenario: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    case: Option<&'a str>,
    variant: &'a str,
    source: &'a str,
    agreed: bool,
    seconds: f64,
}

/// The `--real` half of `vmrace check`, run after the simulated check: replays every violation
/// and outcome witness of every scenario whose model has a real replay; returns 1 if any
/// disagreed.
pub fn check(paths: &[PathBuf], format: Format) -> CliResult {
    let mut code = EXIT_OK;
    for scenario in load_all(paths)? {
        if !supports_real(&scenario.file.model) {
            if format == Format::Table {
                outln!(
                    "real  {:<40} skipped: no real replay for model `{}` in this build",
                    scenario.name,
                    scenario.file.model
                )?;
            }
            continue;
        }
        for job in scenario.jobs()? {
            if let Some(why) = other_software(&scenario, &job)? {
                if format == Format::Table {
                    outln!(
                        "real  {:<40} {:<24} skipped: {why}",
                        scenario.name,
                        job.variant
                    )?;
                }
                continue;
            }
            for w in witnesses(&scenario, &job, 0, DEFAULT_SEED)? {
                let started = Instant::now();
                let outcome = replay_real(&scenario, &job, &w.trace)?;
                let seconds = started.elapsed().as_secs_f64();
                if !outcome.agreed {
                    code = EXIT_DRIFT;
                }
                match format {
                    Format::Json => outln!(
                        "{}",
                        json(&CheckLine {
                            real: true,
                            scenario: &scenario.name,
                            case: job.case.as_deref(),
                            variant: &job.variant,
                            source: &w.source,
                            agreed: outcome.agreed,
                            seconds,
                        })
                    )?,
                    Format::Table => {
                        let verdict = if outcome.agreed {
                            "agreed"
                        } else {
                            "DISAGREED"
                        };
                        outln!(
                            "real  {:<40} {:<24} {:<9} {:.2}s  {}",
                            scenario.name,
                            job.variant,
                            verdict,
                            seconds,
                            w.source
                        )?;
                        if !outcome.agreed {
                            outln!("{}", outcome.to_markdown())?;
                        }
                    }
                }
            }
        }
    }
    Ok(code)
}

/// Options of `vmrace fidelity`.
pub struct FidelityOptions {
    /// Real replays per witness.
    pub runs: usize,
    /// Random found traces per job of a scenario with 3 or more VMs.
    pub sample: usize,
    /// Seed of that sample.
    pub seed: u64,
    /// Output format.
    pub format: Format,
}

/// One JSON line of `vmrace fidelity`.
#[derive(Serialize)]
pub struct FidelityLine {
    /// Scenario name.
    pub scenario: String,
    /// The witness: `violation: <property>`, `outcome: <name>` or `sample N (seed S)`.
    pub source: String,
    /// Matrix case, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Variant.
    pub variant: String,
    /// Real replays run.
    pub runs: usize,
    /// How many agreed with the model.
    pub agreed: usize,
    /// Wall-clock seconds for all runs (sandbox set-up and teardown included).
    pub seconds: f64,
    /// The QEMU accelerator (`tcg` or `kvm`); `null` for network replays (no QEMU runs).
    pub accelerator: Option<String>,
}

/// `vmrace fidelity`: every witness of every scenario × case × variant replayed `runs` times.
pub fn fidelity(paths: &[PathBuf], opts: &FidelityOptions) -> CliResult {
    if opts.runs == 0 {
        return Err(CliError::bad_input("--runs must be at least 1"));
    }
    let mut totals = (0usize, 0usize, 0f64);
    for scenario in load_all(paths)? {
        if !supports_real(&scenario.file.model) {
            if opts.format == Format::Table {
                outln!(
                    "{:<28} skipped: no real replay for model `{}` in this build",
                    scenario.name,
                    scenario.file.model
                )?;
            }
            continue;
        }
        for job in scenario.jobs()? {
            if let Some(why) = other_software(&scenario, &job)? {
                if opts.format == Format::Table {
                    outln!("{:<28} {:<24} skipped: {why}", scenario.name, job.variant)?;
                }
                continue;
            }
            let sample = if vm_count(&scenario, &job)? >= 3 {
                opts.sample
            } else {
                0
            };
            for w in witnesses(&scenario, &job, sample, opts.seed)? {
                let line = fidelity_of(&scenario, &job, w, opts)?;
                totals.0 += line.runs;
                totals.1 += line.agreed;
                totals.2 += line.seconds;
                match opts.format {
                    Format::Json => outln!("{}", json(&line))?,
                    Format::Table => outln!(
                        "{:<28} {:<24} {:>3}/{:<3} {:>7.2}s  {}",
                        line.scenario,
                        line.variant,
                        line.agreed,
                        line.runs,
                        line.seconds,
                        line.source
                    )?,
                }
            }
        }
    }
    if opts.format == Format::Table {
        let (runs, agreed, seconds) = totals;
        outln!("total: {agreed}/{runs} real replays agreed with the model in {seconds:.1}s")?;
    }
    Ok(if totals.0 == totals.1 {
        EXIT_OK
    } else {
        EXIT_DRIFT
    })
}

fn fidelity_of(
    scenario: &Scenario,
    job: &Job,
    witness: Witness,
    opts: &FidelityOptions,
) -> Result<FidelityLine, CliError> {
    let started = Instant::now();
    let mut agreed = 0;
    let mut first_disagreement: Option<RealOutcome> = None;
    let mut accelerator = None;
    for _ in 0..opts.runs {
        let outcome = replay_real(scenario, job, &witness.trace)?;
        accelerator = outcome.environment.get("accelerator").cloned();
        if outcome.agreed {
            agreed += 1;
        } else if first_disagreement.is_none() {
            first_disagreement = Some(outcome);
        }
    }
    if let (Some(outcome), Format::Table) = (first_disagreement, opts.format) {
        outln!("{}", outcome.to_markdown())?;
    }
    Ok(FidelityLine {
        scenario: scenario.name.clone(),
        source: witness.source,
        case: job.case.clone(),
        variant: job.variant.clone(),
        runs: opts.runs,
        agreed,
        seconds: started.elapsed().as_secs_f64(),
        accelerator,
    })
}
