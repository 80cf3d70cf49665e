//! The QEMU process: its command line as libvirt would build it (q35,
//! qboot, `-nodefaults`, `-S`, QMP/console/agent/control sockets,
//! optional `-no-shutdown`), a per-run temporary directory, and cleanup that
//! always happens: `Drop` kills and reaps QEMU and removes the directory, and
//! a registry plus a signal handler ([`cleanup`](super::cleanup)) covers
//! SIGINT/SIGTERM of the harness.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::accel::Accel;
use super::cleanup::{self, LiveRun};
use super::error::{Error, Result};
use super::image::GuestImage;
use super::stream::Stamp;

/// Environment variable naming the QEMU binary (default `qemu-system-x86_64`).
pub const QEMU_ENV: &str = "VMRACE_QEMU";
/// The firmware: qboot gives exactly one RESET per reset (SeaBIOS gives 2 to 40).
pub const QBOOT_ROM: &str = "/usr/share/qemu/qboot.rom";
/// Kernel command line every run starts with.
pub const BASE_CMDLINE: &str = "console=ttyS0 panic=-1 quiet";
/// Chardev id of the guest agent socket (`query-chardev` label).
pub const AGENT_CHARDEV: &str = "ga0";
/// Device id of the agent port (the `id` in VSERPORT_CHANGE).
pub const AGENT_PORT_ID: &str = "channel0";
/// Chardev id of the schedule-control socket.
pub const CONTROL_CHARDEV: &str = "ctl0";
/// Device id of the schedule-control port.
pub const CONTROL_PORT_ID: &str = "channel1";
/// Guest-side name of the schedule-control port.
pub const CONTROL_PORT_NAME: &str = "org.vmrace.control.0";

/// How to start one QEMU.
#[derive(Clone, Debug)]
pub struct LaunchConfig {
    /// QEMU binary.
    pub qemu_binary: PathBuf,
    /// The guest image.
    pub image: GuestImage,
    /// Accelerator.
    pub accel: Accel,
    /// Guest memory in MiB (64 MiB does not boot; 128–256 do).
    pub memory_mib: u32,
    /// Pass `-no-shutdown` (libvirt always does with QEMU ≥ 6.0).
    pub no_shutdown: bool,
    /// Guest knobs, appended to the kernel command line as `vmrace.NAME=VALUE`.
    pub knobs: Vec<(String, String)>,
    /// Extra QEMU arguments, appended last.
    pub extra_args: Vec<String>,
    /// A command QEMU is started through, which must end by exec'ing its arguments (e.g. the
    /// private-/dev mount namespace set-up of [`devns`](super::devns)); empty: none.
    pub wrapper: Vec<String>,
}

