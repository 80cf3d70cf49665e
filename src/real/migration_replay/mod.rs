//! Real-QEMU replay of a migration trace (seed 003): vmrace's libvirt model plays libvirt and
//! the management program; two real QEMUs (the source, and a destination started with
//! `-incoming unix:` for each migration) each run in a private mount namespace with a `/dev`
//! populated as libvirt does (see [`devns`](crate::real::qemu::devns)); the disks are loop
//! devices reached through the scenario's symlink chains (see [`storage`]). The trace's steps
//! are carried out in order (see [`steps`]), and the end state is observed and compared with
//! the model's prediction (see [`observe`]).
//!
//! The injected `socket-error` fault is made real by a destination that lacks a device the
//! source has (`virtio-rng-pci`) with the `return-path` capability on: the destination rejects
//! the device state sent after `bdrv_inactivate_all`, and the source's
//! `await_return_path_close_on_source` error takes the same `fail_invalidate` label as a
//! stream error in QEMU 7.2 (`goto fail` in 8.1's merged labels). The `cancel` fault and a
//! rejecting destination without the fault are not replayed (an error says so).

mod observe;
mod steps;
pub mod storage;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use models::migration::{Config, Destination, Fault};
use serde_json::Value;
use sim::{Trace, TraceStep};

use crate::error::{CliError, EXIT_BAD_INPUT};
use crate::real::qemu::{accel, devns, Error as QemuError, GuestImage, LaunchConfig};
use crate::real::replay::RealOutcome;
use crate::scenario::{Job, Scenario};
use storage::HostStorage;

/// What of the scenario's setup the real run needs beyond the disks.
#[derive(Clone, Debug)]
pub(crate) struct Setup {
    /// The migration (1-based) whose destination rejects the device state, if any.
    pub socket_error_attempt: Option<u32>,
}

fn real_error(e: QemuError) -> CliError {
    CliError {
        code: EXIT_BAD_INPUT,
        message: format!("real migration replay: {e}"),
    }
}

fn unsupported(what: String) -> CliError {
    CliError::bad_input(format!("real migration replay: {what}"))
}

