//! The state of the whole system (management program, libvirtd, QEMU's threads and block layer,
//! the host's storage, QEMU's private /dev, the guest) and the steps that change it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Everything the model tracks; nested so that a trace's changes read `disks[0].disable_perm`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct State {
    /// Index of the management program's next op.
    pub mgmt_pc: u8,
    /// The API call the management program is waiting for, if any.
    pub call: Option<Call>,
    /// Where the libvirtd worker thread running that call is.
    pub api: Api,
    /// libvirt's domain object (its view of QEMU, updated from monitor events).
    pub domain: Domain,
    /// QMP events QEMU sent and libvirt has not handled yet, oldest first.
    pub events: Vec<Event>,
    /// The QMP command libvirt's worker sent, or its reply.
    pub qmp: Qmp,
    /// `virsh domjobabort` (the `cancel` fault).
    pub abort: Abort,
    /// The QEMU process outside its block layer.
    pub qemu: Qemu,
    /// QEMU's `MigrationState` and its migration thread.
    pub migration: Outgoing,
    /// Per disk, in configuration order: its BlockBackend and its node.
    pub disks: Vec<Disk>,
    /// Per disk: where the source path leads on the host right now.
    pub host_links: Vec<Chain>,
    /// QEMU's private /dev.
    pub namespace: Namespace,
    /// Index of the storage agent's next action.
    pub agent_pc: u8,
    /// The guest's writes.
    pub guest: Guest,
    /// `virDomainMigrate*` calls that QEMU attempted and that returned failure.
    pub migrations_failed: u8,
}

/// An API call from the management layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// `virDomainMigrate*`.
    Migrate,
    /// `virDomainResume`.
    Resume,
    /// `virDomainSuspend`.
    Suspend,
    /// `virDomainQemuMonitorCommand` with QMP `cont`.
    Cont,
}

/// The libvirtd worker thread's program counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    /// No call in progress.
    Idle,
    /// `migrate` sent; in `qemuMigrationSrcWaitForCompletion`.
    Migrating,
    /// Source completed; waiting for the destination's Finish (`qemuMigrationSrcConfirmPhase`).
    Confirming,
    /// The migration failed; `qemuMigrationSrcRestoreDomainState` is next.
    Restoring,
    /// `cont` sent by `qemuProcessStartCPUs` on behalf of the restore.
    RestoringCont,
    /// `cont` sent by `qemuProcessStartCPUs` on behalf of `virDomainResume`.
    ResumingCont,
    /// `stop` sent by `qemuProcessStopCPUs` on behalf of `virDomainSuspend`.
    SuspendingStop,
    /// `cont` passed through by `qemuDomainQemuMonitorCommand`.
    MonitorCont,
}

/// libvirt's domain object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Domain {
    /// `virDomainObjGetState`.
    pub state: DomainState,
    /// The migration job's status as the MIGRATION events report it.
    pub job: JobStatus,
    /// `priv->preMigrationState == VIR_DOMAIN_RUNNING`.
    pub pre_migration_running: bool,
    /// Migrations libvirt has started for this domain.
    pub migrations: u8,
}

/// libvirt's state of the domain on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainState {
    /// `VIR_DOMAIN_RUNNING`.
    Running,
    /// `VIR_DOMAIN_PAUSED`.
    Paused,
    /// `VIR_DOMAIN_SHUTOFF` after the monitor's EOF (QEMU died).
    Shutoff,
    /// Migrated away: the domain now lives on the destination.
    Migrated,
}

/// The migration job status libvirt knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// No migration job.
    None,
    /// `migrate` was sent.
    Active,
    /// MIGRATION `completed` handled.
    Completed,
    /// MIGRATION `failed` handled.
    Failed,
    /// MIGRATION `cancelled` handled.
    Cancelled,
}

/// A QMP event in flight to libvirt (or the monitor's EOF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// `STOP`.
    Stop,
    /// `RESUME`.
    Resume,
    /// `MIGRATION {"status": "completed"}`.
    MigrationCompleted,
    /// `MIGRATION {"status": "failed"}`.
    MigrationFailed,
    /// `MIGRATION {"status": "cancelled"}`.
    MigrationCancelled,
    /// The monitor socket's EOF: QEMU is gone.
    Eof,
}

