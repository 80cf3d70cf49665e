//! One isolated network world per replay: a fresh network namespace `vmrace-<pid>-<n>` holding a
//! Linux bridge [`LINUX_BRIDGE`] (up) and, for [`Backend::Ovs`], a private Open vSwitch with the
//! netdev bridge [`crate::real::net::OVS_BRIDGE`]; plus a temp directory for OVS database, sockets and logs.
//!
//! Nothing outlives the sandbox: dropping it (also while unwinding from a panic) kills every tap
//! holder, stops OVS with `exit --cleanup`, deletes the namespace and removes the directory. For
//! Ctrl-C and SIGTERM the sandbox is listed in a process-wide registry that
//! [`crate::real::net::install_signal_handler`] cleans up. The host's own namespace is never
//! touched and no IP traffic is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::error::{NetError, Result};
use super::ovs::Ovs;
use super::registry;
use super::tap::TapHolder;
use super::tools::{locate_helper, run, Tools};

/// Name of the Linux bridge inside every sandbox.
pub const LINUX_BRIDGE: &str = "br0";
/// Longest usable unix socket path (sun_path is 108 bytes including the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// Longest socket file name OVS creates in the sandbox directory (`ovs-vswitchd.ctl`).
const LONGEST_SOCKET_NAME: usize = "/ovs-vswitchd.ctl".len();

/// Which switch the replayed VMs are plugged into. The Linux bridge exists in both; only
/// [`Backend::Ovs`] pays for starting Open vSwitch (about 0.2 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Backend {
    /// Private Open vSwitch with a userspace-datapath bridge, driven by libvirt's `ovs-vsctl`
    /// commands.
    Ovs,
    /// Only the Linux bridge, driven by libvirt's bridge ioctls.
    LinuxBridge,
}

/// Per-VM network state the harness tracks, as libvirt tracks `net->ifname` per domain.
#[derive(Debug, Default)]
pub(crate) struct Vm {
    /// The VM's last interface name; kept after its holder dies, because libvirt's late
    /// cleanup acts on this name.
    pub ifname: Option<String>,
    /// The live "QEMU" holding the tap, if any.
    pub holder: Option<TapHolder>,
    /// Whether the tap was created with TUNSETPERSIST (it then survives the holder).
    pub persistent: bool,
}

/// Everything a sandbox owns; shared with the signal-handler registry.
#[derive(Debug)]
pub(crate) struct State {
    /// Network namespace name (`/run/netns/<netns>`).
    pub netns: String,
    /// Temp directory for OVS files.
    pub dir: PathBuf,
    /// Resolved programs.
    pub tools: Tools,
    /// The private OVS, for [`Backend::Ovs`].
    pub ovs: Option<Ovs>,
    /// Every VM a step has named.
    pub vms: BTreeMap<String, Vm>,
    /// libvirt's `virNetDevGenNames[VNET].lastID` for monotonic naming; starts at -1.
    pub last_id: i64,
    /// Which resources exist and must be removed.
    netns_created: bool,
    dir_created: bool,
    /// Set once cleanup ran; later cleanups are no-ops.
    cleaned: bool,
}