/// Whether a QEMU `cont` step's reply was a success in the model (`qmp` became `replied`).
pub(crate) fn qmp_reply_ok(step: &TraceStep) -> bool {
    step.changes
        .iter()
        .find(|c| c.path == "qmp")
        .and_then(|c| c.after.get("replied"))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// A launch configuration like `base` for one QEMU of this replay: the disks as libvirt passes
/// them (`-blockdev` host_device/file with `auto-read-only`, raw format node, virtio-blk with a
/// serial `diskN`), `virtio-rng-pci` when `rng`, `-incoming` when given, and the private-/dev
/// wrapper built from the host's chains as they are now.
pub(crate) fn launch_config(
    base: &LaunchConfig,
    storage: &HostStorage,
    rng: bool,
    incoming: Option<&Path>,
) -> crate::real::qemu::Result<LaunchConfig> {
    let mut cfg = base.clone();
    for (i, disk) in storage.disks.iter().enumerate() {
        let (driver, ro) = if disk.loop_dev.is_some() {
            ("host_device", "off")
        } else {
            ("file", "on")
        };
        cfg.extra_args.extend([
            "-blockdev".into(),
            format!(
                "driver={driver},filename={},node-name=libvirt-{i}-storage,auto-read-only=on,discard=unmap,read-only={ro}",
                disk.path.display()
            ),
            "-blockdev".into(),
            format!("driver=raw,file=libvirt-{i}-storage,node-name=libvirt-{i}-format,read-only={ro}"),
            "-device".into(),
            format!("virtio-blk-pci,drive=libvirt-{i}-format,id=virtio-disk{i},serial=disk{i}"),
        ]);
    }
    if rng {
        cfg.extra_args
            .extend(["-device".into(), "virtio-rng-pci,id=rng0".into()]);
    }
    if let Some(sock) = incoming {
        cfg.extra_args
            .extend(["-incoming".into(), format!("unix:{}", sock.display())]);
    }
    let paths: Vec<_> = storage.disks.iter().map(|d| d.path.clone()).collect();
    cfg.wrapper = storage.while_open(|| {
        let run = tempdir_in(&storage.dir)?;
        devns::launch_wrapper(&run, &paths)
    })?;
    Ok(cfg)
}

/// A fresh numbered directory under `parent` for one QEMU's namespace script.
fn tempdir_in(parent: &Path) -> crate::real::qemu::Result<std::path::PathBuf> {
    for n in 1.. {
        let dir = parent.join(format!("qemu-{n}"));
        if std::fs::create_dir(&dir).is_ok() {
            return Ok(dir);
        }
        if n > 1000 {
            break;
        }
    }
    Err(QemuError::Host(format!(
        "no free qemu-N directory in {}",
        parent.display()
    )))
}

fn config(scenario: &Scenario, job: &Job) -> Result<Config, CliError> {
    let cfg: Config = scenario.setup_as(job)?;
    if cfg.fail_after_inactivation == Fault::Cancel {
        return Err(unsupported(
            "the `cancel` fault (virsh domjobabort racing the migration) is not replayed for real"
                .into(),
        ));
    }
    if cfg.destination == Destination::Rejects {
        return Err(unsupported(
            "`destination: rejects` (a failure the source learns of only in the Confirm phase) \
             is not replayed for real"
                .into(),
        ));
    }
    if !cfg.storage_agent.is_empty() {
        return Err(unsupported(
            "`storage_agent` actions are replayed only as management ops here".into(),
        ));
    }
    Ok(cfg)
}

/// Replays `trace` (of `scenario`'s `job`) against two real QEMUs and compares the observed end
/// state with the model's prediction. Never returns once a SIGINT/SIGTERM has arrived: the
/// program's handler cleans up and ends the process.
pub fn replay(scenario: &Scenario, job: &Job, trace: &Trace) -> Result<RealOutcome, CliError> {
    crate::real::signals::settle(replay_on_host(scenario, job, trace))
}

fn replay_on_host(scenario: &Scenario, job: &Job, trace: &Trace) -> Result<RealOutcome, CliError> {
    let cfg = config(scenario, job)?;
    let all = scenario
        .replay(job, trace)?
        .map_err(|e| CliError::bad_input(format!("the trace does not replay in the model: {e}")))?;
    let all: BTreeMap<String, String> = all.into_iter().collect();
    let names = observe::compared(&cfg, &all);
    let predicted: BTreeMap<String, String> = all
        .iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let image = GuestImage::locate().map_err(real_error)?;
    let choice = accel::choose(&image);
    // loop devices and /dev entries outlive the process: one handler must clean up all of it
    crate::real::signals::install()
        .map_err(|e| CliError::bad_input(format!("installing the signal handler: {e}")))?;
    let started = Instant::now();
    let storage = HostStorage::create(&cfg.disks).map_err(real_error)?;
    let base = LaunchConfig::new(image.clone(), choice.accel).no_shutdown(true);
    let src_cfg = launch_config(&base, &storage, true, None).map_err(real_error)?;
    let setup = Setup {
        socket_error_attempt: (cfg.fail_after_inactivation == Fault::SocketError)
            .then_some(u32::from(cfg.fault_attempt)),
    };
    let mut runner = steps::Runner::start(storage, setup, &src_cfg, base).map_err(real_error)?;
    let mut env = crate::real::qemu_replay::environment(&image, choice, &mut runner.src);
    env.insert(
        "qemu_binary".into(),
        src_cfg.qemu_binary.display().to_string(),
    );
    env.insert("source_argv".into(), runner.src.qemu.argv().join(" "));
    let mut real_steps = Vec::new();
    for (i, step) in trace.steps.iter().enumerate() {
        real_steps.push(runner.step(i, step).map_err(real_error)?);
    }
    let observed_all = observe::observe(&mut runner, &cfg).map_err(real_error)?;
    let observed: BTreeMap<String, String> = observed_all
        .into_iter()
        .filter(|(k, _)| names.contains(k))
        .collect();
    let agreed = predicted == observed;
    if let Some(d) = &runner.diverged {
        env.insert("diverged".into(), d.clone());
    }
    let stderr = runner.src.qemu.stderr();
    if !stderr.trim().is_empty() {
        env.insert("source_stderr".into(), stderr.trim().to_string());
    }
    if !runner.failures.is_empty() {
        env.insert("failed_migrations".into(), runner.failures.join(" | "));
    }
    if !runner.dst_log.is_empty() {
        env.insert("destinations".into(), runner.dst_log.join(" | "));
    }
    env.insert("not_compared".into(), observe::NOT_COMPARED.into());
    env.insert(
        "replay_seconds".into(),
        format!("{:.1}", started.elapsed().as_secs_f64()),
    );
    Ok(RealOutcome {
        model: scenario.file.model.clone(),
        scenario: scenario.name.clone(),
        variant: job.variant.clone(),
        case: job.case.clone(),
        predicted,
        observed,
        agreed,
        steps: real_steps,
        environment: env,
    })
}

/// The `qemu_migration` variant the QEMU on this machine implements, from its version line
/// (`QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`): 6dab4c93ec and
/// 403d18ae are in 8.1, 8.0.1 and 7.2.3 onwards (Debian bookworm's deb12u1 onwards), the
/// `fail_invalidate` label of fe904ea824 with 1d2acc3162's cancel path from 2.10.
pub fn variant_of_version(line: &str) -> Option<&'static str> {
    let version = line.split("version ").nth(1)?.split_whitespace().next()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let (major, minor, micro) = (
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    );
    let debian_fixed = line
        .split("+deb12u")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n >= 1);
    let fixed = (major, minor) >= (8, 1)
        || ((major, minor) == (8, 0) && micro >= 1)
        || ((major, minor) == (7, 2) && micro >= 3)
        || debian_fixed;
    Some(if fixed {
        "reactivate-on-failure"
    } else if (major, minor) >= (2, 10) {
        "fail-invalidate-label"
    } else {
        "sticky-disable-perm"
    })
}

