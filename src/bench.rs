//! `vmrace bench`: the benchmark models of docs/bench.md, measured (states, transitions, states per
//! second, peak memory) and compared with the reference counts.

use crate::error::{CliError, CliResult};
use crate::memory;
use models::bench::{Cleanup, Naming, RebootStorm, TapChurn};
use serde::Serialize;
use sim::{explore, Model, Options, Reduction, Strategy};

/// The reference counts shipped with the project (`bench/reference-counts.tsv`).
pub const REFERENCE: &str = include_str!("../bench/reference-counts.tsv");

/// Which implementation of the benchmark models to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Implementation {
    /// The hand-written Rust models (`models/src/bench/`).
    #[default]
    Rust,
    /// The models written in the modelling language (`models/lang/`).
    Lang,
}

/// The language versions of the benchmark models, built into the binary.
const LANG_MODELS: [(&str, &str, &str); 2] = [
    (
        "tap-churn",
        "models/lang/tap-churn.yaml",
        include_str!("../models/lang/tap-churn.yaml"),
    ),
    (
        "reboot-storm",
        "models/lang/reboot-storm.yaml",
        include_str!("../models/lang/reboot-storm.yaml"),
    ),
];

/// One benchmark configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `tap-churn` or `reboot-storm`.
    pub model: String,
    /// Parameters as the reference file writes them.
    pub params: String,
    /// Partial-order reduction or not.
    pub reduction: Reduction,
    /// Worker threads.
    pub jobs: usize,
    /// Stop at the first violation (measures time to the first counterexample).
    pub stop_at_first: bool,
    /// Rust or language models.
    pub implementation: Implementation,
}

/// One measured configuration: the JSON line `vmrace bench --format json` prints.
#[derive(Debug, Serialize)]
pub struct Measurement {
    /// Model name.
    pub model: String,
    /// Parameters.
    pub params: String,
    /// `none` or `dpor`.
    pub reduction: String,
    /// Threads.
    pub jobs: usize,
    /// Distinct states.
    pub states: u64,
    /// Transitions explored.
    pub transitions: u64,
    /// Terminal states.
    pub terminal: u64,
    /// Terminal states violating the invariant.
    pub violating_terminal: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Distinct states per second.
    pub states_per_sec: f64,
    /// Peak resident memory during the run.
    pub peak_rss_bytes: u64,
    /// Peak memory above the pre-run baseline, per stored state.
    pub bytes_per_state: f64,
    /// For reboot-storm with reduction: the ideal reduced count S·(1 + T + … + T^(N-1)), from the
    /// N=1 reference counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ideal_states: Option<u64>,
    /// Reference counts `[states, transitions, terminal, violating_terminal]`, when the
    /// configuration is in the reference file (reductions off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_match: Option<bool>,
}

/// The reference file's rows: (model, params, [states, transitions, terminal, violating]).
pub fn reference_rows() -> Vec<(String, String, [u64; 4])> {
    REFERENCE
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let counts = [2, 3, 4, 5].map(|i| f.get(i).and_then(|v| v.parse().ok()));
            Some((
                f.first()?.to_string(),
                f.get(1)?.to_string(),
                [counts[0]?, counts[1]?, counts[2]?, counts[3]?],
            ))
        })
        .collect()
}

fn parse_params(params: &str) -> CliResult<Vec<(String, String)>> {
    params
        .split(',')
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| {
                    CliError::bad_input(format!(
                        "bad --params `{params}`: `{kv}` is not KEY=VALUE (e.g. N=2,C=1,naming=lowest-free,cleanup=buggy)"
                    ))
                })
        })
        .collect()
}

fn get<'a>(kv: &'a [(String, String)], key: &str, params: &str) -> CliResult<&'a str> {
    kv.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| CliError::bad_input(format!("--params `{params}` lacks `{key}=`")))
}

fn number(value: &str, key: &str) -> CliResult<usize> {
    value
        .parse()
        .map_err(|_| CliError::bad_input(format!("`{key}={value}`: expected a whole number")))
}

/// Runs one configuration.
pub fn run(config: &Config) -> CliResult<Measurement> {
    match config.implementation {
        Implementation::Rust => run_rust(config),
        Implementation::Lang => run_lang(config),
    }
}

