//! Carrying out one migration trace step for real. The management program's and libvirt's
//! steps do what they would do (start the destination, `migrate`, `cont`, stop the source,
//! swap a host link, repair QEMU's `/dev`); QEMU's steps wait for the QMP event they stand for
//! (`STOP`, `MIGRATION`, `RESUME`, the monitor's EOF) and check it is the one the model emitted;
//! QEMU-internal steps with no event of their own (`bdrv_inactivate_recurse`) are judged by what
//! follows. The guest's writes are real writes to the virtio disk, issued through the agent.
//! At the first step where the real QEMU does something else, the run has diverged: the rest
//! is not executed and the end state is observed as it is.

use std::time::{Duration, Instant};

use models::migration::{Call, Event, Step};
use models::scenario::serde_name;
use serde_json::json;
use sim::TraceStep;

use super::storage::HostStorage;
use super::Setup;
use crate::real::qemu::{devns, Error, LaunchConfig, Result, Vm};
use crate::real::replay::RealStep;

/// How long one QEMU step may take to show its event (a TCG migration of 256 MiB: 2–6 s).
const EVENT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long an abort may take to show as the monitor's EOF after a guest write returned.
const AFTER_WRITE: Duration = Duration::from_secs(3);
/// How long QMP commands and agent requests may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the guest may take to boot to a working agent.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// A real event of the source QEMU that the model has a counterpart for.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RealEvent {
    /// The model's name for it (`stop`, `migration-failed`, `eof`).
    model: String,
    /// What arrived (`MIGRATION {"status":"failed"}`).
    text: String,
}

/// The replay's state: the source and destination QEMUs and what of the source's event stream
/// QEMU's steps and libvirt's event thread have accounted for.
pub(crate) struct Runner {
    /// The source QEMU.
    pub src: Vm,
    /// The destination QEMU of the current (or last) migration.
    pub dst: Option<Vm>,
    /// The host's storage.
    pub storage: HostStorage,
    setup: Setup,
    /// The source QEMU was stopped by libvirt's Confirm phase (the domain migrated).
    pub src_stopped: bool,
    /// `migrate` commands QEMU accepted.
    pub migrations_started: u32,
    /// The id of the `migrate`, `cont` or `stop` sent and not yet answered.
    pending: Option<u64>,
    /// The source's events with a model counterpart, in arrival order.
    events: Vec<RealEvent>,
    /// How many of `events` QEMU's steps accounted for.
    produced: usize,
    /// How many of `events` libvirt's event thread dispatched.
    dispatched: usize,
    /// Raw QMP events of the source already scanned.
    scanned: usize,
    /// Guest writes that completed, and that QEMU's abort took with it.
    pub writes_ok: u32,
    /// See [`Runner::writes_ok`].
    pub writes_lost: u32,
    /// The first divergence between the trace and the real run.
    pub diverged: Option<String>,
    /// The launch configuration destinations are built from.
    cfg: LaunchConfig,
    /// Every destination's fate, for the report.
    pub dst_log: Vec<String>,
    /// Per failed migration: the source's stderr and its disks' write locks right after.
    pub failures: Vec<String>,
}

fn done(step: &TraceStep, action: impl Into<String>, result: impl Into<String>) -> RealStep {
    RealStep {
        actor: step.actor.clone(),
        label: step.label.clone(),
        action: action.into(),
        result: result.into(),
    }
}

