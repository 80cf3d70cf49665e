//! The one-line protocol between the library and `vmrace-nethelper`, and the one-shot helper
//! calls (bridge attach/detach). The helper exists because these calls must run inside the
//! sandbox's namespace, and a tap must be held by a separate process that can be SIGKILLed like
//! QEMU.
//!
//! The helper prints exactly one line on stdout: `tap NAME` (a tap is held; exit status 0 when
//! it is eventually released), `ok` (the call succeeded; status 0) or `errno N SYMBOL` (the
//! kernel refused: a result, not a harness failure; status 1). Anything else, or status 2, is a
//! harness failure reported with the helper's stderr.

use std::path::Path;

use super::error::{Errno, NetError, Result};
use super::tools::{describe, run_status};

/// What the helper reports on its single stdout line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `hold-tap` succeeded; the kernel assigned this name and the helper now holds the tap.
    Tap(String),
    /// A bridge ioctl succeeded.
    Ok,
    /// The kernel call failed with this errno.
    Errno(Errno),
}

impl Reply {
    /// The line the helper prints (without the newline).
    pub fn to_line(&self) -> String {
        match self {
            Reply::Tap(name) => format!("tap {name}"),
            Reply::Ok => "ok".to_string(),
            Reply::Errno(errno) => format!("errno {} {}", errno.0, errno.name()),
        }
    }

    /// Parses a helper line; `None` for anything that is not the protocol.
    pub fn parse(line: &str) -> Option<Reply> {
        let line = line.trim_end_matches('\n');
        match line.split_once(' ') {
            Some(("tap", name)) if !name.is_empty() => Some(Reply::Tap(name.to_string())),
            Some(("errno", rest)) => {
                let code = rest.split_whitespace().next()?.parse().ok()?;
                Some(Reply::Errno(Errno(code)))
            }
            None if line == "ok" => Some(Reply::Ok),
            _ => None,
        }
    }
}

/// Runs `vmrace-nethelper addif|delif --netns NETNS BRIDGE IFNAME` and returns the kernel's
/// verdict: `Ok(())` or the errno of `SIOCBRADDIF`/`SIOCBRDELIF`.
pub(crate) fn bridge_port(
    helper: &Path,
    netns: &str,
    bridge: &str,
    ifname: &str,
    add: bool,
) -> Result<Result<(), Errno>> {
    let mut cmd = std::process::Command::new(helper);
    cmd.args([
        if add { "addif" } else { "delif" },
        "--netns",
        netns,
        bridge,
        ifname,
    ]);
    let output = run_status(&mut cmd)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match (output.status.code(), Reply::parse(&stdout)) {
        (Some(0), Some(Reply::Ok)) => Ok(Ok(())),
        (Some(1), Some(Reply::Errno(errno))) => Ok(Err(errno)),
        _ => Err(NetError::Command {
            command: describe(&cmd),
            status: output.status.to_string(),
            detail: format!(
                "stdout {:?}, stderr {:?}",
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }),
    }
}