/// Runs a configuration of a language model: parameters in the reference file's order, enum
/// values with `-` spelt `_` (`lowest-free` is the constant `lowest_free`).
fn run_lang(config: &Config) -> CliResult<Measurement> {
    let kv = parse_params(&config.params)?;
    let Some((_, path, text)) = LANG_MODELS.iter().find(|(m, _, _)| *m == config.model) else {
        return Err(CliError::bad_input(format!(
            "unknown benchmark model `{}`: expected tap-churn or reboot-storm",
            config.model
        )));
    };
    let order: &[&str] = match config.model.as_str() {
        "tap-churn" => &["N", "C", "naming", "cleanup"],
        _ => &["N", "fix"],
    };
    reject_unknown(&kv, order, &config.params)?;
    let model_config = lang::Config {
        params: kv
            .iter()
            .map(|(k, v)| (k.clone(), v.replace('-', "_")))
            .collect(),
        patches: Vec::new(),
    };
    let model = lang::load(path, text, &model_config).map_err(|errors| {
        CliError::bad_input(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let shown = order
        .iter()
        .map(|k| Ok(format!("{k}={}", get(&kv, k, &config.params)?)))
        .collect::<CliResult<Vec<_>>>()?
        .join(",");
    let mut m = measure(&model, config, shown);
    if config.model == "reboot-storm" && config.reduction == Reduction::Por {
        let n = number(get(&kv, "N", &config.params)?, "N")?;
        m.ideal_states = Some(reboot_storm_ideal(
            n as u32,
            get(&kv, "fix", &config.params)? == "true",
        ));
    }
    Ok(m)
}

fn run_rust(config: &Config) -> CliResult<Measurement> {
    let kv = parse_params(&config.params)?;
    let p = &config.params;
    match config.model.as_str() {
        "tap-churn" => {
            let allowed = ["N", "C", "naming", "cleanup"];
            reject_unknown(&kv, &allowed, p)?;
            let naming = match get(&kv, "naming", p)? {
                "lowest-free" => Naming::LowestFree,
                "monotonic" => Naming::Monotonic,
                other => {
                    return Err(CliError::bad_input(format!(
                        "naming `{other}`: expected lowest-free or monotonic"
                    )))
                }
            };
            let cleanup = match get(&kv, "cleanup", p)? {
                "buggy" => Cleanup::Buggy,
                "exists-check" => Cleanup::ExistsCheck,
                "atomic" => Cleanup::Atomic,
                other => {
                    return Err(CliError::bad_input(format!(
                        "cleanup `{other}`: expected buggy, exists-check or atomic"
                    )))
                }
            };
            let n = number(get(&kv, "N", p)?, "N")?;
            let c = number(get(&kv, "C", p)?, "C")?;
            let model = TapChurn::new(n, c, naming, cleanup).map_err(CliError::bad_input)?;
            Ok(measure(&model, config, model.params()))
        }
        "reboot-storm" => {
            reject_unknown(&kv, &["N", "fix"], p)?;
            let fix = match get(&kv, "fix", p)? {
                "true" => true,
                "false" => false,
                other => {
                    return Err(CliError::bad_input(format!(
                        "fix `{other}`: expected true or false"
                    )))
                }
            };
            let n = number(get(&kv, "N", p)?, "N")?;
            let model = RebootStorm::new(n, fix).map_err(CliError::bad_input)?;
            let mut m = measure(&model, config, model.params());
            if config.reduction == Reduction::Por {
                m.ideal_states = Some(reboot_storm_ideal(n as u32, fix));
            }
            Ok(m)
        }
        other => Err(CliError::bad_input(format!(
            "unknown benchmark model `{other}`: expected tap-churn or reboot-storm"
        ))),
    }
}

fn reject_unknown(kv: &[(String, String)], allowed: &[&str], params: &str) -> CliResult<()> {
    match kv.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(CliError::bad_input(format!(
            "--params `{params}`: unknown parameter `{k}`; expected {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn measure<M: Model>(model: &M, config: &Config, params: String) -> Measurement {
    // DFS keeps the least in memory on one thread; BFS is the parallel strategy.
    let strategy = if config.jobs > 1 {
        Strategy::Bfs
    } else {
        Strategy::Dfs
    };
    let options = Options {
        strategy,
        reduction: config.reduction,
        jobs: config.jobs,
        stop_at_first: config.stop_at_first,
        record_paths: false,
        ..Options::default()
    };
    let baseline = memory::current_rss();
    memory::reset_peak();
    let report = explore(model, &options);
    let peak = memory::peak_rss();
    let counts = [
        report.states,
        report.transitions,
        report.terminal,
        report.violating_terminal,
    ];
    let reference_match = (config.reduction == Reduction::None && !config.stop_at_first)
        .then(|| {
            reference_rows()
                .into_iter()
                .find(|(m, p, _)| *m == config.model && *p == params)
                .map(|(_, _, expected)| expected == counts)
        })
        .flatten();
    Measurement {
        model: config.model.clone(),
        params,
        reduction: match config.reduction {
            Reduction::None => "none".into(),
            Reduction::Por => "dpor".into(),
        },
        jobs: config.jobs,
        states: report.states,
        transitions: report.transitions,
        terminal: report.terminal,
        violating_terminal: report.violating_terminal,
        seconds: report.seconds,
        states_per_sec: report.states as f64 / report.seconds.max(1e-9),
        peak_rss_bytes: peak,
        bytes_per_state: peak.saturating_sub(baseline) as f64 / report.states.max(1) as f64,
        ideal_states: None,
        reference_match,
    }
}

/// The default suite: every reference configuration up to N=4 unreduced, and reboot-storm with
/// reduction for N = 1..=8.
pub fn default_suite(jobs: usize, implementation: Implementation) -> Vec<Config> {
    let mut configs: Vec<Config> = reference_rows()
        .into_iter()
        .filter(|(_, p, _)| {
            p.split(',')
                .find_map(|kv| kv.strip_prefix("N="))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n <= 4)
        })
        .map(|(model, params, _)| Config {
            model,
            params,
            reduction: Reduction::None,
            jobs,
            stop_at_first: false,
            implementation,
        })
        .collect();
    for fix in [false, true] {
        for n in 1..=8 {
            configs.push(Config {
                model: "reboot-storm".into(),
                params: format!("N={n},fix={fix}"),
                reduction: Reduction::Por,
                jobs,
                stop_at_first: false,
                implementation,
            });
        }
    }
    configs
}

/// The ideal reduced state count S·(1 + T + … + T^(N-1)) for reboot-storm, with S and T the
/// states and terminal states of the N=1 reference row.
pub fn reboot_storm_ideal(n: u32, fix: bool) -> u64 {
    let one = format!("N=1,fix={fix}");
    let (s, t) = reference_rows()
        .into_iter()
        .find(|(m, p, _)| m == "reboot-storm" && *p == one)
        .map(|(_, _, c)| (c[0], c[2]))
        .expect("the reference file has reboot-storm N=1");
    (0..n).map(|k| s * t.pow(k)).sum()
}

/// Formats measurements as a table for people.
pub fn table(rows: &[Measurement]) -> String {
    let mut out = format!(
        "{:<13} {:<44} {:<6} {:>4} {:>10} {:>11} {:>8} {:>9} {:>8} {:>11} {:>8} {:>5}\n",
        "model",
        "params",
        "reduce",
        "jobs",
        "states",
        "transitions",
        "terminal",
        "violating",
        "seconds",
        "states/s",
        "B/state",
        "ref"
    );
    for m in rows {
        let reference = match m.reference_match {
            Some(true) => "ok",
            Some(false) => "DIFF",
            None => "-",
        };
        out.push_str(&format!(
            "{:<13} {:<44} {:<6} {:>4} {:>10} {:>11} {:>8} {:>9} {:>8.3} {:>11.0} {:>8.1} {:>5}\n",
            m.model,
            m.params,
            m.reduction,
            m.jobs,
            m.states,
            m.transitions,
            m.terminal,
            m.violating_terminal,
            m.seconds,
            m.states_per_sec,
            m.bytes_per_state,
            reference
        ));
    }
    out
}
