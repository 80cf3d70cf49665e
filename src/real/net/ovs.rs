//! A private Open vSwitch per sandbox: `ovsdb-server` and `ovs-vswitchd` run as direct children
//! (never `--detach`, so we reap them ourselves and notice when they die), with database,
//! sockets and logs in the sandbox directory, and vswitchd inside the sandbox namespace because
//! the userspace (`netdev`) datapath opens taps in its own namespace. This machine has no
//! openvswitch kernel module, so the bridge always uses `datapath_type=netdev`.
//!
//! Readiness is event-based, never a sleep: ovsdb is ready when `ovs-vsctl --no-wait init`
//! succeeds, vswitchd when a waiting `add-br` returns (it blocks until vswitchd applied it).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::{NetError, Result};
use super::tools::{describe, run, run_status, OvsTools};

/// Name of the OVS bridge inside every OVS sandbox.
pub const OVS_BRIDGE: &str = "ovsbr0";
/// How long start-up steps may take before the sandbox gives up.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a daemon may take to exit before it is SIGKILLed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The two daemons and their sockets.
#[derive(Debug)]
pub(crate) struct Ovs {
    tools: OvsTools,
    dir: PathBuf,
    netns: String,
    ovsdb: Option<Child>,
    vswitchd: Option<Child>,
}

impl Ovs {
    /// Describes (does not start) the OVS of the sandbox with directory `dir` and namespace
    /// `netns`; [`Ovs::start`] brings it up.
    pub fn new(tools: OvsTools, dir: &Path, netns: &str) -> Self {
        Ovs {
            tools,
            dir: dir.to_path_buf(),
            netns: netns.to_string(),
            ovsdb: None,
            vswitchd: None,
        }
    }

    /// The sandbox's private OVSDB socket.
    pub fn db_socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    fn ctl(&self, daemon: &str) -> PathBuf {
        self.dir.join(format!("{daemon}.ctl"))
    }

    /// `ovs-vsctl --db=unix:SOCK --timeout=5`, the prefix of every libvirt-style command
    /// (libvirt's `virNetDevOpenvswitchCreateCmd` adds `--timeout=5`).
    pub fn vsctl(&self) -> Command {
        let mut cmd = OvsTools::ovs_command(&self.tools.vsctl, &self.dir);
        cmd.arg(format!("--db=unix:{}", self.db_socket().display()))
            .arg("--timeout=5");
        cmd
    }

    /// Creates the database, starts both daemons and the netdev bridge [`OVS_BRIDGE`].
    /// Children are recorded as soon as they exist, so a failure half-way is cleaned up by
    /// [`Ovs::stop`].
    pub fn start(&mut self, ip: &Path) -> Result<()> {
        let db = self.dir.join("conf.db");
        let mut create = OvsTools::ovs_command(&self.tools.dbtool, &self.dir);
        create.arg("create").arg(&db).arg(&self.tools.schema);
        run(&mut create)?;

        let sock = self.db_socket();
        let ovsdb_args = [
            db.display().to_string(),
            format!("--remote=punix:{}", sock.display()),
            format!("--unixctl={}", self.ctl("ovsdb-server").display()),
        ];
        self.ovsdb = Some(self.spawn_daemon(ip, &self.tools.ovsdb_server, &ovsdb_args)?);
        self.wait_ovsdb_ready()?;

        let vswitchd_args = [
            format!("unix:{}", sock.display()),
            format!("--unixctl={}", self.ctl("ovs-vswitchd").display()),
        ];
        self.vswitchd = Some(self.spawn_daemon(ip, &self.tools.vswitchd, &vswitchd_args)?);
        let mut add_br = self.vsctl();
        add_br.args([
            "--timeout=10",
            "add-br",
            OVS_BRIDGE,
            "--",
            "set",
            "bridge",
            OVS_BRIDGE,
            "datapath_type=netdev",
        ]);
        run(&mut add_br).map_err(|e| self.with_log(e, "ovs-vswitchd"))?;
        Ok(())
    }

