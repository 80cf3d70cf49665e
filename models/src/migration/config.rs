//! What a migration scenario sets up: the disks (each a host symlink chain), the program the
//! management layer runs, what the storage agent does concurrently, the injected fault, and the
//! code states of QEMU's failure paths and of libvirt's /dev namespace handling.

use serde::Deserialize;

/// Most disks a configuration may have (each disk multiplies the interleavings of completion).
pub const MAX_DISKS: usize = 4;

/// Most operations the management program may have.
pub const MAX_OPS: usize = 16;

/// The whole setup, as a scenario's `setup:` section spells it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The guest's disks in BlockBackend creation order, which is the order `bdrv_inactivate_all`
    /// and `bdrv_activate_all` walk them in.
    pub disks: Vec<DiskConfig>,
    /// What the management layer (OpenNebula, an admin with virsh) does, one after the other.
    #[serde(default)]
    pub ops: Vec<Op>,
    /// What the host's storage agent does concurrently with everything else, in order.
    #[serde(default)]
    pub storage_agent: Vec<HostAction>,
    /// A failure injected into one outgoing migration after its images were inactivated.
    #[serde(default)]
    pub fail_after_inactivation: Fault,
    /// Which migration (1-based, in the order they are started) the fault hits.
    #[serde(default = "first")]
    pub fault_attempt: u8,
    /// Whether the incoming QEMU loads a completed stream.
    #[serde(default)]
    pub destination: Destination,
    /// The code state of QEMU's outgoing failure paths.
    #[serde(default)]
    pub qemu_migration: QemuMigration,
    /// The code state of libvirt's /dev namespace after QEMU started.
    #[serde(default)]
    pub namespace: NamespaceMode,
}

fn first() -> u8 {
    1
}

/// One guest disk: a `<disk type='block'>` whose source is a symlink on the host.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskConfig {
    /// The source path in the domain XML, e.g. `/var/lib/one/datastores/0/310/disk.0`. Outside
    /// `/dev` it lives on the file system QEMU shares with the host; under `/dev` QEMU sees
    /// libvirt's copy of it.
    pub path: String,
    /// Where `path` leads at VM start, link by link; the last element is the block device node,
    /// e.g. `[/dev/storpool/volA]`. Empty when `path` is the node (or an image file) itself.
    #[serde(default)]
    pub chain: Vec<String>,
    /// Where `path` leads after the storage agent's `retarget`, e.g.
    /// `[/dev/storpool-byid/fir.b.f2g, /dev/sp-12]` (the seed's volume-name migration).
    #[serde(default)]
    pub retarget: Option<Vec<String>>,
    /// A read-only device (the seed's OpenNebula context CD-ROM): it never holds write
    /// permission, so inactivating it never reopens the image.
    #[serde(default)]
    pub readonly: bool,
}

/// One step of the management program.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum Op {
    /// `virsh migrate --live`: `virDomainMigrate*` on the source libvirtd; waits for its result.
    Migrate,
    /// `virsh resume`: `virDomainResume`; waits for its result.
    Resume,
    /// `virsh suspend`: `virDomainSuspend`; waits for its result. A person types it after the
    /// previous call returned: it starts once QEMU's migration thread has exited and libvirt
    /// has handled every event QEMU sent.
    Suspend,
    /// `virsh qemu-monitor-command DOM '{"execute":"cont"}'`: QMP `cont` passed through
    /// verbatim (`qemuDomainQemuMonitorCommand`), whatever libvirt believes the domain's state
    /// is; waits for its result. It starts as [`Op::Suspend`] does.
    Cont,
    /// The guest writes to disk N (`guest_write` is disk 0, `guest_write:N` disk N). The
    /// program does not wait: the guest writes whenever its vCPUs run.
    GuestWrite(u8),
    /// The host's storage is updated: every disk with a `retarget` chain now leads there.
    Retarget,
    /// The seed's repair script: recreate, inside QEMU's /dev (`nsenter -m`), the nodes the
    /// host's current chains name, as `qemuDomainNamespaceSetupDisk` would.
    FixNamespace,
}

