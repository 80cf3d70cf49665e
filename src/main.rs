//! The `vmrace` command line: a thin layer over the library; every subcommand is one function.

use clap::{Parser, Subcommand, ValueEnum};
use sim::Reduction;
use std::process::ExitCode;
use vmrace::bench;
use vmrace::error::{CliError, CliResult, EXIT_BAD_INPUT, EXIT_DRIFT, EXIT_OK};

/// Deterministic race simulation for libvirt, QEMU, the guest agent and the host network.
#[derive(Parser)]
#[command(name = "vmrace", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A table for people.
    Table,
    /// One JSON object per line, for tools.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReductionArg {
    /// Every interleaving.
    None,
    /// Partial-order reduction (static persistent sets from declared footprints).
    Dpor,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the explorer on the SPEC.md benchmark models (states/s, distinct states, memory).
    ///
    /// With no --model it runs the default suite: every reference configuration up to N=4 with
    /// reductions off, and reboot-storm with reduction for N=1..8.
    Bench {
        /// `tap-churn` or `reboot-storm`.
        #[arg(long, requires = "params")]
        model: Option<String>,
        /// Parameters as in reference-counts.tsv, e.g. `N=2,C=1,naming=lowest-free,cleanup=buggy`.
        #[arg(long, requires = "model")]
        params: Option<String>,
        /// Partial-order reduction.
        #[arg(long, value_enum, default_value = "none")]
        reduction: ReductionArg,
        /// Worker threads.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let result = match cli.command {
        Command::Bench {
            model,
            params,
            reduction,
            jobs,
            format,
        } => run_bench(model, params, reduction, jobs, format),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(CliError { code, message }) => {
            eprintln!("vmrace: {message}");
            ExitCode::from(code as u8)
        }
    }
}

fn run_bench(
    model: Option<String>,
    params: Option<String>,
    reduction: ReductionArg,
    jobs: usize,
    format: Format,
) -> CliResult {
    if jobs == 0 {
        return Err(CliError::bad_input("--jobs must be at least 1"));
    }
    let reduction = match reduction {
        ReductionArg::None => Reduction::None,
        ReductionArg::Dpor => Reduction::Por,
    };
    let configs = match (model, params) {
        (Some(model), Some(params)) => vec![bench::Config {
            model,
            params,
            reduction,
            jobs,
        }],
        _ => bench::default_suite(jobs),
    };
    let mut rows = Vec::new();
    let mut mismatch = false;
    for config in &configs {
        let m = bench::run(config)?;
        mismatch |= m.reference_match == Some(false);
        match format {
            Format::Json => println!("{}", serde_json::to_string(&m).expect("JSON")),
            Format::Table => eprint!("."),
        }
        rows.push(m);
    }
    if let Format::Table = format {
        eprintln!();
        print!("{}", bench::table(&rows));
    }
    Ok(if mismatch { EXIT_DRIFT } else { EXIT_OK })
}