/// The events a QEMU or guest step appended to the model's `events` queue (such steps only
/// append; libvirt's handlers are the ones that remove).
fn appended_events(step: &TraceStep) -> Vec<String> {
    let Some(change) = step.changes.iter().find(|c| c.path == "events") else {
        return Vec::new();
    };
    let before = change.before.as_array().map_or(0, Vec::len);
    change
        .after
        .as_array()
        .and_then(|after| after.get(before..))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

impl Runner {
    /// Starts the source QEMU (`src_cfg`, in its private `/dev`) and waits for its guest's
    /// agent; destinations will be started like `base`.
    pub fn start(
        storage: HostStorage,
        setup: Setup,
        src_cfg: &LaunchConfig,
        base: LaunchConfig,
    ) -> Result<Runner> {
        let mut src = Vm::start(src_cfg)?;
        src.wait_agent(BOOT_TIMEOUT)?;
        let caps = json!({"capabilities": [{"capability": "events", "state": true}]});
        src.qmp
            .execute("migrate-set-capabilities", Some(caps), COMMAND_TIMEOUT)?;
        // the boot's RESUME (the start's `cont`) precedes the trace
        let booted = src.qmp.event_count()?;
        Ok(Runner {
            src,
            dst: None,
            storage,
            setup,
            src_stopped: false,
            migrations_started: 0,
            pending: None,
            events: Vec::new(),
            produced: 0,
            dispatched: 0,
            scanned: booted,
            writes_ok: 0,
            writes_lost: 0,
            diverged: None,
            cfg: base,
            dst_log: Vec::new(),
            failures: Vec::new(),
        })
    }

    /// QEMU's status of the last migration, from its `MIGRATION` events (`none` before any,
    /// `active` while one runs).
    pub fn last_migration_status(&mut self) -> String {
        let _ = self.scan();
        let last = self
            .events
            .iter()
            .rev()
            .find_map(|e| e.model.strip_prefix("migration-"));
        let finished = self
            .events
            .iter()
            .filter(|e| e.model.starts_with("migration-"))
            .count() as u32;
        match last {
            _ if finished < self.migrations_started => "active".into(),
            Some(status) => status.to_string(),
            None => "none".into(),
        }
    }

    /// Moves newly arrived source events with a model counterpart into `events`.
    fn scan(&mut self) -> Result<()> {
        let raw = match self.src.qmp.events() {
            Ok(r) => r.to_vec(),
            Err(Error::Eof { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        for e in raw.iter().skip(self.scanned) {
            let status = e.text("status").unwrap_or("");
            let model = match (e.name.as_str(), status) {
                ("STOP", _) => "stop",
                ("RESUME", _) => "resume",
                ("MIGRATION", "completed") => "migration-completed",
                ("MIGRATION", "failed") => "migration-failed",
                ("MIGRATION", "cancelled") => "migration-cancelled",
                _ => continue,
            };
            let text = if e.data.is_null() {
                e.name.clone()
            } else {
                format!("{} {}", e.name, e.data)
            };
            self.events.push(RealEvent {
                model: model.into(),
                text,
            });
        }
        self.scanned = raw.len();
        let eof_seen = self.events.iter().any(|e| e.model == "eof");
        if !eof_seen && !self.src_stopped && self.src.qmp.eof().is_some() {
            self.events.push(RealEvent {
                model: "eof".into(),
                text: "QMP EOF (QEMU exited)".into(),
            });
        }
        Ok(())
    }

    /// Waits up to `timeout` for the next unaccounted real event and checks it is `want`.
    fn produce(
        &mut self,
        want: &str,
        timeout: Duration,
    ) -> Result<std::result::Result<String, String>> {
        let deadline = Instant::now() + timeout;
        loop {
            self.scan()?;
            if let Some(e) = self.events.get(self.produced).cloned() {
                self.produced += 1;
                return Ok(if e.model == want {
                    Ok(e.text)
                } else {
                    Err(format!("expected {want}, real QEMU emitted {}", e.text))
                });
            }
            if Instant::now() >= deadline {
                return Ok(Err(format!("expected {want}, no event within {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Records, right after a `MIGRATION failed`, what the failure path left: QEMU's stderr
    /// (`bdrv_inactivate_all() failed` names the `fail:` path) and whether each writable disk's
    /// write lock is held again (re-activated) or free (`disable_perm` left set).
    fn note_failure(&mut self) -> Result<()> {
        let pid = self.src.qemu.pid();
        let mut locks = Vec::new();
        for (d, disk) in self.storage.disks.iter().enumerate() {
            if !disk.readonly && self.src.qemu.is_running() {
                let held = devns::write_locked_in(pid, disk.node())?;
                locks.push(format!(
                    "disk{d} write lock {}",
                    if held { "held" } else { "free" }
                ));
            }
        }
        let stderr = self.src.qemu.stderr();
        let last = stderr.lines().last().unwrap_or("(nothing on stderr)");
        self.failures.push(format!(
            "migration {} failed; stderr: {last}; then {}",
            self.migrations_started,
            locks.join(", ")
        ));
        Ok(())
    }

    /// Carries out one trace step; after a divergence, only records it as skipped.
    pub fn step(&mut self, index: usize, step: &TraceStep) -> Result<RealStep> {
        if self.diverged.is_some() {
            return Ok(done(step, "not executed", "the real run diverged earlier"));
        }
        let parsed: Step = match serde_json::from_value(step.action.clone()) {
            Ok(s) => s,
            Err(e) => {
                return Err(Error::Protocol {
                    channel: "trace",
                    msg: format!("step {}: action {}: {e}", index + 1, step.action),
                })
            }
        };
        let out = self.carry_out(step, parsed)?;
        // QEMU's (and the guest's) steps: the events the model emitted must be the next real ones
        if self.diverged.is_none()
            && matches!(
                step.actor.as_str(),
                "qemu-main" | "qemu-migration" | "guest"
            )
        {
            // a guest write has returned (or QEMU died) when carry_out ends: no long wait
            let timeout = if step.actor == "guest" {
                AFTER_WRITE
            } else {
                EVENT_TIMEOUT
            };
            let mut seen = Vec::new();
            for want in appended_events(step) {
                match self.produce(&want, timeout)? {
                    Ok(text) => {
                        if want == "migration-failed" {
                            self.note_failure()?;
                        }
                        seen.push(text)
                    }
                    Err(why) => {
                        self.diverged = Some(format!("step {} `{}`: {why}", index + 1, step.label));
                        return Ok(done(step, out.action, format!("DIVERGED: {why}")));
                    }
                }
            }
            if !seen.is_empty() {
                return Ok(done(
                    step,
                    out.action,
                    format!("{}; events: {}", out.result, seen.join(", ")),
                ));
            }
        }
        Ok(out)
    }

    fn diverge(&mut self, step: &TraceStep, action: String, why: String) -> RealStep {
        self.diverged = Some(format!("`{}`: {why}", step.label));
        done(step, action, format!("DIVERGED: {why}"))
    }

    fn carry_out(&mut self, step: &TraceStep, parsed: Step) -> Result<RealStep> {
        Ok(match parsed {
            Step::Call(Call::Migrate) => done(step, "virsh migrate (call starts)", "waiting"),
            Step::Call(Call::Resume) => done(step, "virsh resume (call starts)", "waiting"),
            Step::Call(Call::Suspend) => done(step, "virsh suspend (call starts)", "waiting"),
            Step::Call(Call::Cont) => done(
                step,
                "virsh qemu-monitor-command cont (call starts)",
                "waiting",
            ),
            Step::RequestWrite(d) => {
                done(step, format!("the guest will write to disk{d}"), "queued")
            }
            Step::Retarget { .. } => {
                let what = self.storage.retarget()?;
                done(step, "retarget the host's links (storage agent)", what)
            }
            Step::FixNamespace { .. } | Step::NamespaceSetupDisk(_) => self.fix_namespace(step)?,
            Step::CallFails => done(
                step,
                "none (libvirt: the domain is not running here)",
                "call fails",
            ),
            Step::MigrationSrcRun => self.migration_src_run(step)?,
            Step::QmpMigrate => self.await_reply(step, "migrate", true)?,
            Step::QmpCont => {
                let ok = super::qmp_reply_ok(step);
                self.await_reply(step, "cont", ok)?
            }
            Step::QmpStop => self.await_reply(step, "stop", true)?,
            Step::WaitForCompletion
            | Step::StartCpusReply
            | Step::StopCpusReply
            | Step::MonitorReply => done(
                step,
                "none (libvirt-internal)",
                "the model's state carries it",
            ),
            Step::ConfirmPhase => self.confirm(step)?,
            Step::RestoreDomainState { cont } | Step::DomainResume { cont } => {
                if cont {
                    self.pending = Some(self.src.qmp.send("cont", None)?);
                    done(step, "QMP cont (qemuProcessStartCPUs)", "sent")
                } else {
                    done(step, "none (libvirt believes the domain runs)", "no cont")
                }
            }
            Step::DomainSuspend { stop } => {
                if stop {
                    self.pending = Some(self.src.qmp.send("stop", None)?);
                    done(step, "QMP stop (qemuProcessStopCPUs)", "sent")
                } else {
                    done(step, "none (libvirt believes the domain paused)", "no stop")
                }
            }
            Step::MonitorCommand => {
                self.pending = Some(self.src.qmp.send("cont", None)?);
                done(
                    step,
                    "QMP cont passed through (qemuDomainQemuMonitorCommand)",
                    "sent",
                )
            }
            Step::HandleEvent(event) => self.dispatch(step, event)?,
            Step::CompletionStop => done(step, "wait: QEMU stops the vCPUs for completion", "ok"),
            Step::Inactivate(d) => done(
                step,
                format!(
                    "none: bdrv_inactivate_recurse disk{d} runs inside QEMU's migration thread"
                ),
                "judged by the steps that follow",
            ),
            Step::CompletionEnd(branch) => done(
                step,
                format!("wait: migration_completion ends ({})", serde_name(&branch)),
                "ok",
            ),
            Step::IterationFinish => done(step, "wait: migration_iteration_finish", "ok"),
            Step::Incoming { accept } => self.incoming(step, accept)?,
            Step::GuestWrite(d) => self.guest_write(step, d)?,
            Step::AbortJob | Step::MigrateFdCancel => {
                return Err(Error::Host(
                    "the `cancel` fault is not replayed for real".into(),
                ))
            }
        })
    }

    fn fix_namespace(&mut self, step: &TraceStep) -> Result<RealStep> {
        if self.src_stopped || !self.src.qemu.is_running() {
            return Ok(done(step, "none: QEMU is gone", "nothing to repair"));
        }
        let paths: Vec<_> = self.storage.disks.iter().map(|d| d.path.clone()).collect();
        let items = devns::setup_paths_in(self.src.qemu.pid(), &paths)?;
        let names: Vec<String> = items.iter().map(|i| i.path.display().to_string()).collect();
        Ok(done(
            step,
            "nsenter -m: recreate the host chains in QEMU's /dev (qemuDomainNamespaceSetupDisk)",
            format!("ensured {}", names.join(", ")),
        ))
    }

    /// libvirt's Prepare on the destination (a QEMU started with `-incoming`, in its own
    /// private /dev built now), then `qemuMigrationSrcRun`'s `migrate`.
    fn migration_src_run(&mut self, step: &TraceStep) -> Result<RealStep> {
        let attempt = self.migrations_started + 1;
        let faulted = self.setup.socket_error_attempt == Some(attempt);
        let sock = self.storage.dir.join(format!("migrate-{attempt}.sock"));
        let dst_cfg = super::launch_config(&self.cfg, &self.storage, !faulted, Some(&sock))?;
        self.dst = None; // the last attempt's destination is done
        self.dst = Some(Vm::start_paused(&dst_cfg)?);
        let caps = json!({"capabilities": [
            {"capability": "events", "state": true},
            {"capability": "return-path", "state": faulted},
        ]});
        self.src
            .qmp
            .execute("migrate-set-capabilities", Some(caps), COMMAND_TIMEOUT)?;
        let uri = format!("unix:{}", sock.display());
        self.pending = Some(self.src.qmp.send("migrate", Some(json!({ "uri": uri })))?);
        let how = if faulted {
            "; fault: the destination lacks virtio-rng, so it rejects the device state sent \
             after bdrv_inactivate_all and the return path reports it (the fail_invalidate \
             label, like a socket error)"
        } else {
            ""
        };
        Ok(done(
            step,
            format!("start the destination (-incoming {uri}); QMP migrate{how}"),
            "sent",
        ))
    }

    fn await_reply(&mut self, step: &TraceStep, command: &str, want_ok: bool) -> Result<RealStep> {
        let Some(id) = self.pending.take() else {
            return Ok(self.diverge(
                step,
                format!("QMP {command} reply"),
                "nothing was sent".into(),
            ));
        };
        let reply = self.src.qmp.wait_reply(id, COMMAND_TIMEOUT);
        let (ok, text) = match reply {
            Ok(_) => (true, "ok".to_string()),
            Err(Error::Qmp { class, desc, .. }) => (false, format!("error {class}: {desc}")),
            Err(e) => return Err(e),
        };
        if command == "migrate" && ok {
            self.migrations_started += 1;
        }
        if ok != want_ok {
            let why = format!("the model's {command} returned ok={want_ok}, real: {text}");
            return Ok(self.diverge(step, format!("QMP {command} reply"), why));
        }
        Ok(done(step, format!("QMP {command} reply"), text))
    }

    /// libvirt's event thread handles the oldest event: it must be the next real one.
    fn dispatch(&mut self, step: &TraceStep, event: Event) -> Result<RealStep> {
        let want = serde_name(&event);
        let want = want.as_str();
        let action = format!("libvirt handles {want}");
        let Some(e) = self.events.get(self.dispatched).cloned() else {
            let why = format!("libvirt would handle {want}, but no such real event is pending");
            return Ok(self.diverge(step, action, why));
        };
        self.dispatched += 1;
        if e.model != want {
            let why = format!("libvirt would handle {want}, the real event is {}", e.text);
            return Ok(self.diverge(step, action, why));
        }
        Ok(done(step, action, e.text))
    }

    /// `qemuMigrationSrcConfirmPhase`: the destination's Finish succeeded, so libvirt resumes
    /// it there and stops the source (`qemuProcessStop` → SIGTERM).
    fn confirm(&mut self, step: &TraceStep) -> Result<RealStep> {
        let Some(dst) = self.dst.as_mut() else {
            return Ok(self.diverge(step, "confirm".into(), "no destination".into()));
        };
        dst.qmp.execute("cont", None, COMMAND_TIMEOUT)?;
        let dst_state = dst.status()?;
        self.src.qemu.signal(libc::SIGTERM)?;
        self.src_stopped = true;
        self.src.qemu.wait_exit(COMMAND_TIMEOUT)?;
        Ok(done(
            step,
            "destination: QMP cont (Finish); source: SIGTERM (qemuProcessStop)",
            format!("destination {dst_state}; source exited"),
        ))
    }

    /// The destination's `process_incoming_migration_co`: loaded (paused, awaiting Finish) or
    /// failed (QEMU exits with "load of migration failed").
    fn incoming(&mut self, step: &TraceStep, accept: bool) -> Result<RealStep> {
        let Some(dst) = self.dst.as_mut() else {
            return Ok(self.diverge(step, "incoming".into(), "no destination".into()));
        };
        let deadline = Instant::now() + EVENT_TIMEOUT;
        let real = loop {
            if !dst.qemu.is_running() {
                break format!("rejected: {}", dst.qemu.stderr().trim());
            }
            match dst.status() {
                Ok(s) if s != "inmigrate" => break s,
                Ok(_) => {}
                Err(_) if !dst.qemu.is_running() => continue,
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                break "still inmigrate".into();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.dst_log.push(real.clone());
        let accepted = real == "paused";
        if accepted != accept {
            let why = format!("the model's destination accepts={accept}, real: {real}");
            return Ok(self.diverge(step, "destination loads the stream".into(), why));
        }
        Ok(done(step, "destination loads the stream", real))
    }

    /// A real guest write to disk `d` (`dd … conv=fsync` through the agent's `guest-exec`) on
    /// whichever QEMU runs the guest; if that QEMU aborts, the write is lost.
    fn guest_write(&mut self, step: &TraceStep, d: u8) -> Result<RealStep> {
        let vm = if self.src_stopped {
            match self.dst.as_mut() {
                Some(v) => v,
                None => {
                    return Ok(self.diverge(step, "guest write".into(), "no destination".into()))
                }
            }
        } else {
            &mut self.src
        };
        let script = format!(
            "for b in /sys/block/vd*; do [ \"$(cat $b/serial)\" = disk{d} ] && \
             exec dd if=/dev/urandom of=/dev/${{b##*/}} bs=4096 count=1 conv=fsync 2>&1; done; \
             echo no disk{d}; exit 9"
        );
        let action = format!("guest: dd to disk{d} with fsync (guest-exec)");
        let args = json!({"path": "/bin/sh", "arg": ["-c", script], "capture-output": true});
        let pid = match vm.agent.execute("guest-exec", Some(args), COMMAND_TIMEOUT) {
            Ok(v) => v["pid"].as_i64().unwrap_or(-1),
            Err(e) if !vm.qemu.is_running() => {
                self.writes_lost += 1;
                return Ok(done(step, action, format!("QEMU exited: {e}")));
            }
            Err(e) => return Err(e),
        };
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let status = vm.agent.execute(
                "guest-exec-status",
                Some(json!({ "pid": pid })),
                COMMAND_TIMEOUT,
            );
            match status {
                Ok(v) if v["exited"].as_bool() == Some(true) => {
                    let code = v["exitcode"].as_i64().unwrap_or(-1);
                    if code == 0 {
                        self.writes_ok += 1;
                        return Ok(done(step, action, "written"));
                    }
                    return Err(Error::Host(format!(
                        "the guest's write to disk{d} failed ({code}); guest-exec-status: {v}"
                    )));
                }
                Ok(_) => {}
                Err(_) if !vm.qemu.is_running() || vm.qmp.eof().is_some() => {
                    self.writes_lost += 1;
                    let stderr = vm.qemu.stderr();
                    let last = stderr.lines().last().unwrap_or("").to_string();
                    return Ok(done(step, action, format!("QEMU aborted: {last}")));
                }
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("the guest's write to disk{d}"),
                    timeout: COMMAND_TIMEOUT,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use sim::trace::Change;

    fn step_with(before: Value, after: Value) -> TraceStep {
        TraceStep {
            actor: "qemu-migration".into(),
            label: "x".into(),
            upstream: None,
            action: json!("iteration-finish"),
            changes: vec![Change {
                path: "events".into(),
                before,
                after,
            }],
            fingerprint: String::new(),
        }
    }

    #[test]
    fn appended_events_are_the_new_tail() {
        let s = step_with(json!(["stop"]), json!(["stop", "migration-failed"]));
        assert_eq!(appended_events(&s), vec!["migration-failed"]);
        let s = step_with(json!([]), json!(["resume"]));
        assert_eq!(appended_events(&s), vec!["resume"]);
        // a handler that only removed the head appended nothing
        let s = step_with(json!(["stop", "resume"]), json!(["resume"]));
        assert!(appended_events(&s).is_empty());
    }
}
