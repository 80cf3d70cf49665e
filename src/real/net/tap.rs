//! A running `vmrace-nethelper hold-tap` process: the stand-in for a QEMU process that holds its
//! tap file descriptor. Killing it (SIGKILL + waitpid) makes the kernel delete a non-persistent
//! tap, exactly as QEMU's death does; the holder also exits on its own if the harness dies,
//! because it waits for end-of-file on the stdin pipe the harness keeps open.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use super::error::{Errno, NetError, Result};
use super::helper::Reply;
use super::tools::describe;

/// One live tap-holding helper process.
#[derive(Debug)]
pub(crate) struct TapHolder {
    child: Child,
    /// Kept open so the helper keeps running; dropping it lets the helper exit on its own.
    _stdin: ChildStdin,
    /// Name the kernel assigned to the tap.
    pub ifname: String,
}

impl TapHolder {
    /// Starts a holder in namespace `netns` that calls `TUNSETIFF(request)`, where `request` is
    /// a template (`vnet%d`) or an explicit name. The inner `Err` is the kernel's refusal (e.g.
    /// EBUSY for a name another holder has), which is a replay result.
    pub fn spawn(
        helper: &Path,
        netns: &str,
        request: &str,
        persist: bool,
    ) -> Result<Result<TapHolder, Errno>> {
        let mut cmd = Command::new(helper);
        cmd.args(["hold-tap", "--netns", netns, "--name", request]);
        if persist {
            cmd.arg("--persist");
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| NetError::io(format!("spawn `{}`", describe(&cmd)), e))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|e| NetError::io("read tap holder reply", e))?;
        }
        match Reply::parse(&line) {
            Some(Reply::Tap(ifname)) => Ok(Ok(TapHolder {
                child,
                _stdin: stdin,
                ifname,
            })),
            Some(Reply::Errno(errno)) => {
                drop(stdin);
                let _ = child.wait();
                Ok(Err(errno))
            }
            _ => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                Err(NetError::Command {
                    command: describe(&cmd),
                    status,
                    detail: format!("stdout {:?}, stderr {:?}", line.trim(), stderr.trim()),
                })
            }
        }
    }

    /// Process id of the holder (the "QEMU" pid).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then waitpid: when this returns, the process is gone and so is a non-persistent
    /// tap (the kernel deletes it while closing the dying process's descriptors).
    pub fn kill(&mut self) -> Result<()> {
        self.child
            .kill()
            .map_err(|e| NetError::io(format!("SIGKILL tap holder {}", self.pid()), e))?;
        self.child
            .wait()
            .map_err(|e| NetError::io(format!("waitpid tap holder {}", self.pid()), e))?;
        Ok(())
    }
}

impl Drop for TapHolder {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
