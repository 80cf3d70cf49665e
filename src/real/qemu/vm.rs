//! A whole replay VM: the QEMU process plus its four connected channels.
//! Like libvirt, it starts QEMU paused (`-S`), connects QMP, console, agent
//! and control before the guest runs, then sends `cont`.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::agent::Agent;
use super::console::Console;
use super::control::Control;
use super::error::{Error, Result};
use super::launch::{LaunchConfig, Qemu, AGENT_CHARDEV};
use super::qmp::Qmp;
use super::stream::{connect_unix, Stamp};

/// How long to wait for QEMU's sockets and QMP handshake at start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running VM with all channels connected. Fields drop in order: the
/// clients first, then [`Qemu`], which kills QEMU and removes the run directory.
pub struct Vm {
    /// QMP monitor.
    pub qmp: Qmp,
    /// Guest agent.
    pub agent: Agent,
    /// Serial console.
    pub console: Console,
    /// Schedule control.
    pub control: Control,
    /// The QEMU process.
    pub qemu: Qemu,
}

impl Vm {
    /// Starts QEMU paused, connects every channel, then sends `cont`.
    pub fn start(cfg: &LaunchConfig) -> Result<Vm> {
        let mut vm = Vm::start_paused(cfg)?;
        vm.qmp.execute("cont", None, CONNECT_TIMEOUT)?;
        Ok(vm)
    }

    /// Starts QEMU paused (`-S`) and connects every channel; the guest has
    /// not run yet. Send `cont` over [`Vm::qmp`] to start it.
    pub fn start_paused(cfg: &LaunchConfig) -> Result<Vm> {
        let mut qemu = Qemu::spawn(cfg)?;
        let paths = qemu.paths().clone();
        let mut open = |path: &Path, what: &str| {
            connect_unix(path, CONNECT_TIMEOUT, || qemu.is_running()).map_err(|e| {
                qemu.exited_error(&format!("connecting the {what}"))
                    .unwrap_or(e)
            })
        };
        let qmp_stream = open(&paths.qmp, "QMP socket")?;
        let console_stream = open(&paths.console, "console socket")?;
        let agent_stream = open(&paths.agent, "agent socket")?;
        let control_stream = open(&paths.control, "control socket")?;
        let qmp = match Qmp::from_stream(qmp_stream, CONNECT_TIMEOUT) {
            Ok(q) => q,
            Err(e) => return Err(qemu.exited_error("the QMP handshake").unwrap_or(e)),
        };
        Ok(Vm {
            qmp,
            agent: Agent::from_stream(agent_stream)?,
            console: Console::from_stream(console_stream)?,
            control: Control::from_stream(control_stream)?,
            qemu,
        })
    }

    /// When QEMU was spawned.
    pub fn spawned(&self) -> Stamp {
        self.qemu.spawned()
    }

    /// The run's temporary directory.
    pub fn dir(&self) -> &Path {
        &self.qemu.paths().dir
    }

    /// `query-status`: the run state, e.g. `running` or `shutdown`.
    pub fn status(&mut self) -> Result<String> {
        let v = self.qmp.execute("query-status", None, CONNECT_TIMEOUT)?;
        Ok(v.get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// Whether the guest has the agent port open, from `query-chardev`
    /// (`frontend-open`), which unlike VSERPORT_CHANGE is not throttled.
    pub fn agent_port_open(&mut self) -> Result<bool> {
        let v = self.qmp.execute("query-chardev", None, CONNECT_TIMEOUT)?;
        Ok(v.as_array().into_iter().flatten().any(|c| {
            c.get("label").and_then(Value::as_str) == Some(AGENT_CHARDEV)
                && c.get("frontend-open").and_then(Value::as_bool) == Some(true)
        }))
    }

    /// Waits until the guest agent answers `guest-sync-delimited`: polls the
    /// agent port state every 20 ms, then syncs. Returns the time since QEMU
    /// was spawned.
    pub fn wait_agent(&mut self, timeout: Duration) -> Result<Duration> {
        let deadline = Instant::now() + timeout;
        let timed_out = || Error::Timeout {
            what: "the guest agent".into(),
            timeout,
        };
        loop {
            if let Some(e) = self.qemu.exited_error("the guest agent answered") {
                return Err(e);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(timed_out());
            }
            if !self.agent_port_open()? {
                thread::sleep(Duration::from_millis(20));
                continue;
            }
            let wait = (deadline - now).min(Duration::from_secs(2));
            match self.agent.sync(wait) {
                Ok(_) => return Ok(self.spawned().mono.elapsed()),
                Err(Error::Timeout { .. }) => continue,
                Err(e) => {
                    return Err(self
                        .qemu
                        .exited_error("the guest agent answered")
                        .unwrap_or(e))
                }
            }
        }
    }

    /// libvirt's fake reboot after a SHUTDOWN under `-no-shutdown`:
    /// `system_reset` then `cont`.
    pub fn fake_reboot(&mut self) -> Result<()> {
        self.qmp.execute("system_reset", None, CONNECT_TIMEOUT)?;
        self.qmp.execute("cont", None, CONNECT_TIMEOUT)?;
        Ok(())
    }
}
