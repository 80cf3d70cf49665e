//! The replayable network steps of libvirt's VM start/stop paths, each executed with the exact
//! command or syscall libvirt uses and returning only once the effect is real (the kernel call
//! returned, `ovs-vsctl` saw vswitchd apply the change, the killed holder was reaped and its tap
//! is gone).
//!
//! Steps name VMs, not interfaces: like libvirt's `net->ifname`, the sandbox remembers each
//! VM's last interface name and later steps act on that name, even after the tap is gone or
//! has been reused by another VM. That is the mechanism of the tap-name reuse race.

use serde::{Deserialize, Serialize};

use super::error::{Errno, NetError, Result};
use super::helper;
use super::ovs::OVS_BRIDGE;
use super::sandbox::{Sandbox, State, LINUX_BRIDGE};
use super::sys;
use super::tap::TapHolder;
use super::tools::run;

/// How a new tap gets its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TapNaming {
    /// libvirt before 95089f481e: `TUNSETIFF("vnet%d")`, the kernel picks the lowest free
    /// number, so a name freed by a dying VM is handed out again at once.
    Kernel,
    /// libvirt's fix 95089f481e (`virNetDevGenerateName`): a per-sandbox counter `lastID`,
    /// `vnet{++lastID}`, skipping names that exist, then `TUNSETIFF` with that explicit name.
    Monotonic,
    /// An explicit name (`<target dev=.../>`), passed to `TUNSETIFF` without `IFF_TUN_EXCL`,
    /// so an existing persistent tap of that name is silently reopened.
    Explicit(String),
}

/// One replayable network step of one VM (VMs are named by the caller's trace).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetOp {
    /// QEMU starts with a tap (`virNetDevTapCreate`). With `persist` the tap is made
    /// persistent (`TUNSETPERSIST`), so it survives QEMU; this produces the "already enslaved"
    /// variant.
    CreateTap {
        /// The VM.
        vm: String,
        /// How the name is chosen.
        naming: TapNaming,
        /// Make the tap outlive its holder.
        #[serde(default)]
        persist: bool,
    },
    /// libvirt's `virNetDevOpenvswitchAddPort`, one transaction: `--if-exists del-port IF --
    /// add-port BR IF -- set Interface IF external-ids:...` (attached-mac, iface-id, vm-id,
    /// iface-status=active). `vm-id` carries the VM name.
    AddPort {
        /// The VM whose last interface name is plugged.
        vm: String,
    },
    /// libvirt's `virNetDevBridgeAddPort`: `SIOCBRADDIF` on the Linux bridge; EBUSY when the
    /// device is already enslaved.
    AttachBridge {
        /// The VM whose last interface name is attached.
        vm: String,
    },
    /// QEMU dies: SIGKILL and waitpid of the VM's tap holder; a non-persistent tap vanishes.
    KillQemu {
        /// The VM to kill.
        vm: String,
    },
    /// `virNetDevExists(ifname)`: `if_nametoindex` inside the sandbox. The caller keeps the
    /// returned bool (e.g. a fix that skips RemovePort when the device exists).
    CheckExists {
        /// The VM whose last interface name is tested.
        vm: String,
    },
    /// libvirt's `virNetDevOpenvswitchRemovePort`: `--if-exists del-port IF`, by name only.
    RemovePort {
        /// The VM whose last interface name is removed.
        vm: String,
    },
    /// `virNetDevGetMaster(ifname)`: the device's `IFLA_MASTER` read over netlink (`ip -j link
    /// show`, an `RTM_GETLINK` like libvirt's `virNetlinkDumpLink`). Answers
    /// [`NetOutcome::Master`]; a missing device is ENODEV.
    GetMaster {
        /// The VM whose last interface name is asked about.
        vm: String,
    },
    /// `virNetDevOpenvswitchInterfaceGetMaster(ifname)`: `ovs-vsctl --timeout=5 iface-to-br
    /// IF`; a non-zero exit means no OVS bridge has it. Answers [`NetOutcome::Master`].
    IfaceToBr {
        /// The VM whose last interface name is asked about.
        vm: String,
    },
    /// Detach by name from the Linux bridge with `SIOCBRDELIF` (what `brctl delif` does; the
    /// ioctl, not netlink `nomaster`, so a non-member gives EINVAL and a missing device ENODEV).
    /// libvirt on Linux does not do this for plain bridges; it models a by-name cleanup.
    DetachBridge {
        /// The VM whose last interface name is detached.
        vm: String,
    },
}

