//! Real-QEMU replay of a lifecycle trace (seeds 000 and 002): vmrace's own
//! libvirt model plays libvirt, and each trace step is carried out against a
//! real QEMU and a real guest. libvirt's steps become the QMP commands,
//! agent requests and signals libvirt would send; QEMU's steps are waited for
//! as the real QMP events (or process exit) they stand for; the guest's steps
//! are imposed through the guest's schedule-control port (`GO <point>` in the
//! trace's order). The observed end state is mapped to the model's
//! observations and compared with the trace's prediction.
//!
//! Supported: the lifecycle model with one domain (seeds 000, 001, 002);
//! seed 001's agent error is a real reset of the agent connection (see the
//! `stop-services` and `agent-event` steps), and its `start` launches a second
//! QEMU. Not supported (an error says why): other faults, several domains.
//! Migration traces (seed 003) are replayed by
//! [`migration_replay`](crate::real::migration_replay).

mod events;
mod observe;
mod steps;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{CliError, EXIT_BAD_INPUT};
use crate::real::qemu::{accel, Error as QemuError, GuestImage, LaunchConfig, Vm};
use crate::real::replay::RealOutcome;
use crate::scenario::{Job, Scenario};
use sim::Trace;

/// Observation names (after the domain prefix) the replay can observe for real.
pub const OBSERVABLE: &[&str] = &[
    "result",
    "acted",
    "killed",
    "fs",
    "qemu",
    "boots",
    "agent_connected",
];
/// The ones always compared; `qemu` only when the scenario observes it (a
/// witness may end while libvirt's SIGTERM is still in flight in the model),
/// `agent_connected` only when it observes an `agent_*` name (a reboot
/// witness may end before libvirt handled the agent's VSERPORT_CHANGE).
const ALWAYS: &[&str] = &["result", "acted", "killed", "fs", "boots"];

/// How long the guest may take to boot to a working agent (TCG: 2–4 s).
const BOOT_TIMEOUT: Duration = Duration::from_secs(40);

/// What the scenario's setup says about the one domain.
#[derive(Clone, Debug)]
pub(crate) struct DomainSetup {
    /// Its name (`A`).
    pub name: String,
    /// Managed by libvirt (false: a bare QEMU under a supervisor).
    pub managed: bool,
    /// `-no-shutdown`.
    pub no_shutdown: bool,
    /// The guest ignores the ACPI power button.
    pub ignore_acpi: bool,
    /// Under the scenario's signal variant SIGTERM becomes a powerdown (a proposal; real
    /// QEMU has none, so the harness realises it).
    pub graceful_sigterm: bool,
    /// That powerdown goes through proposal 3's script.
    pub script: bool,
    /// The supervisor stops QEMU with SIGHUP.
    pub sighup: bool,
    /// SIGHUP means `system_reset` (proposal 2).
    pub sighup_resets: bool,
    /// The scenario injects an agent error (made real as a reset agent connection).
    pub agent_error: bool,
}

fn real_error(e: QemuError) -> CliError {
    CliError {
        code: EXIT_BAD_INPUT,
        message: format!("real QEMU replay: {e}"),
    }
}

fn unsupported(what: String) -> CliError {
    CliError::bad_input(format!("real QEMU replay: {what}"))
}

fn domain_setup(setup: &Value) -> Result<DomainSetup, CliError> {
    let domains = setup
        .get("domains")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if domains.len() != 1 {
        return Err(unsupported(format!(
            "the scenario has {} domains; the real replay drives exactly one QEMU",
            domains.len()
        )));
    }
    let d = &domains[0];
    let flag = |k: &str| d.get(k).and_then(Value::as_bool).unwrap_or(true);
    let text =
        |v: Option<&Value>, default: &str| v.and_then(Value::as_str).unwrap_or(default).to_string();
    let faults: Vec<String> = d
        .get("faults")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    if let Some(f) = faults.iter().find(|f| *f != "agent-error") {
        return Err(unsupported(format!("fault `{f}` is not replayed for real")));
    }
    if text(d.get("agent"), "connected") == "starting" {
        return Err(unsupported(
            "`agent: starting` is not replayed for real".into(),
        ));
    }
    if text(d.get("firmware"), "qboot") != "qboot" {
        return Err(unsupported(
            "the real replay boots qboot (one RESET per reset); SeaBIOS's 2-40 RESETs cannot \
             follow a trace's single firmware reset"
                .into(),
        ));
    }
    let variant = text(setup.get("qemu_sigterm"), "sigterm-poweroff");
    let switch = d.get("graceful_switch").and_then(Value::as_bool) == Some(true);
    let signal = setup.get("supervisor").and_then(|s| s.get("signal"));
    Ok(DomainSetup {
        name: text(d.get("name"), "A"),
        managed: flag("libvirt"),
        no_shutdown: flag("no_shutdown"),
        ignore_acpi: text(d.get("acpi"), "honour") == "ignore",
        graceful_sigterm: match variant.as_str() {
            "sigterm-poweroff" => false,
            "p1-switch" => switch,
            _ => true,
        },
        script: variant == "p3-script",
        sighup: text(signal, "SIGTERM") == "SIGHUP",
        sighup_resets: variant == "p2-signal-map",
        agent_error: !faults.is_empty(),
    })
}

/// `Some(reason)` when the real replay cannot drive `job`'s setup (known when the scenario
/// loads, before any QEMU starts).
pub fn not_replayable(scenario: &Scenario, job: &Job) -> Result<Option<String>, CliError> {
    let setup: Value = scenario.setup_as(job)?;
    Ok(domain_setup(&setup).err().map(|e| e.message))
}