impl TryFrom<String> for Op {
    type Error = String;
    fn try_from(text: String) -> Result<Op, String> {
        match text.as_str() {
            "migrate" => Ok(Op::Migrate),
            "resume" => Ok(Op::Resume),
            "suspend" => Ok(Op::Suspend),
            "cont" => Ok(Op::Cont),
            "guest_write" => Ok(Op::GuestWrite(0)),
            "retarget" => Ok(Op::Retarget),
            "fix_namespace" => Ok(Op::FixNamespace),
            other => match other.strip_prefix("guest_write:").map(str::parse::<u8>) {
                Some(Ok(disk)) => Ok(Op::GuestWrite(disk)),
                _ => Err(format!(
                    "unknown op `{other}`: expected migrate, resume, suspend, cont, \
                     guest_write, guest_write:N, retarget or fix_namespace"
                )),
            },
        }
    }
}

impl From<Op> for String {
    fn from(op: Op) -> String {
        match op {
            Op::Migrate => "migrate".into(),
            Op::Resume => "resume".into(),
            Op::Suspend => "suspend".into(),
            Op::Cont => "cont".into(),
            Op::GuestWrite(0) => "guest_write".into(),
            Op::GuestWrite(d) => format!("guest_write:{d}"),
            Op::Retarget => "retarget".into(),
            Op::FixNamespace => "fix_namespace".into(),
        }
    }
}

/// What the storage agent may do on its own.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostAction {
    /// As [`Op::Retarget`], at any moment.
    Retarget,
    /// As [`Op::FixNamespace`], at any moment.
    FixNamespace,
}

/// The failure injected after inactivation.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Nothing is injected (an ENOENT may still arise from the namespace by itself).
    #[default]
    None,
    /// The stream's last writes after `bdrv_inactivate_all` fail (fe904ea824's report), so
    /// `migration_completion` finds `qemu_file_get_error()` set.
    SocketError,
    /// `virsh domjobabort` (`qemuDomainAbortJob` → QMP `migrate_cancel`) races with the
    /// migration while libvirt's job is active (1d2acc3162's report is the order where it lands
    /// after inactivation).
    Cancel,
}

/// What the incoming side does with a completed stream.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Destination {
    /// Loads it and activates the images; libvirt's Finish succeeds and the source is stopped.
    #[default]
    Accepts,
    /// Fails to load it; libvirt's Confirm phase then restores the source.
    Rejects,
}

/// The code state of QEMU's outgoing failure paths (which of them re-activate the images).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QemuMigration {
    /// No failure path calls `bdrv_activate_all`: `disable_perm` and `BDRV_O_INACTIVE` stay as
    /// the failed completion left them (pre-fe904ea824 on a socket error, pre-1d2acc3162 on a
    /// cancel, pre-6dab4c93ec on a failed `bdrv_inactivate_all`).
    StickyDisablePerm,
    /// fe904ea824's `fail_invalidate` label and 1d2acc3162's cancel path, but a failure inside
    /// `qemu_savevm_state_complete_precopy` jumps to `fail` and `block_inactive` is only set on
    /// success: QEMU 2.10 to 8.0.0, 7.2.0 to 7.2.2 (bookworm's 7.2+dfsg-7), RHEL's 6.2 (seed).
    FailInvalidateLabel,
    /// 403d18ae + 6dab4c93ec: `block_inactive` set before inactivating, every failure reaches
    /// the reactivation: QEMU 8.1, 8.0.1 and 7.2.3 onwards (bookworm's deb12u1 and later).
    #[default]
    ReactivateOnFailure,
}

impl QemuMigration {
    /// Each value and the upstream code state it stands for.
    pub const VALUES: [(&'static str, &'static str); 3] = [
        (
            "sticky-disable-perm",
            "no failure path re-activates: pre-fe904ea824 (socket error), pre-1d2acc3162 \
             (cancel), pre-6dab4c93ec (failed bdrv_inactivate_all)",
        ),
        (
            "fail-invalidate-label",
            "fe904ea824 + 1d2acc3162 only: QEMU 2.10-8.0.0, 7.2.0-7.2.2, RHEL 6.2 (the seed)",
        ),
        (
            "reactivate-on-failure",
            "403d18ae + 6dab4c93ec: QEMU 8.1, 8.0.1, 7.2.3+ (Debian bookworm deb12u1+)",
        ),
    ];

    /// `migration_completion`'s `fail_invalidate` label (fe904ea824) re-activates on a stream
    /// error found after the precopy completed.
    pub fn reactivates_on_stream_error(self) -> bool {
        self != QemuMigration::StickyDisablePerm
    }