/// A live replay sandbox; see the module docs. Operations are applied with
/// [`Sandbox::apply`] and the outcome read with [`Sandbox::observe`].
#[derive(Debug)]
pub struct Sandbox {
    id: u64,
    netns: String,
    dir: PathBuf,
    backend: Backend,
    state: Arc<Mutex<State>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Sandbox {
    /// Creates a sandbox, finding `vmrace-nethelper` next to the running executable (or via
    /// `$VMRACE_NETHELPER`). Fails with a clear message when not root or when a tool is missing.
    pub fn new(backend: Backend) -> Result<Sandbox> {
        Sandbox::with_helper(backend, locate_helper()?)
    }

    /// Like [`Sandbox::new`] with an explicit helper path (tests pass
    /// `env!("CARGO_BIN_EXE_vmrace-nethelper")`).
    pub fn with_helper(backend: Backend, helper: impl Into<PathBuf>) -> Result<Sandbox> {
        let helper = helper.into();
        if !helper.is_file() {
            return Err(NetError::MissingHelper {
                looked_at: vec![helper],
            });
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(NetError::NotRoot);
        }
        let tools = Tools::find(helper, backend == Backend::Ovs)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let netns = format!("vmrace-{pid}-{id}");
        let dir = std::env::temp_dir().join(format!("vmrace-net-{pid}-{id}"));
        if dir.as_os_str().len() + LONGEST_SOCKET_NAME > MAX_SOCKET_PATH {
            return Err(NetError::io(
                format!("sandbox directory {} (set TMPDIR shorter)", dir.display()),
                std::io::Error::other("too long for unix socket paths"),
            ));
        }
        let state = Arc::new(Mutex::new(State {
            netns: netns.clone(),
            dir: dir.clone(),
            ovs: (backend == Backend::Ovs).then(|| {
                let ovs_tools = tools
                    .ovs
                    .clone()
                    .expect("OVS tools resolved for Backend::Ovs");
                Ovs::new(ovs_tools, &dir, &netns)
            }),
            tools,
            vms: BTreeMap::new(),
            last_id: -1,
            netns_created: false,
            dir_created: false,
            cleaned: false,
        }));
        registry::register(id, Arc::clone(&state))?;
        let sandbox = Sandbox {
            id,
            netns,
            dir,
            backend,
            state,
        };
        // On error `sandbox` is dropped here, which cleans up whatever was created.
        sandbox.state().setup()?;
        Ok(sandbox)
    }

    /// The sandbox's network namespace (`ip -n NAME ...` inspects it).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The temp directory with the OVS database, sockets and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The backend chosen at creation.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The private OVSDB socket, for manual `ovs-vsctl --db=unix:...` inspection.
    pub fn ovs_db_socket(&self) -> Option<PathBuf> {
        self.state().ovs.as_ref().map(Ovs::db_socket)
    }

    /// Pids of every process the sandbox currently runs (OVS daemons and tap holders), so a
    /// caller can verify that cleanup really reaped them.
    pub fn pids(&self) -> Vec<u32> {
        let state = self.state();
        let holders = state
            .vms
            .values()
            .filter_map(|vm| vm.holder.as_ref().map(TapHolder::pid));
        let daemons = state.ovs.iter().flat_map(Ovs::pids);
        holders.chain(daemons).collect()
    }

    /// Tears the sandbox down now and reports any cleanup problem (dropping does the same but
    /// can only print problems to stderr).
    pub fn close(self) -> Result<()> {
        let problems = self.teardown();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(NetError::Command {
                command: format!("cleanup of sandbox {}", self.netns),
                status: format!("{} problem(s)", problems.len()),
                detail: problems.join("; "),
            })
        }
    }

    /// Locks the shared state, recovering from a poisoned lock (a panic elsewhere must not
    /// prevent cleanup).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn teardown(&self) -> Vec<String> {
        // with the registry locked, so that a signal's cleanup waits for it
        registry::unregister_while(self.id, || self.state().cleanup())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for problem in self.teardown() {
            eprintln!("vmrace: cleaning up sandbox {}: {problem}", self.netns);
        }
    }
}

/// Locks a sandbox state, ignoring poisoning.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    /// Creates directory, namespace, Linux bridge and (if configured) OVS, recording each
    /// resource as soon as it exists.
    fn setup(&mut self) -> Result<()> {
        if self.cleaned {
            // a signal's cleanup ran between registration and now
            return Err(NetError::Interrupted);
        }
        if self.dir.exists() {
            // Same pid and counter as ours: left by a dead earlier process with this pid.
            std::fs::remove_dir_all(&self.dir)
                .map_err(|e| NetError::io(format!("remove stale {}", self.dir.display()), e))?;
        }
        self.dir_created = true;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| NetError::io(format!("create {}", self.dir.display()), e))?;

        let mut add = std::process::Command::new(&self.tools.ip);
        add.args(["netns", "add", &self.netns]);
        if let Err(first) = run(&mut add) {
            // Only a stale namespace of a dead process with our pid can have this name.
            let mut del = std::process::Command::new(&self.tools.ip);
            del.args(["netns", "del", &self.netns]);
            run(&mut del).map_err(|_| first)?;
            run(&mut add)?;
        }
        self.netns_created = true;

        run(&mut self.tools.ip_in(
            &self.netns,
            &["link", "add", LINUX_BRIDGE, "up", "type", "bridge"],
        ))?;
        if let Some(ovs) = self.ovs.as_mut() {
            ovs.start(&self.tools.ip)?;
        }
        Ok(())
    }

    /// Releases everything, in dependency order: tap holders, OVS, namespace, directory.
    /// Idempotent; returns the problems met (cleanup always continues past them).
    pub fn cleanup(&mut self) -> Vec<String> {
        if std::mem::replace(&mut self.cleaned, true) {
            return Vec::new();
        }
        let mut problems = Vec::new();
        for (name, vm) in &mut self.vms {
            if let Some(mut holder) = vm.holder.take() {
                if let Err(e) = holder.kill() {
                    problems.push(format!("VM {name}: {e}"));
                }
            }
        }
        if let Some(ovs) = self.ovs.as_mut() {
            problems.extend(ovs.stop());
        }
        if self.netns_created {
            let mut del = std::process::Command::new(&self.tools.ip);
            del.args(["netns", "del", &self.netns]);
            if let Err(e) = run(&mut del) {
                problems.push(e.to_string());
            }
        }
        if self.dir_created {
            match std::fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    problems.push(format!("remove {}: {e}", self.dir.display()))
                }
                _ => {}
            }
        }
        problems
    }
}