    /// `ip netns exec NETNS PROGRAM ARGS --log-file=... --no-chdir`, logging to files only.
    /// `ip netns exec` execs in place, so the child's pid is the daemon's.
    fn spawn_daemon(&self, ip: &Path, program: &Path, args: &[String]) -> Result<Child> {
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stderr_path = self.dir.join(format!("{name}.stderr"));
        let stderr = File::create(&stderr_path)
            .map_err(|e| NetError::io(format!("create {}", stderr_path.display()), e))?;
        let mut cmd = OvsTools::ovs_command(ip, &self.dir);
        cmd.args(["netns", "exec", &self.netns])
            .arg(program)
            .args(args)
            .arg(format!(
                "--log-file={}",
                self.dir.join(format!("{name}.log")).display()
            ))
            .args(["--no-chdir", "-vconsole:off", "-vsyslog:off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        cmd.spawn()
            .map_err(|e| NetError::io(format!("spawn `{}`", describe(&cmd)), e))
    }

    fn wait_ovsdb_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last = String::from("socket not created yet");
        loop {
            if let Some(status) = exited(&mut self.ovsdb) {
                return Err(self.with_log(
                    NetError::Command {
                        command: "ovsdb-server".into(),
                        status: status.to_string(),
                        detail: "exited during start-up".into(),
                    },
                    "ovsdb-server",
                ));
            }
            if self.db_socket().exists() {
                let mut init = self.vsctl();
                init.args(["--no-wait", "init"]);
                let out = run_status(&mut init)?;
                if out.status.success() {
                    return Ok(());
                }
                last = String::from_utf8_lossy(&out.stderr).trim().to_string();
            }
            if Instant::now() > deadline {
                return Err(NetError::Timeout {
                    what: "ovsdb-server to accept `ovs-vsctl --no-wait init`".into(),
                    seconds: START_TIMEOUT.as_secs(),
                    detail: last,
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Appends the tail of a daemon's stderr and log file to a command error.
    fn with_log(&self, err: NetError, daemon: &str) -> NetError {
        let tail = |ext: &str| {
            let path = self.dir.join(format!("{daemon}.{ext}"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(8)..].join("\n")
        };
        NetError::Command {
            command: format!("{daemon} start-up"),
            status: "failed".into(),
            detail: format!(
                "{err}\n{daemon} stderr:\n{}\n{daemon} log tail:\n{}",
                tail("stderr"),
                tail("log")
            ),
        }
    }

    /// Pids of the daemons that are still running.
    pub fn pids(&self) -> Vec<u32> {
        [&self.ovsdb, &self.vswitchd]
            .into_iter()
            .flatten()
            .map(Child::id)
            .collect()
    }

    /// Names of the OVS ports on [`OVS_BRIDGE`], each with its interface's `external_ids`.
    pub fn ports(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut list_ports = self.vsctl();
        list_ports.args(["list-ports", OVS_BRIDGE]);
        let out = run(&mut list_ports)?;
        let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();

        let mut list_ifaces = self.vsctl();
        list_ifaces.args([
            "--format=json",
            "--data=json",
            "--columns=name,external_ids",
            "list",
            "Interface",
        ]);
        let out = run(&mut list_ifaces)?;
        let mut ids = parse_interfaces(&out.stdout).ok_or_else(|| NetError::Parse {
            command: describe(&list_ifaces),
            detail: String::from_utf8_lossy(&out.stdout).into_owned(),
        })?;
        Ok(names
            .into_iter()
            .map(|name| {
                let external_ids = ids.remove(&name).unwrap_or_default();
                (name, external_ids)
            })
            .collect())
    }

    /// Stops vswitchd with `ovs-appctl exit --cleanup` (removes its datapath devices), then
    /// ovsdb-server with SIGTERM; reaps both, SIGKILLing whatever does not exit in time.
    /// Returns the problems met; an already dead daemon (e.g. killed by Ctrl-C) is not one.
    pub fn stop(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(mut vswitchd) = self.vswitchd.take() {
            if vswitchd.try_wait().ok().flatten().is_none() {
                let mut exit = OvsTools::ovs_command(&self.tools.appctl, &self.dir);
                exit.arg("-t").arg(self.ctl("ovs-vswitchd")).args([
                    "--timeout=5",
                    "exit",
                    "--cleanup",
                ]);
                if let Err(e) = run(&mut exit) {
                    if vswitchd.try_wait().ok().flatten().is_none() {
                        problems.push(e.to_string());
                    }
                }
            }
            problems.extend(reap(&mut vswitchd, "ovs-vswitchd"));
        }
        if let Some(mut ovsdb) = self.ovsdb.take() {
            // SAFETY: signalling our own, not yet reaped child.
            unsafe { libc::kill(ovsdb.id() as libc::pid_t, libc::SIGTERM) };
            problems.extend(reap(&mut ovsdb, "ovsdb-server"));
        }
        problems
    }
}

/// The exit status of a child that has exited (and is now reaped), `None` while it runs.
fn exited(child: &mut Option<Child>) -> Option<ExitStatus> {
    child.as_mut().and_then(|c| c.try_wait().ok().flatten())
}

/// Waits up to [`STOP_TIMEOUT`] for `child`, then SIGKILLs and reaps it.
fn reap(child: &mut Child, name: &str) -> Option<String> {
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Some(format!("waitpid {name}: {e}")),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Some(format!(
        "{name} did not exit within {} s; killed",
        STOP_TIMEOUT.as_secs()
    ))
}

/// Parses `ovs-vsctl --format=json --data=json --columns=name,external_ids list Interface`.
fn parse_interfaces(json: &[u8]) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    let table: Value = serde_json::from_slice(json).ok()?;
    let mut result = BTreeMap::new();
    for row in table.get("data")?.as_array()? {
        let name = row.get(0)?.as_str()?.to_string();
        // OVSDB encodes a map as ["map", [[key, value], ...]].
        let pairs = row.get(1)?.as_array()?.get(1)?.as_array()?;
        let ids = pairs
            .iter()
            .map(|pair| Some((pair.get(0)?.as_str()?.into(), pair.get(1)?.as_str()?.into())))
            .collect::<Option<BTreeMap<String, String>>>()?;
        result.insert(name, ids);
    }
    Some(result)
}