/// The compared observation names for the one domain: the always-compared
/// ones plus those of the scenario's `observe:` list that are [`OBSERVABLE`].
fn compared(scenario: &Scenario, dom: &str) -> Vec<String> {
    let mut names: Vec<String> = ALWAYS.iter().map(|n| format!("{dom}.{n}")).collect();
    for o in &scenario.file.observe {
        if !names.contains(o) && OBSERVABLE.iter().any(|n| *o == format!("{dom}.{n}")) {
            names.push(o.clone());
        }
    }
    if scenario
        .file
        .observe
        .iter()
        .any(|o| o.starts_with(&format!("{dom}.agent")))
    {
        names.push(format!("{dom}.agent_connected"));
    }
    names.sort();
    names
}

pub(crate) fn environment(
    image: &GuestImage,
    choice: &accel::AccelChoice,
    vm: &mut Vm,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("accelerator".into(), choice.accel.name().to_string());
    env.insert("accelerator_reason".into(), choice.reason.clone());
    let version = vm
        .qmp
        .execute("query-version", None, Duration::from_secs(5))
        .ok()
        .map(|v| {
            let q = &v["qemu"];
            format!(
                "{}.{}.{}{}",
                q["major"],
                q["minor"],
                q["micro"],
                v["package"]
                    .as_str()
                    .map(|p| format!(" ({})", p.trim()))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "unknown".into());
    env.insert("qemu_version".into(), version);
    env.insert("qemu_binary".into(), vm.qemu.argv()[0].clone());
    let m = &image.manifest;
    env.insert("guest_image".into(), m.key.clone());
    env.insert("guest_kernel_release".into(), m.kernel_release.clone());
    for p in &m.packages {
        env.insert(
            format!("guest_package.{}", p.name),
            format!("{} (deb sha256 {})", p.version, p.sha256),
        );
    }
    for p in &m.host_packages {
        env.insert(format!("guest_host_package.{}", p.name), p.version.clone());
    }
    env.insert("guest_vmlinux_sha256".into(), m.vmlinux.sha256.clone());
    env.insert("guest_initramfs_sha256".into(), m.initramfs.sha256.clone());
    env.insert("guest_files_sha256".into(), m.guest_files_sha256.clone());
    env
}

/// Replays `trace` (of `scenario`'s `job`) against a real QEMU and guest, and
/// compares the observed end state with the model's prediction.
pub fn replay(scenario: &Scenario, job: &Job, trace: &Trace) -> Result<RealOutcome, CliError> {
    if scenario.file.model != "lifecycle" {
        return Err(unsupported(format!(
            "model `{}` is not supported here; this replay covers the lifecycle model \
             (seeds 000-002), `real::replay::replay_real` dispatches the others",
            scenario.file.model
        )));
    }
    let setup: Value = scenario.setup_as(job)?;
    let dom = domain_setup(&setup)?;
    let all = scenario
        .replay(job, trace)?
        .map_err(|e| CliError::bad_input(format!("the trace does not replay in the model: {e}")))?;
    let names = compared(scenario, &dom.name);
    let not_compared: Vec<String> = all
        .iter()
        .filter(|(k, _)| scenario.file.observe.contains(k) && !names.contains(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let predicted: BTreeMap<String, String> =
        all.into_iter().filter(|(k, _)| names.contains(k)).collect();

    let image = GuestImage::locate().map_err(real_error)?;
    let choice = accel::choose(&image);
    let mut cfg = LaunchConfig::new(image.clone(), choice.accel)
        .no_shutdown(dom.no_shutdown)
        .knob("sched", "1");
    if dom.ignore_acpi {
        cfg = cfg.knob("ignore_acpi", "1");
    }
    let mut vm = Vm::start(&cfg).map_err(real_error)?;
    let mut env = environment(&image, choice, &mut vm);
    let booted = Instant::now();
    vm.wait_agent(BOOT_TIMEOUT).map_err(real_error)?;
    env.insert(
        "boot_to_agent_ms".into(),
        booted.elapsed().as_millis().to_string(),
    );
    let mut runner = steps::Runner::new(vm, dom.clone(), cfg).map_err(real_error)?;
    let mut real_steps = Vec::new();
    for step in &trace.steps {
        real_steps.push(runner.step(step).map_err(real_error)?);
    }
    let observed_all = observe::observe(&mut runner).map_err(real_error)?;
    let observed: BTreeMap<String, String> = observed_all
        .into_iter()
        .filter(|(k, _)| names.contains(k))
        .collect();
    let agreed = predicted == observed;
    for (i, order) in runner.event_orders().into_iter().enumerate() {
        env.insert(format!("events.qemu{}", i + 1), order);
    }
    if !not_compared.is_empty() {
        env.insert(
            "not_compared".into(),
            format!(
                "{} (libvirt-internal: no real counterpart; predicted values)",
                not_compared.join(", ")
            ),
        );
    }
    if dom.agent_error {
        env.insert(
            "agent_error_injection".into(),
            "real: once the guest closed the agent port, libvirt's side writes \
             guest-sync-delimited, which QEMU leaves unread; QEMU exits with it in its socket \
             buffer and the kernel resets the connection, so the host's read fails \
             (ECONNRESET: qemuAgentIO's error path, qemuProcessHandleAgentError), then EOF"
                .into(),
        );
    }
    env.insert(
        "replay_seconds".into(),
        format!("{:.1}", booted.elapsed().as_secs_f64()),
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
