//! Finding and running the external programs (iproute2, Open vSwitch) and the helper binary.
//!
//! Programs are resolved to absolute paths once per sandbox, so a missing package is reported up
//! front, naming the Debian package, instead of as an obscure spawn failure in the middle of a
//! replay. Sandboxes never rely on the OVS defaults under `/var/run/openvswitch`: every OVS
//! command gets the sandbox's own directories through [`Tools::ovs_command`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::error::{NetError, Result};

/// Environment variable that overrides where the helper binary is looked for.
pub const HELPER_ENV: &str = "VMRACE_NETHELPER";
/// File name of the helper binary built from `src/bin/vmrace-nethelper.rs`.
pub const HELPER_NAME: &str = "vmrace-nethelper";
/// The OVS database schema `ovsdb-tool create` needs.
const OVS_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// Absolute paths of everything a sandbox runs.
#[derive(Clone, Debug)]
pub(crate) struct Tools {
    pub ip: PathBuf,
    pub helper: PathBuf,
    /// Present only for the OVS backend.
    pub ovs: Option<OvsTools>,
}

/// Absolute paths of the Open vSwitch programs and schema.
#[derive(Clone, Debug)]
pub(crate) struct OvsTools {
    pub vsctl: PathBuf,
    pub appctl: PathBuf,
    pub dbtool: PathBuf,
    pub ovsdb_server: PathBuf,
    pub vswitchd: PathBuf,
    pub schema: PathBuf,
}

impl Tools {
    /// Resolves every program needed; `with_ovs` adds the Open vSwitch ones.
    pub fn find(helper: PathBuf, with_ovs: bool) -> Result<Self> {
        let ovs = if with_ovs {
            Some(OvsTools {
                vsctl: which("ovs-vsctl", "openvswitch-switch")?,
                appctl: which("ovs-appctl", "openvswitch-common")?,
                dbtool: which("ovsdb-tool", "openvswitch-common")?,
                ovsdb_server: which("ovsdb-server", "openvswitch-common")?,
                vswitchd: which("ovs-vswitchd", "openvswitch-switch")?,
                schema: existing(OVS_SCHEMA, "openvswitch-switch")?,
            })
        } else {
            None
        };
        Ok(Tools {
            ip: which("ip", "iproute2")?,
            helper,
            ovs,
        })
    }

    /// `ip -n NETNS ARGS...`: iproute2 acting inside the sandbox namespace.
    pub fn ip_in(&self, netns: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.ip);
        cmd.args(["-n", netns]).args(args);
        cmd
    }
}

impl OvsTools {
    /// A command for an OVS program with all OVS directories pointed into `dir`, so nothing
    /// ever falls back to the system's `/var/run/openvswitch` database or sockets.
    pub fn ovs_command(program: &Path, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        for var in ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"] {
            cmd.env(var, dir);
        }
        cmd
    }
}

/// Looks `name` up in PATH plus the sbin directories (often missing from PATH under sudo/CI).
pub(crate) fn which(name: &str, package: &'static str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .ok_or(NetError::MissingTool {
            tool: name.to_string(),
            package,
        })
}

fn existing(path: &str, package: &'static str) -> Result<PathBuf> {
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(path)
    } else {
        Err(NetError::MissingTool {
            tool: path.display().to_string(),
            package,
        })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds the helper binary: `$VMRACE_NETHELPER`, else next to the running executable, else one
/// directory up when the executable is a test binary in `target/<profile>/deps/`.
pub fn locate_helper() -> Result<PathBuf> {
    let mut looked_at = Vec::new();
    if let Some(path) = std::env::var_os(HELPER_ENV) {
        let path = PathBuf::from(path);
        if is_executable(&path) {
            return Ok(path);
        }
        looked_at.push(path);
    }
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            let candidate = d.join(HELPER_NAME);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
            looked_at.push(candidate);
            dir = (d.file_name() == Some(OsStr::new("deps")))
                .then(|| d.parent().map(Path::to_path_buf))
                .flatten();
        }
    }
    Err(NetError::MissingHelper { looked_at })
}

/// Renders a command line for error messages.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion with stdin closed; returns its output, or a [`NetError::Command`]
/// carrying stderr when it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let output = run_status(cmd)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(NetError::Command {
            command: describe(cmd),
            status: output.status.to_string(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Like [`run`] but leaves judging the exit status to the caller.
pub fn run_status(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|e| NetError::io(format!("spawn `{}`", describe(cmd)), e))
}
