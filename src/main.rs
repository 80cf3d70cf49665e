//! The `vmrace` command line: argument parsing and dispatch; each subcommand lives in
//! `vmrace::commands`.
//!
//! Exit codes: 0 everything as expected, 1 drift (a verdict differs from the scenario's
//! expectation, or a benchmark count from the reference), 2 bad input, 3 a bound cut a search
//! that the scenario requires to be complete, 141 standard output was closed early (a quiet
//! exit, as for a tool a closed pipe stopped).

use clap::{Parser, Subcommand, ValueEnum};
use sim::Reduction;
use std::path::PathBuf;
use std::process::ExitCode;
use vmrace::commands::{self, check};
use vmrace::error::{CliError, EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_OK};
use vmrace::gate::{GateOptions, Shard};

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
        /// Run everything twice (with another thread count) and compare hashes of the results.
        #[arg(long)]
        check_determinism: bool,
        /// Also write JUnit XML (one testcase per scenario × case × variant) to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Run only shard I of N, which counts from 1 (`--shard 1/3` … `3/3`, as in Playwright,
        /// Jest, Vitest and nextest): job k (scenario × case × variant, in order, from 0) goes to
        /// shard k mod N + 1. `0/N`, I > N and a shard with no job are refused.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Leave run times out of the JSON lines and JUnit (shard outputs then merge byte for byte).
        #[arg(long)]
        no_timing: bool,
        /// Keep every violating trace in this directory (stable file names).
        #[arg(long, value_name = "DIR")]
        save_traces: Option<PathBuf>,
        /// Replay the stored traces in this directory first; a trace that no longer replays or
        /// no longer violates where a violation is still expected is drift (exit 1).
        #[arg(long, value_name = "DIR")]
        traces: Option<PathBuf>,
        /// Also write an HTML and a Markdown report per violation/outcome witness into DIR.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Afterwards replay every violation and outcome witness on real software (root; for
        /// models with a real replay); a disagreement is drift.
        #[arg(long)]
        real: bool,
    },
    /// Combine the `check --format json --shard I/N` outputs of every shard into the unsharded
    /// run's lines, in its order, byte for byte.
    Merge {
        /// The shards' JSON-lines files.
        files: Vec<PathBuf>,
    },
    /// Reproduce a bug report: explore only interleavings that follow the log's events, and
    /// report those ending in the symptom, the ones explaining most of the log first; exit 1
    /// when none does, 3 when none does but a search was cut (docs/repro.md).
    Repro {
        /// The log: raw or pretty-printed QMP, libvirtd debug lines (journald prefix or not),
        /// `virsh qemu-monitor-event` and `virsh event` output, virsh commands, QEMU's log,
        /// `symptom:` lines.
        #[arg(long)]
        log: PathBuf,
        /// Only this scenario (name or file).
        #[arg(long, conflicts_with = "model")]
        scenario: Option<String>,
        /// Only scenarios of this model.
        #[arg(long)]
        model: Option<String>,
        /// Where the bundled scenarios are.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Where to write the matching traces.
        #[arg(long, default_value = "repro-traces")]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Write a starting scenario YAML from a log (lifecycle, network or migration: its domains,
    /// calls and the symptom as a property); exit 2 when the log has nothing to model.
    New {
        /// The log.
        #[arg(long)]
        from_log: PathBuf,
        /// The scenario file to write.
        #[arg(long, default_value = "from-log.yaml")]
        out: PathBuf,
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
        /// Execute it on real software (network: netns, taps, Linux bridge, private OVS; needs
        /// root) and compare with the model: exit 0 agree, 1 disagree, 2 cannot run.
        #[arg(long)]
        real: bool,
        /// Output format of `--real`.
        #[arg(long, value_enum, default_value = "table", requires = "real")]
        format: Format,
    },
    /// Replay every witness of every scenario on real software N times; print the agreement.
    Fidelity {
        /// Scenario files or directories.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// Real replays per witness trace.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// Random found traces added per job of scenarios with 3 or more VMs.
        #[arg(long, default_value_t = 4)]
        sample: usize,
        /// Seed of that random sample.
        #[arg(long, default_value_t = commands::real::DEFAULT_SEED)]
        seed: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Build or show the real-replay guest image (kernel, busybox, qemu-ga from Debian packages).
    Guest {
        #[command(subcommand)]
        action: GuestAction,
    },
    /// Measure the explorer on the benchmark models of docs/bench.md (states/s, distinct states, memory).
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
        /// Stop at the first violation: `seconds` is then the time to the first counterexample.
        #[arg(long, requires = "model")]
        stop_at_first: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// The hand-written Rust models, or the same models written in the modelling language
        /// (`models/lang/`).
        #[arg(long = "impl", value_enum, default_value = "rust")]
        implementation: ImplArg,
    },
}