    /// `migrate_fd_cancel` re-activates when `block_inactive` (1d2acc3162).
    pub fn reactivates_on_cancel(self) -> bool {
        self != QemuMigration::StickyDisablePerm
    }

    /// A failed `qemu_savevm_state_complete_precopy` reaches the reactivation (6dab4c93ec), and
    /// `block_inactive` is set before inactivating rather than after success (403d18ae).
    pub fn reactivates_on_precopy_failure(self) -> bool {
        self == QemuMigration::ReactivateOnFailure
    }
}

/// The code state of libvirt's mount namespace for QEMU's /dev after start.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NamespaceMode {
    /// Upstream libvirt: /dev is populated once by `qemuNamespacePrepareOneItem`'s walk at
    /// start; a host-side change of a chain is never seen again.
    #[default]
    SnapshotAtStart,
    /// Hypothetical: libvirt re-runs `qemuDomainNamespaceSetupDisk` (a separate thread) when a
    /// disk's chain changes on the host.
    ReSetupOnChange,
}

impl NamespaceMode {
    /// Each value and the upstream code state it stands for.
    pub const VALUES: [(&'static str, &'static str); 2] = [
        (
            "snapshot-at-start",
            "libvirt >= 3.0 default: qemuNamespacePrepareOneItem walks each chain once at start",
        ),
        (
            "re-setup-on-change",
            "hypothetical: qemuDomainNamespaceSetupDisk re-run after a host chain changes",
        ),
    ];
}

impl Config {
    /// Refuses what the model cannot represent or what would make no sense.
    pub fn validate(&self) -> Result<(), String> {
        if self.disks.is_empty() || self.disks.len() > MAX_DISKS {
            return Err(format!(
                "`disks` must have 1 to {MAX_DISKS} entries, got {}",
                self.disks.len()
            ));
        }
        for (i, d) in self.disks.iter().enumerate() {
            let chains = std::iter::once(&d.chain).chain(d.retarget.iter());
            for path in std::iter::once(&d.path).chain(chains.flatten()) {
                if !path.starts_with('/') {
                    return Err(format!("disk {i}: `{path}` is not an absolute path"));
                }
            }
            if d.retarget.as_ref().is_some_and(|r| r.is_empty()) {
                return Err(format!(
                    "disk {i}: a `retarget` chain needs at least the device node"
                ));
            }
        }
        if self.ops.len() > MAX_OPS {
            return Err(format!("at most {MAX_OPS} ops, got {}", self.ops.len()));
        }
        for op in &self.ops {
            if let Op::GuestWrite(d) = *op {
                match self.disks.get(d as usize) {
                    None => return Err(format!("`{}`: there is no disk {d}", String::from(*op))),
                    Some(disk) if disk.readonly => {
                        return Err(format!("`{}`: disk {d} is read-only", String::from(*op)))
                    }
                    Some(_) => {}
                }
            }
        }
        let retargets = self.ops.iter().filter(|o| **o == Op::Retarget).count()
            + self
                .storage_agent
                .iter()
                .filter(|a| **a == HostAction::Retarget)
                .count();
        let retargetable = self.disks.iter().any(|d| d.retarget.is_some());
        if retargets > 1 {
            return Err("the storage may be retargeted once (one `retarget` in all)".into());
        }
        if retargets == 1 && !retargetable {
            return Err("`retarget` needs a disk with a `retarget` chain".into());
        }
        if self.storage_agent.len() > 4 {
            return Err("at most 4 storage_agent actions".into());
        }
        let migrations = self.ops.iter().filter(|o| **o == Op::Migrate).count();
        if self.fail_after_inactivation != Fault::None
            && (self.fault_attempt == 0 || self.fault_attempt as usize > migrations)
        {
            return Err(format!(
                "`fault_attempt` {} names no migration (there are {migrations} `migrate` ops)",
                self.fault_attempt
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_parse_and_print() {
        for text in [
            "migrate",
            "resume",
            "suspend",
            "cont",
            "guest_write",
            "guest_write:2",
            "retarget",
        ] {
            let op = Op::try_from(text.to_string()).unwrap();
            assert_eq!(String::from(op), text);
        }
        assert!(Op::try_from("reboot".to_string()).is_err());
        assert!(Op::try_from("guest_write:x".to_string()).is_err());
    }
}
