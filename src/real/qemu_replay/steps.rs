//! Carrying out one lifecycle trace step for real. libvirt's steps (API
//! threads, event thread, fake-reboot thread) send what libvirt would send;
//! QEMU's steps wait for the QMP event or exit they stand for; guest steps
//! release the guest's scheduling points in the trace's order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sim::TraceStep;

use super::events::{appended, appended_events, change, describe, hellos, kind, matches, order};
use super::DomainSetup;
use crate::real::qemu::control::ControlMsg;
use crate::real::qemu::{LaunchConfig, QmpEvent, Result, ShutdownMode, Vm};
use crate::real::replay::RealStep;

/// How long a QEMU step may take to show its event.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a guest actor may take to reach its scheduling point.
const POINT_TIMEOUT: Duration = Duration::from_secs(15);
/// QEMU's VSERPORT_CHANGE throttle window (plus a margin).
const THROTTLE: Duration = Duration::from_millis(1050);

/// The replay state: the VM and what of its event stream is accounted for.
pub(crate) struct Runner {
    /// The VM.
    pub vm: Vm,
    /// The domain's setup.
    pub dom: DomainSetup,
    /// QMP events a QEMU step accounted for.
    matched: BTreeSet<usize>,
    /// QMP events libvirt's event thread dispatched.
    dispatched: BTreeSet<usize>,
    /// Commands sent but not yet dispatched by QEMU's step: name → ids.
    pending: BTreeMap<String, VecDeque<u64>>,
    /// Control-message index of the current boot's HELLO.
    boot_mark: usize,
    /// Per point: the control index of its last WAIT used.
    used: BTreeMap<String, usize>,
    /// libvirt's event thread decided to kill QEMU (qemuProcessKill).
    pub killed: bool,
    /// When the last VSERPORT_CHANGE arrived.
    last_vserport: Option<Instant>,
    /// How QEMU is started (again, for a `start`).
    cfg: LaunchConfig,
    /// HELLOs (guest boots) of earlier QEMUs of this replay.
    pub prior_hellos: usize,
    /// The event order of earlier QEMUs of this replay.
    orders: Vec<String>,
    /// The id of libvirt's `guest-sync` waiting for its reply.
    sync_id: Option<u64>,
}

fn done(step: &TraceStep, action: impl Into<String>, result: impl Into<String>) -> RealStep {
    RealStep {
        actor: step.actor.clone(),
        label: step.label.clone(),
        action: action.into(),
        result: result.into(),
    }
}

fn internal(step: &TraceStep) -> RealStep {
    done(
        step,
        "none",
        "libvirt-internal (locks, flags, jobs): no QMP or agent traffic; the model's state carries it",
    )
}

impl Runner {
    /// Takes over a VM whose agent already answers: waits until the boot's
    /// VSERPORT_CHANGE(open) arrived and its throttle window ended (the
    /// model starts unthrottled).
    pub fn new(vm: Vm, dom: DomainSetup, cfg: LaunchConfig) -> Result<Runner> {
        let mut r = Runner {
            vm,
            dom,
            matched: BTreeSet::new(),
            dispatched: BTreeSet::new(),
            pending: BTreeMap::new(),
            boot_mark: 0,
            used: BTreeMap::new(),
            killed: false,
            last_vserport: None,
            cfg,
            prior_hellos: 0,
            orders: Vec::new(),
            sync_id: None,
        };
        let open = json!({"VSERPORT_CHANGE": {"open": true}});
        if let Some((i, _)) = r.await_event(&open, true, EVENT_TIMEOUT)? {
            r.dispatched.insert(i);
        }
        r.settle_throttle();
        r.boot_mark = r.last_hello();
        Ok(r)
    }

    fn last_hello(&self) -> usize {
        self.vm
            .control
            .messages()
            .iter()
            .rposition(|m| matches!(m.msg, ControlMsg::Hello { .. }))
            .unwrap_or(0)
    }

    fn settle_throttle(&mut self) {
        if let Some(t) = self.last_vserport {
            let until = t + THROTTLE;
            let now = Instant::now();
            if until > now {
                thread::sleep(until - now);
            }
        }
    }

