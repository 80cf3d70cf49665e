//! The `vmrace` command line: argument parsing and dispatch; each subcommand lives in
//! `vmrace::commands`.
//!
//! Exit codes: 0 everything as expected, 1 drift (a verdict differs from the scenario's
//! expectation, or a benchmark count from the reference), 2 bad input, 3 a bound cut a search
//! that the scenario requires to be complete.

use clap::{Parser, Subcommand, ValueEnum};
use sim::Reduction;
use std::path::PathBuf;
use std::process::ExitCode;
use vmrace::commands::{self, check};
use vmrace::error::{CliError, EXIT_BAD_INPUT, EXIT_OK};

/// Deterministic race simulation for libvirt, QEMU, the guest agent and the host network.
#[derive(Parser)]
#[command(name = "vmrace", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// For people.
    Table,
    /// One JSON object per line, for tools.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    /// Markdown with a Mermaid sequence diagram.
    Md,
    /// One self-contained HTML page.
    Html,
    /// The bare SVG sequence diagram.
    Svg,
    /// The trace plus derived lifelines, messages and highlights.
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
    /// Check every scenario × variant against its expected verdict (the CI gate).
    Check {
        /// Scenario files or directories.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Search threads (results are identical for any value).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Also write an HTML and a Markdown report per violation/outcome witness into DIR.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Print every distinct outcome of a scenario with a witness trace, and every violation.
    Explore {
        /// The scenario file.
        file: PathBuf,
        /// Only this variant.
        #[arg(long)]
        variant: Option<String>,
        /// Only this matrix case.
        #[arg(long)]
        case: Option<String>,
        /// Search threads.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Also write an HTML and a Markdown report per violation/outcome witness into DIR.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Render a trace as a report (HTML with an SVG sequence diagram, Markdown, SVG or JSON), or
    /// with --all every bundled scenario's reports (`report --all scenarios -o reports`).
    Report {
        /// The trace (YAML written by vmrace).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        trace: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "html")]
        format: ReportFormat,
        /// Output file (with --all: output directory, default `reports`).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Scenario files or directories: write one HTML + one Markdown report per scenario and
        /// index.html.
        #[arg(long, num_args = 1.., value_name = "PATHS")]
        all: Option<Vec<PathBuf>>,
        /// Search threads.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
    },
    /// Explain a trace in plain English: who changed the decisive field, and what followed.
    Explain {
        /// The trace (YAML written by vmrace).
        trace: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List the models, their variants, and the scenarios.
    List {
        /// Scenario files or directories.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
    },
    /// Replay a trace in simulation; stops at the first step that diverges.
    Replay {
        /// The trace (YAML).
        trace: PathBuf,
    },
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

fn jobs_ok(jobs: usize) -> Result<usize, CliError> {
    if jobs == 0 {
        Err(CliError::bad_input("--jobs must be at least 1"))
    } else {
        Ok(jobs)
    }
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
        Command::Check {
            paths,
            format,
            jobs,
            report,
        } => jobs_ok(jobs).and_then(|jobs| {
            let format = match format {
                Format::Table => check::Format::Table,
                Format::Json => check::Format::Json,
            };
            check::run(&paths, format, jobs, report.as_deref())
        }),
        Command::Explore {
            file,
            variant,
            case,
            jobs,
            report,
        } => jobs_ok(jobs).and_then(|jobs| {
            commands::explore::run(
                &file,
                variant.as_deref(),
                case.as_deref(),
                jobs,
                report.as_deref(),
            )
        }),
        Command::Report {
            trace,
            format,
            output,
            all,
            jobs,
        } => jobs_ok(jobs).and_then(|jobs| match (all, trace) {
            (Some(paths), _) => commands::report::run_all(
                &paths,
                output.as_deref().unwrap_or(std::path::Path::new("reports")),
                jobs,
            ),
            (None, Some(trace)) => {
                let format = match format {
                    ReportFormat::Md => commands::report::Format::Md,
                    ReportFormat::Html => commands::report::Format::Html,
                    ReportFormat::Svg => commands::report::Format::Svg,
                    ReportFormat::Json => commands::report::Format::Json,
                };
                commands::report::run(&trace, format, output.as_deref())
            }
            (None, None) => Err(CliError::bad_input("report: give a TRACE or --all PATHS")),
        }),
        Command::Explain { trace, format } => {
            commands::report::explain(&trace, matches!(format, Format::Json))
        }
        Command::List { paths } => commands::list::run(&paths),
        Command::Replay { trace } => commands::replay::run(&trace),
        Command::Bench {
            model,
            params,
            reduction,
            jobs,
            format,
        } => {
            let reduction = match reduction {
                ReductionArg::None => Reduction::None,
                ReductionArg::Dpor => Reduction::Por,
            };
            commands::bench::run(
                model,
                params,
                reduction,
                jobs,
                matches!(format, Format::Json),
            )
        }
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(CliError { code, message }) => {
            eprintln!("vmrace: {message}");
            ExitCode::from(code as u8)
        }
    }
}