/// What a step produced. Kernel refusals are outcomes ([`NetOutcome::Errno`]), not errors.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetOutcome {
    /// A tap was created; the name the kernel (or the counter) gave it.
    Tap(String),
    /// The step took effect.
    Done,
    /// The kernel refused the step with this errno (e.g. EBUSY).
    Errno(Errno),
    /// Answer of [`NetOp::CheckExists`].
    Exists(bool),
    /// Answer of [`NetOp::GetMaster`] and [`NetOp::IfaceToBr`]: the master's name, if any.
    Master(Option<String>),
}

impl Sandbox {
    /// Executes one step and waits until its effect is real. `Err` means the harness failed
    /// (unknown VM, OVS step on a Linux-bridge sandbox, a tool failing); kernel refusals are
    /// returned as [`NetOutcome::Errno`].
    pub fn apply(&mut self, op: &NetOp) -> Result<NetOutcome> {
        self.state().apply(op)
    }
}

impl State {
    fn apply(&mut self, op: &NetOp) -> Result<NetOutcome> {
        match op {
            NetOp::CreateTap {
                vm,
                naming,
                persist,
            } => self.create_tap(vm, naming, *persist),
            NetOp::AddPort { vm } => self.add_port(vm),
            NetOp::AttachBridge { vm } => self.bridge_port(vm, true),
            NetOp::KillQemu { vm } => self.kill_qemu(vm),
            NetOp::CheckExists { vm } => {
                let ifname = self.ifname(vm)?;
                Ok(NetOutcome::Exists(self.exists(&ifname)?))
            }
            NetOp::RemovePort { vm } => self.remove_port(vm),
            NetOp::DetachBridge { vm } => self.bridge_port(vm, false),
            NetOp::GetMaster { vm } => self.get_master(vm),
            NetOp::IfaceToBr { vm } => self.iface_to_br(vm),
        }
    }