/// The monitor: a command from the libvirt worker thread, or its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Qmp {
    /// Nothing in flight.
    Idle,
    /// `migrate` sent.
    Migrate,
    /// `cont` sent.
    Cont,
    /// `stop` sent.
    Stop,
    /// The reply (true: success).
    Replied(bool),
}

/// The `virsh domjobabort` of the `cancel` fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Abort {
    /// Not issued (yet).
    Waiting,
    /// QMP `migrate_cancel` sent.
    Sent,
    /// `migrate_fd_cancel` ran.
    Done,
}

/// The QEMU process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Qemu {
    /// Its run state.
    pub run: RunState,
    /// The big QEMU lock is held by the migration thread (completion's inactivation section).
    pub bql: bool,
    /// `MigrationState.vm_was_running`.
    pub vm_was_running: bool,
    /// Where it aborted, if it did.
    pub crash: Option<Crash>,
}

/// QEMU's run state, plus the two ways the source process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// `RUN_STATE_RUNNING`.
    Running,
    /// `RUN_STATE_PAUSED` (QMP `stop`).
    Paused,
    /// `RUN_STATE_FINISH_MIGRATE` (stopped by `migration_completion`).
    FinishMigrate,
    /// `RUN_STATE_POSTMIGRATE`.
    Postmigrate,
    /// Aborted on an assertion.
    Crashed,
    /// Stopped by libvirt after the destination took over.
    Migrated,
}

/// Which assertion QEMU died on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Crash {
    /// `bdrv_co_write_req_prepare`: ``Assertion `!(bs->open_flags & BDRV_O_INACTIVE)' failed``.
    GuestWrite,
    /// `bdrv_inactivate_recurse` on an already inactive node (QEMU < 10.0; gitlab #2395).
    InactivateRecurse,
}

/// QEMU's `MigrationState` (outgoing side).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Outgoing {
    /// `s->state`.
    pub status: MigStatus,
    /// Where the migration thread is.
    pub thread: MigThread,
    /// Migrations QEMU has started.
    pub attempts: u8,
    /// `qemu_file_get_error(s->to_dst_file)`.
    pub file_error: bool,
    /// `s->block_inactive`.
    pub block_inactive: bool,
    /// What the incoming side made of this attempt's stream.
    pub destination: Verdict,
}

/// `MigrationStatus` of the current (or last) attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigStatus {
    /// Never migrated.
    None,
    /// `MIGRATION_STATUS_ACTIVE`.
    Active,
    /// `MIGRATION_STATUS_CANCELLING`.
    Cancelling,
    /// `MIGRATION_STATUS_COMPLETED`.
    Completed,
    /// `MIGRATION_STATUS_FAILED`.
    Failed,
    /// `MIGRATION_STATUS_CANCELLED`.
    Cancelled,
}

/// The migration thread's program counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigThread {
    /// No thread.
    Idle,
    /// `migration_iteration_run` sending RAM; completion is next.
    Iterating,
    /// Inside `bdrv_inactivate_all`, at this disk (BQL held).
    Inactivating(u8),
    /// `qemu_savevm_state_complete_precopy` returned 0; BQL released.
    PrecopyDone,
    /// `qemu_savevm_state_complete_precopy` failed (`bdrv_inactivate_all() failed (-1)`); BQL
    /// released.
    PrecopyFailed,
    /// `migration_iteration_finish` is next.
    Finishing,
}

/// The incoming side's verdict on a completed stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Not known yet.
    Waiting,
    /// Loaded and activated.
    Accepted,
    /// `load of migration failed`.
    Rejected,
}

/// One guest disk: its BlockBackend and its (protocol) node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Disk {
    /// `BlockBackend.disable_perm`.
    pub disable_perm: bool,
    /// `BDRV_O_INACTIVE` on the node.
    pub inactive: bool,
    /// The node actually holds `BLK_PERM_WRITE` (file-posix has the image open `O_RDWR`).
    pub write_perm: bool,
    /// The last reopen by name failed with this error.
    pub open_error: OpenError,
}

/// The result of file-posix's last `qemu_open()` of the image by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum OpenError {
    /// No failed reopen.
    #[serde(rename = "none")]
    None,
    /// `Could not open '…': No such file or directory`.
    #[serde(rename = "ENOENT")]
    Enoent,
}