    /// Waits for the first real event matching `model` not yet counted in the
    /// producer (`producer`) or dispatch set; marks it there.
    fn await_event(
        &mut self,
        model: &Value,
        producer: bool,
        timeout: Duration,
    ) -> Result<Option<(usize, QmpEvent)>> {
        let deadline = Instant::now() + timeout;
        let mut after_eof = false;
        loop {
            let set = if producer {
                &self.matched
            } else {
                &self.dispatched
            };
            let found = self
                .vm
                .qmp
                .events()?
                .iter()
                .enumerate()
                .find(|(i, e)| !set.contains(i) && matches(model, e))
                .map(|(i, e)| (i, e.clone()));
            if let Some((i, e)) = found {
                if producer {
                    self.matched.insert(i);
                } else {
                    self.dispatched.insert(i);
                }
                if e.name == "VSERPORT_CHANGE" {
                    self.last_vserport = Some(e.received.mono);
                }
                return Ok(Some((i, e)));
            }
            if after_eof || Instant::now() >= deadline {
                return Ok(None);
            }
            // After QMP's EOF everything QEMU sent is in: one more look.
            after_eof = self.vm.qmp.eof().is_some();
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_for(&mut self, model: Value) -> Result<String> {
        Ok(match self.await_event(&model, true, EVENT_TIMEOUT)? {
            Some((_, e)) => format!("observed {}", describe(&e)),
            None => format!(
                "NOT observed: {model} (within {} s)",
                EVENT_TIMEOUT.as_secs()
            ),
        })
    }

    fn wait_exit(&mut self) -> String {
        match self.vm.qemu.wait_exit(EVENT_TIMEOUT) {
            Ok(s) => format!("QEMU exited ({s})"),
            Err(e) => format!("QEMU did NOT exit: {e}"),
        }
    }

    fn sigterm(&mut self) -> Result<()> {
        self.vm.qemu.signal(libc::SIGTERM)
    }

    /// Sends a QMP command without waiting (its reply is awaited at QEMU's step).
    fn send(&mut self, command: &str) -> Result<()> {
        let id = self.vm.qmp.send(command, None)?;
        self.pending
            .entry(command.to_string())
            .or_default()
            .push_back(id);
        Ok(())
    }

    /// Carries out one trace step.
    pub fn step(&mut self, step: &TraceStep) -> Result<RealStep> {
        let (kind, payload) = kind(step);
        Ok(match kind.as_str() {
            "api-entry"
            | "wait-done"
            | "agent-shutdown-return"
            | "destroy-stop"
            | "worker-notify-close"
            | "worker-run"
            | "fake-reboot-done" => internal(step),
            "agent-shutdown-timeout" | "agent-sync-timeout" => {
                self.sync_id = None;
                done(
                    step,
                    "none",
                    "libvirt's agent wait times out: nothing is sent (no real counterpart needed)",
                )
            }
            "monitor-return" | "monitor-reply" => done(
                step,
                "none",
                "the QMP reply was read at QEMU's dispatch step",
            ),
            "agent-call" => self.agent_call(step)?,
            "ga-sync" => self.agent_sync_reply(step)?,
            "start-launch" => self.start(step)?,
            "monitor-send" | "fake-reboot-reset" | "fake-reboot-cont" | "start-cpus" => {
                match appended(step, ".qemu.commands").first() {
                    Some(c) => {
                        let cmd = c[0].as_str().unwrap_or_default().to_string();
                        self.send(&cmd)?;
                        done(step, format!("QMP {cmd}"), "sent")
                    }
                    None => done(
                        step,
                        "none",
                        "the model's libvirt sends nothing here (domain not running / QEMU gone)",
                    ),
                }
            }
            "destroy-begin" => {
                // The API's kill, not the event thread's qemuProcessShutdownOrReboot: `killed`
                // (which counts only the latter) is left to the SHUTDOWN it may cause.
                if self.dom.graceful_sigterm {
                    done(
                        step,
                        "none: the SIGTERM meets the proposal's handler (realised at QEMU's SIGTERM step)",
                        "deferred",
                    )
                } else if change(step, ".qemu.sigterm").is_some() && self.vm.qemu.is_running() {
                    self.sigterm()?;
                    done(step, "SIGTERM to QEMU (qemuProcessKill)", "sent")
                } else {
                    done(step, "none", "QEMU already exited")
                }
            }
            "destroy-sigkill" => {
                if change(step, ".qemu.run").is_some() {
                    self.vm.qemu.signal(libc::SIGKILL)?;
                    let r = self.wait_exit();
                    done(step, "SIGKILL to QEMU (virProcessKillPainfully)", r)
                } else {
                    done(step, "none", "a graceful destroy gives up without SIGKILL")
                }
            }
            "monitor-event" => self.dispatch(step, &payload)?,
            "agent-event" => match payload.as_str() {
                Some("eof") => {
                    let eof = self.wait_agent_eof();
                    done(step, "none (read the agent socket)", eof)
                }
                _ => {
                    let r = self.wait_agent_read_error();
                    done(
                        step,
                        "none (read the agent socket: qemuAgentIO's read fails)",
                        r,
                    )
                }
            },
            "qmp" => self.qemu_command(step, payload.as_str().unwrap_or_default())?,
            "system-reset" => {
                let want = appended_events(step)
                    .into_iter()
                    .find(|e| e.get("RESET").is_some())
                    .unwrap_or_else(|| json!("RESET"));
                let r = self.wait_for(want)?;
                done(step, "wait for RESET", r)
            }
            "system-shutdown" => {
                let mut r = self.wait_for(json!({"SHUTDOWN": {"guest": true}}))?;
                if self.dom.no_shutdown {
                    r = format!("{r}; {}", self.wait_for(json!("STOP"))?);
                } else {
                    r = format!("{r}; {}", self.wait_exit());
                }
                done(step, "wait for SHUTDOWN", r)
            }
            "firmware-reset" => {
                let r = self.wait_for(json!({"RESET": {"guest": true}}))?;
                done(step, "wait for the firmware's RESET", r)
            }
            "sighup" if self.dom.sighup_resets => {
                self.send("system_reset")?;
                done(
                    step,
                    "QMP system_reset (the harness realises proposal 2's SIGHUP map; QEMU 7.2 has none)",
                    "sent",
                )
            }
            "sighup" => self.host_signal_exit(step)?,
            "signal-script" => {
                if payload.get("ok").and_then(Value::as_bool) == Some(true) {
                    self.send("system_powerdown")?;
                    let r = self.wait_for(json!("POWERDOWN"))?;
                    done(
                        step,
                        "QMP system_powerdown (the harness realises proposal 3's script)",
                        r,
                    )
                } else {
                    done(step, "none", "the proposal's script fails: nothing is sent")
                }
            }
            "sigterm" if self.dom.graceful_sigterm && self.dom.script => done(
                step,
                "none",
                "the proposal spawns its script (realised at the script's step)",
            ),
            "sigterm" => {
                if !self.dom.graceful_sigterm {
                    self.host_signal_exit(step)?
                } else {
                    self.send("system_powerdown")?;
                    let r = self.wait_for(json!("POWERDOWN"))?;
                    done(
                        step,
                        "QMP system_powerdown (the harness realises the proposal's SIGTERM handler; QEMU 7.2 has none)",
                        r,
                    )
                }
            }
            "sigterm-timeout" => {
                self.sigterm()?;
                let r = self.wait_for(json!({"SHUTDOWN": {"guest": false}}))?;
                let x = self.wait_exit();
                done(
                    step,
                    "SIGTERM to QEMU (the harness realises the proposal's timeout)",
                    format!("{r}; {x}"),
                )
            }
            "throttle-expire" => {
                if change(step, ".qemu.throttle_pending").is_some_and(|(b, _)| !b.is_null()) {
                    done(step, "none", "QEMU releases the held VSERPORT_CHANGE (matched when libvirt dispatches it)")
                } else {
                    self.settle_throttle();
                    done(
                        step,
                        "wait 1 s after the last VSERPORT_CHANGE",
                        "throttle window over",
                    )
                }
            }
            "guest-boot" => {
                let t = Instant::now();
                self.vm.wait_agent(super::BOOT_TIMEOUT)?;
                self.boot_mark = self.last_hello();
                done(
                    step,
                    "wait for the guest agent",
                    format!("agent answers after {} ms", t.elapsed().as_millis()),
                )
            }
            "power-button" => self.guest_request(step, "pwrbtn")?,
            "ga-shutdown" => self.guest_request(step, "ga")?,
            "stop-services" => {
                let r = self.wait_port_closed()?;
                if self.dom.agent_error && self.vm.qemu.is_running() {
                    // the agent error, made real: a request QEMU will not read while the port is
                    // closed; when QEMU exits with it unread, the kernel resets the connection
                    self.vm.agent.send_unanswered()?;
                    done(
                        step,
                        "none (the guest's shutdown job stops qemu-ga); libvirt writes guest-sync-delimited",
                        format!("{r}; request left unread in QEMU's socket buffer"),
                    )
                } else {
                    done(step, "none (the guest's shutdown job stops qemu-ga)", r)
                }
            }
            "guest-halt" => {
                let r = match self.vm.console.wait_line(
                    self.boot_line(),
                    EVENT_TIMEOUT,
                    "fs: synced",
                    |l| l.contains("fs: synced"),
                ) {
                    Ok((_, l)) => format!("console: {}", l.text.trim()),
                    Err(e) => format!("NOT observed: fs: synced ({e})"),
                };
                done(step, "none (the guest syncs and halts)", r)
            }
            "supervisor-term" => {
                if self.dom.sighup && !self.dom.sighup_resets {
                    self.vm.qemu.signal(libc::SIGHUP)?;
                    done(step, "SIGHUP to QEMU", "sent")
                } else if !self.dom.sighup && !self.dom.graceful_sigterm {
                    self.sigterm()?;
                    done(step, "SIGTERM to QEMU", "sent")
                } else {
                    done(
                        step,
                        "none",
                        "delivered to the proposal's SIGTERM handler, realised at QEMU's sigterm step",
                    )
                }
            }
            "supervisor-kill" => {
                self.vm.qemu.signal(libc::SIGKILL)?;
                let r = self.wait_exit();
                done(step, "SIGKILL to QEMU", r)
            }
            other => done(
                step,
                "none",
                format!("NO real counterpart for model step `{other}`"),
            ),
        })
    }

    /// `qemuProcessStart`: a new QEMU, paused (`-S`), all channels connected.
    fn start(&mut self, step: &TraceStep) -> Result<RealStep> {
        if change(step, ".qemu.instance").is_none() {
            return Ok(done(
                step,
                "none",
                "the model's libvirt refuses: the domain is running",
            ));
        }
        let vm = Vm::start_paused(&self.cfg)?;
        let old = std::mem::replace(&mut self.vm, vm);
        self.retire(old);
        Ok(done(
            step,
            "start a new QEMU with -S, connect QMP/agent/console/control",
            "started",
        ))
    }

    /// Records the event order of a QEMU this replay is done with.
    fn retire(&mut self, mut old: Vm) {
        self.orders.push(order(&mut old));
        self.prior_hellos += hellos(&old);
        self.matched.clear();
        self.dispatched.clear();
        self.pending.clear();
        self.used.clear();
        self.boot_mark = 0;
        self.last_vserport = None;
    }

    /// The event order of every QEMU of this replay, oldest first.
    pub fn event_orders(&mut self) -> Vec<String> {
        let mut all = self.orders.clone();
        all.push(order(&mut self.vm));
        all
    }

    /// Real QEMU's handler of a host signal: SHUTDOWN(host-signal), then the process exits.
    fn host_signal_exit(&mut self, step: &TraceStep) -> Result<RealStep> {
        let r = self.wait_for(json!({"SHUTDOWN": {"guest": false}}))?;
        let x = self.wait_exit();
        Ok(done(
            step,
            "wait for SHUTDOWN(host-signal) and exit",
            format!("{r}; {x}"),
        ))
    }

    /// `qemuAgentGuestSync`: libvirt writes `guest-sync` (into the guest, or left in QEMU's
    /// socket buffer while the port is closed).
    fn agent_call(&mut self, step: &TraceStep) -> Result<RealStep> {
        let into_guest = appended(step, ".guest.inbox").contains(&json!("sync"));
        let buffered = change(step, ".qemu.sync_backlog").is_some();
        if !into_guest && !buffered {
            return Ok(done(
                step,
                "none",
                "the model's libvirt finds no usable agent: the call fails or falls back",
            ));
        }
        self.sync_id = Some(self.vm.agent.send_sync()?);
        let r = if buffered {
            "written while the port is closed (stays in QEMU's socket buffer)"
        } else {
            "written"
        };
        Ok(done(step, "agent guest-sync", r))
    }

    /// qemu-ga answers the sync; if libvirt still waits for it, libvirt writes
    /// `guest-shutdown` at once.
    fn agent_sync_reply(&mut self, step: &TraceStep) -> Result<RealStep> {
        let reply = match self.sync_id {
            Some(id) => match self.vm.agent.wait_sync(id, EVENT_TIMEOUT) {
                Ok(()) => "guest-sync answered".to_string(),
                Err(e) => format!("NOT observed: the guest-sync reply ({e})"),
            },
            None => "a stale guest-sync answered (libvirt no longer waits)".to_string(),
        };
        let request = appended(step, ".guest.inbox")
            .into_iter()
            .find(|r| r == "reboot" || r == "powerdown");
        let Some(req) = request else {
            return Ok(done(step, "none (read the agent socket)", reply));
        };
        self.sync_id = None;
        let mode = if req == "reboot" {
            ShutdownMode::Reboot
        } else {
            ShutdownMode::Powerdown
        };
        self.vm.agent.shutdown(mode)?;
        Ok(done(
            step,
            format!("agent guest-shutdown mode={}", mode.name()),
            format!("{reply}; written (no reply on success)"),
        ))
    }

    /// libvirt's event thread dispatches `event`: the real event must have
    /// arrived; SHUTDOWN may make libvirt kill QEMU.
    fn dispatch(&mut self, step: &TraceStep, event: &Value) -> Result<RealStep> {
        let seen = if event == "MONITOR_EOF" {
            let deadline = Instant::now() + EVENT_TIMEOUT;
            while self.vm.qmp.eof().is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if self.vm.qmp.eof().is_some() {
                "QMP socket EOF".to_string()
            } else {
                "NOT observed: QMP socket EOF".to_string()
            }
        } else {
            match self.await_event(event, false, EVENT_TIMEOUT)? {
                Some((_, e)) => format!("received {}", describe(&e)),
                None => format!("NOT received: {event}"),
            }
        };
        if change(step, ".qemu.sigterm").is_some_and(|(_, a)| a == true) {
            if self.dom.graceful_sigterm {
                self.killed = true;
                return Ok(done(
                    step,
                    "none: libvirt's SIGTERM meets the proposal's handler (realised at QEMU's SIGTERM step)",
                    seen,
                ));
            }
            if self.vm.qemu.is_running() {
                self.sigterm()?;
            }
            self.killed = true;
            let x = self.wait_exit();
            return Ok(done(
                step,
                "SIGTERM to QEMU (qemuProcessShutdownOrReboot: fakeReboot is false → qemuProcessKill)",
                format!("{seen}; {x}"),
            ));
        }
        Ok(done(step, "none (libvirt handles the event)", seen))
    }

    fn qemu_command(&mut self, step: &TraceStep, cmd: &str) -> Result<RealStep> {
        let id = self.pending.get_mut(cmd).and_then(VecDeque::pop_front);
        let reply = match id {
            Some(id) => match self.vm.qmp.wait_reply(id, EVENT_TIMEOUT) {
                Ok(_) => "reply ok".to_string(),
                Err(e) => format!("reply: {e}"),
            },
            None => "no such command was sent".to_string(),
        };
        let extra = match cmd {
            "system_powerdown" => self.wait_for(json!("POWERDOWN"))?,
            "cont"
                if appended_events(step).contains(&json!("RESUME"))
                    || change(step, ".qemu.run").is_some() =>
            {
                self.wait_for(json!("RESUME"))?
            }
            _ => String::new(),
        };
        Ok(done(
            step,
            format!("wait for QEMU to run {cmd}"),
            [reply, extra]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        ))
    }

    fn wait_agent_eof(&mut self) -> String {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        while self.vm.agent.eof().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        if self.vm.agent.eof().is_some() {
            "agent socket EOF".into()
        } else {
            "NOT observed: agent socket EOF".into()
        }
    }

    fn wait_agent_read_error(&mut self) -> String {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        while self.vm.agent.eof().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        match self.vm.agent.read_error() {
            Some(e) => format!("read error on the agent socket: {e}"),
            None if self.vm.agent.eof().is_some() => {
                "NOT observed: the agent socket ended with a clean EOF, no read error".into()
            }
            None => "NOT observed: the agent socket is still open".into(),
        }
    }

    fn wait_port_closed(&mut self) -> Result<String> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            if !self.vm.qemu.is_running() {
                return Ok("QEMU exited".into());
            }
            if !self.vm.agent_port_open()? {
                return Ok("agent port closed (query-chardev frontend-open=false)".into());
            }
            if Instant::now() >= deadline {
                return Ok("NOT observed: agent port still open".into());
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Releases the guest's scheduling point `point` (waiting for its WAIT
    /// in the current boot, after the last one used).
    fn release(&mut self, point: &str) -> Result<()> {
        let from = self
            .used
            .get(point)
            .map_or(self.boot_mark, |&u| (u + 1).max(self.boot_mark));
        let (i, _) =
            self.vm
                .control
                .wait_msg(from, &ControlMsg::Wait(point.to_string()), POINT_TIMEOUT)?;
        self.used.insert(point.to_string(), i);
        self.vm.control.go(point)?;
        self.vm
            .control
            .wait_msg(i + 1, &ControlMsg::Run(point.to_string()), POINT_TIMEOUT)?;
        Ok(())
    }

    /// A guest shutdown request (power button or qemu-ga) reaches the
    /// shutdown path: release its points; it takes the lock or loses for real.
    fn guest_request(&mut self, step: &TraceStep, source: &str) -> Result<RealStep> {
        if source == "pwrbtn" && self.dom.ignore_acpi {
            let r = match self.vm.console.wait_line(
                self.boot_line(),
                POINT_TIMEOUT,
                "pwrbtn: ignored",
                |l| l.contains("pwrbtn: ignored"),
            ) {
                Ok(_) => "console: pwrbtn: ignored".to_string(),
                Err(e) => format!("NOT observed: pwrbtn: ignored ({e})"),
            };
            return Ok(done(step, "none (the guest ignores ACPI)", r));
        }
        let wins = change(step, ".guest.acted").is_some_and(|(b, a)| b.is_null() && !a.is_null());
        let lock_held = self
            .vm
            .console
            .lines_from(0)
            .iter()
            .any(|l| l.received.mono > self.boot_time() && l.text.contains("lock taken by"));
        let first = if source == "ga" {
            "ga-shutdown"
        } else {
            "pwrbtn"
        };
        if !wins && !lock_held {
            return Ok(done(
                step,
                format!("hold at {first} (no GO)"),
                "the model's guest ignores this request (guest_policy first: the seed's \
                 simplification, no real counterpart), so it is held back at its point",
            ));
        }
        self.release(first)?;
        let mark = self.vm.console.line_count();
        self.release(&format!("lock-{source}"))?;
        let outcome = self
            .vm
            .console
            .wait_line(mark, POINT_TIMEOUT, "the shutdown lock", |l| {
                l.contains("lock taken by") || l.contains("already in progress")
            });
        let text = match outcome {
            Ok((_, l)) => l.text.trim().to_string(),
            Err(e) => format!("NOT observed: the lock outcome ({e})"),
        };
        let real_wins = text.contains("lock taken by");
        let verdict = if real_wins == wins {
            "as the model"
        } else {
            "DIFFERS from the model"
        };
        Ok(done(
            step,
            format!("GO {first}, GO lock-{source}"),
            format!("console: {text} ({verdict})"),
        ))
    }

    /// Index of the first console line of the current boot.
    fn boot_line(&self) -> usize {
        let t = self.boot_time();
        let lines = self.vm.console.lines();
        lines
            .iter()
            .position(|l| l.received.mono > t)
            .unwrap_or(lines.len())
    }

    /// When the current boot's HELLO arrived.
    pub fn boot_time(&self) -> Instant {
        self.vm
            .control
            .messages()
            .get(self.boot_mark)
            .map_or(self.vm.spawned().mono, |m| m.received.mono)
    }
}