impl LaunchConfig {
    /// The QEMU binary runs use: `$VMRACE_QEMU`, else `qemu-system-x86_64`.
    pub fn new_binary() -> PathBuf {
        std::env::var_os(QEMU_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"))
    }

    /// The default run of `image` under `accel`: 256 MiB, 1 vCPU, no knobs.
    pub fn new(image: GuestImage, accel: Accel) -> LaunchConfig {
        LaunchConfig {
            qemu_binary: Self::new_binary(),
            image,
            accel,
            memory_mib: 256,
            no_shutdown: false,
            knobs: Vec::new(),
            extra_args: Vec::new(),
            wrapper: Vec::new(),
        }
    }

    /// Sets `-no-shutdown`.
    pub fn no_shutdown(mut self, on: bool) -> LaunchConfig {
        self.no_shutdown = on;
        self
    }

    /// Adds the guest knob `vmrace.NAME=VALUE` (e.g. `sched`, `ignore_acpi`).
    pub fn knob(mut self, name: &str, value: &str) -> LaunchConfig {
        self.knobs.push((name.to_string(), value.to_string()));
        self
    }

    /// The kernel command line.
    pub fn kernel_cmdline(&self) -> String {
        let mut s = BASE_CMDLINE.to_string();
        for (k, v) in &self.knobs {
            s.push_str(&format!(" vmrace.{k}={v}"));
        }
        s
    }

    /// The QEMU arguments (without the binary) for a run whose sockets live in `paths`.
    pub fn args(&self, paths: &RunPaths) -> Vec<String> {
        let sock =
            |id: &str, p: &Path| format!("socket,id={id},path={},server=on,wait=off", p.display());
        let mut a: Vec<String> = vec![
            "-machine".into(),
            format!("q35,accel={}", self.accel.name()),
            "-bios".into(),
            QBOOT_ROM.into(),
            "-nodefaults".into(),
            "-display".into(),
            "none".into(),
            "-m".into(),
            self.memory_mib.to_string(),
            "-smp".into(),
            "1".into(),
            "-kernel".into(),
            self.image.vmlinux().display().to_string(),
            "-initrd".into(),
            self.image.initramfs().display().to_string(),
            "-append".into(),
            self.kernel_cmdline(),
            "-S".into(),
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", paths.qmp.display()),
            "-chardev".into(),
            sock("con0", &paths.console),
            "-serial".into(),
            "chardev:con0".into(),
            "-chardev".into(),
            sock(AGENT_CHARDEV, &paths.agent),
            "-chardev".into(),
            sock(CONTROL_CHARDEV, &paths.control),
            "-device".into(),
            "virtio-serial,id=vser0".into(),
            "-device".into(),
            format!("virtserialport,chardev={AGENT_CHARDEV},name=org.qemu.guest_agent.0,id={AGENT_PORT_ID}"),
            "-device".into(),
            format!("virtserialport,chardev={CONTROL_CHARDEV},name={CONTROL_PORT_NAME},id={CONTROL_PORT_ID}"),
        ];
        if self.no_shutdown {
            a.push("-no-shutdown".into());
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }
}

/// The files of one run, all inside its temporary directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPaths {
    /// The per-run temporary directory.
    pub dir: PathBuf,
    /// QMP socket.
    pub qmp: PathBuf,
    /// Serial console socket.
    pub console: PathBuf,
    /// Guest agent socket.
    pub agent: PathBuf,
    /// Schedule-control socket.
    pub control: PathBuf,
    /// QEMU's stderr.
    pub stderr: PathBuf,
}

impl RunPaths {
    fn in_dir(dir: PathBuf) -> RunPaths {
        RunPaths {
            qmp: dir.join("qmp.sock"),
            console: dir.join("con.sock"),
            agent: dir.join("ga.sock"),
            control: dir.join("ctl.sock"),
            stderr: dir.join("qemu.stderr"),
            dir,
        }
    }
}

/// Creates `$TMPDIR/vmrace-qemu-XXXXXX` (or under /tmp when $TMPDIR is too
/// long for unix socket paths).
fn make_run_dir() -> Result<PathBuf> {
    let mut base = std::env::temp_dir();
    if base.as_os_str().len() > 60 {
        base = PathBuf::from("/tmp");
    }
    let template = base.join("vmrace-qemu-XXXXXX");
    let c = CString::new(template.as_os_str().as_bytes())
        .map_err(|e| Error::io("temp dir template", std::io::Error::other(e)))?;
    let mut bytes = c.into_bytes_with_nul();
    // SAFETY: `bytes` is a writable NUL-terminated template, as mkdtemp requires.
    let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if p.is_null() {
        return Err(Error::io(
            format!("creating {}", template.display()),
            std::io::Error::last_os_error(),
        ));
    }
    bytes.pop();
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
}

/// A running QEMU. Dropping it kills QEMU (SIGKILL), reaps it and removes the
/// run directory, also while a panic unwinds.
#[derive(Debug)]
pub struct Qemu {
    child: Child,
    paths: RunPaths,
    argv: Vec<String>,
    spawned: Stamp,
    exit: Option<ExitStatus>,
    registration: u64,
}

impl Qemu {
    /// Starts QEMU for `cfg` (paused by `-S`) in a new run directory, in its
    /// own process group, with stderr to `qemu.stderr`. Installs the signal
    /// handler on first use.
    pub fn spawn(cfg: &LaunchConfig) -> Result<Qemu> {
        cleanup::install_signal_handler()?;
        let (registration, (child, paths, argv)) = cleanup::register_spawn(|| {
            let dir = make_run_dir()?;
            let paths = RunPaths::in_dir(dir.clone());
            let mut argv = cfg.wrapper.clone();
            argv.push(cfg.qemu_binary.display().to_string());
            argv.extend(cfg.args(&paths));
            let (program, args) = argv.split_first().expect("argv holds the binary");
            let started = fs::File::create(&paths.stderr)
                .map_err(|e| Error::io(format!("creating {}", paths.stderr.display()), e))
                .and_then(|stderr| {
                    Command::new(program)
                        .args(args)
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(stderr)
                        .process_group(0)
                        .spawn()
                        .map_err(|e| Error::io(format!("starting {program}"), e))
                });
            match started {
                Ok(child) => Ok((
                    LiveRun {
                        pid: child.id(),
                        dir,
                    },
                    (child, paths, argv),
                )),
                Err(e) => {
                    let _ = fs::remove_dir_all(&dir);
                    Err(e)
                }
            }
        })?;
        Ok(Qemu {
            child,
            paths,
            argv,
            spawned: Stamp::now(),
            exit: None,
            registration,
        })
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The run's files.
    pub fn paths(&self) -> &RunPaths {
        &self.paths
    }

    /// The full command line (binary first).
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// When QEMU was spawned.
    pub fn spawned(&self) -> Stamp {
        self.spawned
    }

    /// QEMU's stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.paths.stderr).unwrap_or_default()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to QEMU.
    pub fn signal(&self, signal: i32) -> Result<()> {
        if self.exit.is_some() {
            return Err(Error::io(
                "signalling QEMU",
                std::io::Error::other("QEMU already exited"),
            ));
        }
        // SAFETY: kill(2) on our own, not yet reaped, child.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        if rc != 0 {
            return Err(Error::io(
                "signalling QEMU",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// The exit status, if QEMU has exited (non-blocking).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// True while QEMU runs.
    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Waits up to `timeout` for QEMU to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: "QEMU to exit".into(),
                    timeout,
                });
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// An [`Error::Exited`] for a step that QEMU's exit cut short, if it exited.
    pub fn exited_error(&mut self, what: &str) -> Option<Error> {
        self.try_exit().map(|status| Error::Exited {
            status: status.to_string(),
            what: what.to_string(),
            stderr: self.stderr(),
        })
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let child = &mut self.child;
        let exited = self.exit.is_some();
        let dir = &self.paths.dir;
        // with the registry locked, so that a signal's cleanup waits for it; when the cleanup
        // took this run first, it killed QEMU and removed the directory itself
        cleanup::release(self.registration, || {
            if !exited && child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
            let _ = fs::remove_dir_all(dir);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::qemu::image::Manifest;

    fn image() -> GuestImage {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "format": 1, "key": "k", "kernel_release": "r", "packages": [], "host_packages": [],
            "modules": [], "guest_files": [], "guest_files_sha256": "",
            "vmlinux": {"path": "vmlinux", "size": 1, "sha256": ""},
            "initramfs": {"path": "initramfs.cpio.gz", "size": 1, "sha256": ""}
        }))
        .unwrap();
        GuestImage {
            dir: PathBuf::from("/img"),
            manifest,
        }
    }

    #[test]
    fn command_line_is_libvirt_like() {
        let cfg = LaunchConfig::new(image(), Accel::Tcg)
            .no_shutdown(true)
            .knob("sched", "1");
        let paths = RunPaths::in_dir(PathBuf::from("/run/x"));
        let args = cfg.args(&paths).join(" ");
        for want in [
            "-machine q35,accel=tcg -bios /usr/share/qemu/qboot.rom -nodefaults -display none",
            "-kernel /img/vmlinux -initrd /img/initramfs.cpio.gz",
            "-append console=ttyS0 panic=-1 quiet vmrace.sched=1 -S",
            "-qmp unix:/run/x/qmp.sock,server=on,wait=off",
            "-serial chardev:con0",
            "virtserialport,chardev=ga0,name=org.qemu.guest_agent.0,id=channel0",
            "virtserialport,chardev=ctl0,name=org.vmrace.control.0,id=channel1",
        ] {
            assert!(args.contains(want), "{want} missing from {args}");
        }
        assert!(args.ends_with("-no-shutdown"));
        let plain = LaunchConfig::new(image(), Accel::Kvm)
            .args(&paths)
            .join(" ");
        assert!(plain.contains("accel=kvm") && !plain.contains("-no-shutdown"));
    }
}