/// `vmrace bench --impl`.
#[derive(Clone, Copy, ValueEnum)]
enum ImplArg {
    /// `models/src/bench/`.
    Rust,
    /// `models/lang/`.
    Lang,
}

#[derive(Subcommand)]
enum GuestAction {
    /// Run guest/build.sh: download the packages, build a bit-for-bit reproducible image (root).
    Build {
        /// Output root (default: <repo>/build/guest).
        out: Option<PathBuf>,
    },
    /// Show the image the real replay uses: directory, versions, sha256s.
    Info,
}

fn jobs_ok(jobs: usize) -> Result<usize, CliError> {
    if jobs == 0 {
        Err(CliError::bad_input("--jobs must be at least 1"))
    } else {
        Ok(jobs)
    }
}

fn check_format(format: Format) -> check::Format {
    match format {
        Format::Table => check::Format::Table,
        Format::Json => check::Format::Json,
    }
}

fn main() -> ExitCode {
    if let Err(e) = vmrace::real::signals::install() {
        vmrace::errln!("vmrace: cannot install the SIGINT/SIGTERM handler: {e}");
        return ExitCode::from(EXIT_BAD_INPUT as u8);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            };
            // `--help` or a usage error into a closed pipe: the same quiet exit as a command's.
            return match e.print() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(EXIT_BROKEN_PIPE as u8)
                }
                _ => ExitCode::from(code as u8),
            };
        }
    };
    let result = match cli.command {
        Command::Check {
            paths,
            format,
            jobs,
            check_determinism,
            junit,
            shard,
            no_timing,
            save_traces,
            traces,
            real,
            report,
        } => jobs_ok(jobs).and_then(|jobs| {
            let format = check_format(format);
            let gate = GateOptions {
                junit,
                shard: shard.as_deref().map(Shard::parse).transpose()?,
                no_timing,
                save_traces,
                traces,
                check_determinism,
                report,
            };
            let code = check::run(&paths, format, jobs, &gate)?;
            if real {
                Ok(code.max(commands::real::check(&paths, format)?))
            } else {
                Ok(code)
            }
        }),
        Command::Repro {
            log,
            scenario,
            model,
            scenarios,
            out,
            format,
        } => {
            let target = vmrace::repro::Target {
                scenario,
                model,
                paths: vec![scenarios],
                out,
            };
            vmrace::repro::run(&log, &target, matches!(format, Format::Json))
        }
        Command::New { from_log, out } => vmrace::repro::new::run(&from_log, &out),
        Command::Merge { files } => vmrace::gate::merge::run(&files),
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
        Command::Replay {
            trace, real: false, ..
        } => commands::replay::run(&trace),
        Command::Replay {
            trace,
            real: true,
            format,
        } => commands::real::replay(&trace, check_format(format)),
        Command::Fidelity {
            paths,
            runs,
            sample,
            seed,
            format,
        } => {
            let opts = commands::real::FidelityOptions {
                runs,
                sample,
                seed,
                format: check_format(format),
            };
            commands::real::fidelity(&paths, &opts)
        }
        Command::Guest { action } => match action {
            GuestAction::Build { out } => commands::guest::build(out),
            GuestAction::Info => commands::guest::info(),
        },
        Command::Bench {
            model,
            params,
            reduction,
            jobs,
            stop_at_first,
            format,
            implementation,
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
                stop_at_first,
                match implementation {
                    ImplArg::Rust => vmrace::bench::Implementation::Rust,
                    ImplArg::Lang => vmrace::bench::Implementation::Lang,
                },
            )
        }
    };
    // a real replay's error caused by a signal's cleanup must not end the process before it
    match vmrace::real::signals::settle(result) {
        Ok(code) => ExitCode::from(code as u8),
        // A closed stdout (`vmrace check | head -1`) ends the run quietly, like other tools.
        Err(CliError { code, .. }) if code == EXIT_BROKEN_PIPE => ExitCode::from(code as u8),
        Err(CliError { code, message }) => {
            vmrace::errln!("vmrace: {message}");
            ExitCode::from(code as u8)
        }
    }
}