/// Which of a disk's two chains a link leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Chain {
    /// The chain at VM start.
    Initial,
    /// The disk's `retarget` chain.
    Retargeted,
}

/// QEMU's private /dev (libvirt's mount namespace).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Namespace {
    /// The paths under /dev that exist in it.
    pub nodes: BTreeSet<String>,
    /// Per disk whose source path is itself under /dev: where libvirt's copy of the link leads.
    pub links: Vec<Chain>,
}

/// The guest's writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Guest {
    /// Writes issued but not yet performed, per disk.
    pub pending: Vec<u8>,
    /// Writes that reached an active image (on the source, or on the destination after it).
    pub ok: u8,
    /// Writes in flight when QEMU aborted.
    pub lost: u8,
}

/// One step of one actor, with the branch it takes where that is decided when it is enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// mgmt: start an API call.
    Call(Call),
    /// mgmt: the guest will write to this disk.
    RequestWrite(u8),
    /// mgmt or storage agent: the storage update retargets the links.
    Retarget {
        /// Taken by the storage agent rather than the management program.
        agent: bool,
    },
    /// mgmt or storage agent: recreate the host's chains inside QEMU's /dev.
    FixNamespace {
        /// Taken by the storage agent rather than the management program.
        agent: bool,
    },
    /// api: a call on a domain that is not running here fails at once.
    CallFails,
    /// api: `qemuMigrationSrcRun`: store the pre-migration state, send `migrate`.
    MigrationSrcRun,
    /// api: `qemuMigrationSrcWaitForCompletion` returns.
    WaitForCompletion,
    /// api: `qemuMigrationSrcConfirmPhase` after the destination's Finish.
    ConfirmPhase,
    /// api: `qemuMigrationSrcRestoreDomainState`; sends `cont` if libvirt thinks it is paused.
    RestoreDomainState {
        /// It sends `cont`.
        cont: bool,
    },
    /// api: `qemuDomainResume`; sends `cont` if libvirt thinks it is paused.
    DomainResume {
        /// It sends `cont`.
        cont: bool,
    },
    /// api: `qemuProcessStartCPUs` gets the `cont` reply.
    StartCpusReply,
    /// api: `qemuDomainSuspend`; sends `stop` unless libvirt thinks the domain is paused.
    DomainSuspend {
        /// It sends `stop`.
        stop: bool,
    },
    /// api: `qemuProcessStopCPUs` gets the `stop` reply (after the `STOP` it caused was
    /// handled: the monitor delivers that event before the reply).
    StopCpusReply,
    /// api: `qemuDomainQemuMonitorCommand` passes QMP `cont` through.
    MonitorCommand,
    /// api: the passed-through command's reply goes back to the caller unread.
    MonitorReply,
    /// libvirt-events: the handler of the oldest event.
    HandleEvent(Event),
    /// abort-job: `qemuDomainAbortJob` sends `migrate_cancel`.
    AbortJob,
    /// qemu-main: `qmp_migrate`.
    QmpMigrate,
    /// qemu-main: `qmp_cont`.
    QmpCont,
    /// qemu-main: `qmp_stop`.
    QmpStop,
    /// qemu-main: `qmp_migrate_cancel` → `migrate_fd_cancel`.
    MigrateFdCancel,
    /// qemu-migration: `migration_completion` stops the VM (`vm_stop_force_state`).
    CompletionStop,
    /// qemu-migration: `bdrv_inactivate_recurse` on this disk's node.
    Inactivate(u8),
    /// qemu-migration: the rest of `migration_completion`, down this branch.
    CompletionEnd(Branch),
    /// qemu-migration: `migration_iteration_finish`.
    IterationFinish,
    /// guest: a write to this disk.
    GuestWrite(u8),
    /// libvirt-ns: `qemuDomainNamespaceSetupDisk` for this disk (`re-setup-on-change`).
    NamespaceSetupDisk(u8),
    /// destination: `process_incoming_migration_co` loads the stream (or fails to).
    Incoming {
        /// It loads it.
        accept: bool,
    },
}

/// How `migration_completion` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Branch {
    /// `migrate_set_state(…, MIGRATION_STATUS_COMPLETED)`.
    Completed,
    /// `qemu_savevm_state_complete_precopy` failed: `goto fail`.
    FailPrecopy,
    /// The stream has an error (or was shut down by a cancel): `goto fail_invalidate`.
    FailStream,
}