    fn get_master(&self, vm: &str) -> Result<NetOutcome> {
        let ifname = self.ifname(vm)?;
        if !self.exists(&ifname)? {
            return Ok(NetOutcome::Errno(Errno(libc::ENODEV)));
        }
        let mut cmd = self
            .tools
            .ip_in(&self.netns, &["-j", "link", "show", "dev", &ifname]);
        let out = run(&mut cmd)?;
        let links: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|_| NetError::Parse {
                command: super::tools::describe(&cmd),
                detail: String::from_utf8_lossy(&out.stdout).into_owned(),
            })?;
        let master = links[0]["master"].as_str().map(str::to_string);
        Ok(NetOutcome::Master(master))
    }

    fn iface_to_br(&self, vm: &str) -> Result<NetOutcome> {
        let ifname = self.ifname(vm)?;
        let ovs = self.ovs.as_ref().ok_or(NetError::NoOvs)?;
        let out = super::tools::run_status(ovs.vsctl().args(["iface-to-br", &ifname]))?;
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let master = (out.status.success() && !name.is_empty()).then_some(name);
        Ok(NetOutcome::Master(master))
    }

    fn create_tap(&mut self, vm: &str, naming: &TapNaming, persist: bool) -> Result<NetOutcome> {
        if self.vms.get(vm).is_some_and(|v| v.holder.is_some()) {
            return Err(vm_state(
                vm,
                "CreateTap while its tap holder is still running",
            ));
        }
        let request = match naming {
            TapNaming::Kernel => "vnet%d".to_string(),
            TapNaming::Monotonic => self.next_monotonic_name()?,
            TapNaming::Explicit(name) => name.clone(),
        };
        let spawned = TapHolder::spawn(&self.tools.helper, &self.netns, &request, persist)?;
        let entry = self.vms.entry(vm.to_string()).or_default();
        if *naming != TapNaming::Kernel {
            // libvirt stores a concrete name in net->ifname before TUNSETIFF.
            entry.ifname = Some(request);
        }
        match spawned {
            Ok(holder) => {
                let ifname = holder.ifname.clone();
                entry.ifname = Some(ifname.clone());
                entry.persistent = persist;
                entry.holder = Some(holder);
                Ok(NetOutcome::Tap(ifname))
            }
            Err(errno) => Ok(NetOutcome::Errno(errno)),
        }
    }

    /// `virNetDevGenerateName`: `++lastID` until `vnet{lastID}` does not exist (10000 tries).
    fn next_monotonic_name(&mut self) -> Result<String> {
        let last_id = &mut self.last_id;
        sys::in_netns(&self.netns, || {
            (0..10_000).find_map(|_| {
                *last_id += 1;
                let name = format!("vnet{last_id}");
                sys::ifindex(&name).is_none().then_some(name)
            })
        })?
        .ok_or_else(|| NetError::Command {
            command: "virNetDevGenerateName(vnet)".into(),
            status: "no free name".into(),
            detail: "10000 consecutive vnetN names exist".into(),
        })
    }

    fn add_port(&mut self, vm: &str) -> Result<NetOutcome> {
        let ifname = self.ifname(vm)?;
        if vm.contains(['"', '\\']) || vm.chars().any(char::is_control) {
            return Err(vm_state(vm, "name cannot be quoted as an OVSDB string"));
        }
        let ovs = self.ovs.as_ref().ok_or(NetError::NoOvs)?;
        let attached_mac = format!("external-ids:attached-mac=\"{}\"", guest_mac(vm));
        let iface_id = format!("external-ids:iface-id=\"{}\"", interface_id(vm));
        let vm_id = format!("external-ids:vm-id=\"{vm}\"");
        let mut cmd = ovs.vsctl();
        cmd.args(["--", "--if-exists", "del-port", &ifname])
            .args(["--", "add-port", OVS_BRIDGE, &ifname]);
        for id in [
            attached_mac.as_str(),
            &iface_id,
            &vm_id,
            "external-ids:iface-status=active",
        ] {
            cmd.args(["--", "set", "Interface", &ifname, id]);
        }
        run(&mut cmd)?;
        Ok(NetOutcome::Done)
    }

    fn remove_port(&mut self, vm: &str) -> Result<NetOutcome> {
        let ifname = self.ifname(vm)?;
        let ovs = self.ovs.as_ref().ok_or(NetError::NoOvs)?;
        run(ovs.vsctl().args(["--", "--if-exists", "del-port", &ifname]))?;
        Ok(NetOutcome::Done)
    }

    fn bridge_port(&mut self, vm: &str, add: bool) -> Result<NetOutcome> {
        let ifname = self.ifname(vm)?;
        let result =
            helper::bridge_port(&self.tools.helper, &self.netns, LINUX_BRIDGE, &ifname, add)?;
        Ok(result.map_or_else(NetOutcome::Errno, |()| NetOutcome::Done))
    }

    fn kill_qemu(&mut self, vm: &str) -> Result<NetOutcome> {
        let entry = self.vms.get_mut(vm);
        let Some(mut holder) = entry.and_then(|v| v.holder.take()) else {
            return Err(vm_state(vm, "KillQemu without a running tap holder"));
        };
        holder.kill()?;
        let persistent = self.vms.get(vm).is_some_and(|v| v.persistent);
        if !persistent {
            self.wait_gone(&holder.ifname)?;
        }
        Ok(NetOutcome::Done)
    }

    /// The kernel deletes a non-persistent tap while closing the dead holder's descriptors,
    /// before waitpid returns; this verifies it (briefly polling in case it ever lags).
    fn wait_gone(&self, ifname: &str) -> Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let gone = sys::in_netns(&self.netns, || loop {
            if sys::ifindex(ifname).is_none() {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        })?;
        if gone {
            Ok(())
        } else {
            Err(NetError::Timeout {
                what: format!("tap {ifname} to vanish after its holder was killed"),
                seconds: 2,
                detail: "device still exists".into(),
            })
        }
    }

    /// `virNetDevExists` inside the sandbox namespace.
    pub(crate) fn exists(&self, ifname: &str) -> Result<bool> {
        sys::in_netns(&self.netns, || sys::ifindex(ifname).is_some())
    }

    fn ifname(&self, vm: &str) -> Result<String> {
        self.vms
            .get(vm)
            .and_then(|v| v.ifname.clone())
            .ok_or_else(|| vm_state(vm, "no interface name yet (no CreateTap)"))
    }
}

fn vm_state(vm: &str, problem: &str) -> NetError {
    NetError::VmState {
        vm: vm.to_string(),
        problem: problem.to_string(),
    }
}

/// 64-bit FNV-1a, for stable per-VM identifiers that do not depend on run or platform.
fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A stable guest MAC in QEMU's 52:54:00 range, derived from the VM name.
fn guest_mac(vm: &str) -> String {
    let [.., a, b, c] = fnv1a(FNV_OFFSET, vm.as_bytes()).to_be_bytes();
    format!("52:54:00:{a:02x}:{b:02x}:{c:02x}")
}

/// A stable UUID-shaped interface id (libvirt's virtualport `interfaceid`) from the VM name.
fn interface_id(vm: &str) -> String {
    let hi = fnv1a(FNV_OFFSET, vm.as_bytes());
    let lo = fnv1a(hi, b"iface-id");
    let hex = format!("{hi:016x}{lo:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