/// `Some(reason)` when `job`'s variant stands for another QEMU than the one on this machine,
/// so that a real replay of its witnesses checks nothing about the model: its predictions are
/// about that other code. `replay --real` still runs such a trace (and shows where the real
/// QEMU departs from it); `check --real` and `fidelity` skip the job with this reason.
pub fn other_qemu(scenario: &Scenario, job: &Job) -> Result<Option<String>, CliError> {
    let cfg = config(scenario, job)?;
    let binary = LaunchConfig::new_binary();
    let out = std::process::Command::new(&binary)
        .arg("--version")
        .output()
        .map_err(|e| {
            CliError::bad_input(format!(
                "real migration replay: running {} --version: {e} (install qemu-system-x86)",
                binary.display()
            ))
        })?;
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let here = variant_of_version(&line).ok_or_else(|| {
        CliError::bad_input(format!(
            "real migration replay: cannot read QEMU's version from `{line}`"
        ))
    })?;
    let wanted = models::scenario::serde_name(&cfg.qemu_migration);
    Ok((wanted != here).then(|| {
        format!("variant `{wanted}` is another QEMU; this machine's `{line}` is `{here}`")
    }))
}

#[cfg(test)]
mod tests {
    use super::variant_of_version;

    #[test]
    fn versions_map_to_the_failure_path_code_they_carry() {
        let v = |s: &str| variant_of_version(&format!("QEMU emulator version {s}"));
        assert_eq!(
            v("7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"),
            Some("reactivate-on-failure")
        );
        assert_eq!(
            v("7.2.0 (Debian 1:7.2+dfsg-7)"),
            Some("fail-invalidate-label")
        );
        assert_eq!(
            v("7.2.0 (Debian 1:7.2+dfsg-7+deb12u1)"),
            Some("reactivate-on-failure")
        );
        assert_eq!(v("8.0.0"), Some("fail-invalidate-label"));
        assert_eq!(v("8.0.1"), Some("reactivate-on-failure"));
        assert_eq!(v("9.2.0"), Some("reactivate-on-failure"));
        assert_eq!(
            v("6.2.0 (qemu-kvm-6.2.0-11.el9)"),
            Some("fail-invalidate-label")
        );
        assert_eq!(v("2.6.2"), Some("sticky-disable-perm"));
        assert_eq!(variant_of_version("garbage"), None);
    }
}
