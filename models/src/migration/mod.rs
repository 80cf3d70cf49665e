//! `migration`: an outgoing live migration's block inactivation, its failure paths, and the
//! later resume or second migration (seed 003), over libvirt's private /dev for QEMU.
//!
//! At completion the source stops the VM and `bdrv_inactivate_all` gives up every image: per
//! BlockBackend, `blk_root_inactivate` sets `disable_perm` and drops its permissions, which
//! under `auto-read-only` makes file-posix reopen the image *by name* inside QEMU's mount
//! namespace. If a host symlink was retargeted after start to a node libvirt never created in
//! that namespace, the reopen fails with `ENOENT`, the (loosening) error is swallowed, WRITE is
//! still held, `bdrv_inactivate_recurse` returns `-EPERM` and the migration fails. Whether
//! `disable_perm` and `BDRV_O_INACTIVE` are then undone depends on the failure path and on the
//! QEMU version; a sticky `disable_perm` makes every later `blk_root_inactivate` return early, so
//! every later migration fails with `-EPERM` even once the namespace is repaired; an inactive
//! node makes the next guest write (or the next migration) abort QEMU.
//!
//! # Actors and steps (labels; the upstream function is in [`sim::StepInfo::upstream`])
//!
//! * `mgmt` runs `ops` in order: `virsh migrate`, `virsh resume`, `virsh suspend` and
//!   `virsh qemu-monitor-command cont` (then waits for the call), `request-write diskN` (the
//!   guest will write), `retarget`, `fix-namespace`. `suspend` and `cont` are typed by a person
//!   after the previous call returned: they start once QEMU's migration thread has exited and
//!   libvirt has handled the events QEMU sent.
//! * `libvirt-api`, the libvirtd worker: `qemuMigrationSrcRun` (stores the pre-migration state,
//!   sends `migrate`), `qemuMigrationSrcWaitForCompletion`, `qemuMigrationSrcConfirmPhase`
//!   (stops the source once the destination took over), `qemuMigrationSrcRestoreDomainState`
//!   (sends `cont` only if libvirt believes the domain paused), `qemuDomainResume` (likewise),
//!   `qemuProcessStartCPUs` (the `cont` reply), `qemuDomainSuspend` (sends `stop` unless libvirt
//!   believes the domain paused), `qemuProcessStopCPUs` (the `stop` reply, after the `STOP` it
//!   caused was handled: the monitor delivers events before the reply),
//!   `qemuDomainQemuMonitorCommand` (passes `cont` through whatever libvirt believes; the
//!   state follows the events), `call-fails` (the domain is not here).
//! * `libvirt-events`: `qemuProcessHandleStop`, `…Resume`, `…MigrationStatus`,
//!   `…MonitorEOF`, one event at a time in QEMU's order.
//! * `qemu-main`: `qmp_migrate`, `qmp_cont` (refused in FINISH_MIGRATE, else
//!   `bdrv_activate_all` then `vm_start`), `qmp_stop` (`vm_stop(RUN_STATE_PAUSED)`: a running
//!   VM pauses and sends `STOP`; no block state changes), `migrate_fd_cancel`; none while the
//!   migration thread holds the big lock. `bdrv_activate` calls the BlockBackend's
//!   `blk_root_activate` even on a node that is not inactive, so any `cont` clears a
//!   `disable_perm` left by a failed inactivation (`seed-003-recovery`).
//! * `qemu-migration`: `vm_stop_force_state` (takes the big lock), `bdrv_inactivate_recurse
//!   diskN` (one step per node, lock held), `migration_completion: …` (completed, `fail`, or
//!   `fail_invalidate`, re-activating as the variant does), `migration_iteration_finish`
//!   (`vm_start` after a failure, POSTMIGRATE after success).
//! * `guest`: `write diskN` whenever its vCPUs run (on the destination once migrated).
//! * `storage-agent`: `storage_agent` actions at any moment; `libvirt-ns`:
//!   `qemuDomainNamespaceSetupDisk diskN` (`re-setup-on-change` only); `destination`:
//!   `process_incoming_migration_co`; `abort-job`: `qemuDomainAbortJob` (`cancel` fault).
//!
//! # Variants
//!
//! `qemu_migration` (see [`QemuMigration::VALUES`]): `sticky-disable-perm` (no failure path
//! re-activates), `fail-invalidate-label` (QEMU 2.10-8.0.0 and 7.2.0-7.2.2: socket errors and
//! cancels re-activate, a failed `bdrv_inactivate_all` does not), `reactivate-on-failure`
//! (6dab4c93ec: 8.1, 7.2.3+, bookworm's deb12u1 onwards). `namespace` (see
//! [`NamespaceMode::VALUES`]): `snapshot-at-start` or `re-setup-on-change`.
//!
//! # Observations
//!
//! `vm.runstate` (`running`, `paused` for PAUSED, FINISH_MIGRATE and POSTMIGRATE, `crashed`,
//! `migrated`), `vm.migration` (QEMU's status of
//! the last attempt: `none`, `active`, `cancelling`, `completed`, `failed`, `cancelled`),
//! `vm.crashed`, `vm.crash` (`none`, `guest-write`, `inactivate-recurse`), `libvirt.state`
//! (`running`, `paused`, `shutoff`, `migrated`), `migrations_started` (by QEMU),
//! `migrations_failed` (migrate calls that returned failure); per disk N: `diskN.disable_perm`,
//! `diskN.inactive`, `diskN.write_perm`, `diskN.open_error` (`none`, `ENOENT`),
//! `diskN.resolves` (its source opens inside QEMU's /dev now), `diskN.host_target` (first hop of
//! the host's link); then `guest.writes_ok`, `guest.writes_lost`, `guest.writes_pending`.
//!
//! # Properties
//!
//! `QEMU never aborts` and `vCPUs never run on an inactive image` (always), `the VM ends
//! running or migrated` and `a VM left running can migrate again` (no `disable_perm` or
//! `BDRV_O_INACTIVE` left behind; checked at the end). Terminal outcomes read like
//! `running, 2 migration(s) failed, disk0 disable_perm stuck`.
//!
//! # Departures from the real code
//!
//! * One node per disk: the format node above the protocol node changes nothing here. The
//!   reopen by name of a read-write disk happens whenever WRITE is gained or lost, as with
//!   libvirt's `-blockdev` and `auto-read-only: true`; a read-only disk never reopens.
//! * The variants keep the rest of QEMU 7.2's code: `qmp_cont`'s `bdrv_activate_all`, and the
//!   assertion in `bdrv_inactivate_recurse` (replaced by an early return in QEMU 10.0).
//!   `qmp_cont` is the same from 6.2 to 9.2 (`bdrv_invalidate_cache_all` until 7.1 renamed it
//!   `bdrv_activate_all`); 10.0 (Peter Xu's disk-activation rewrite) activates through
//!   `migration_block_activate` and skips that only in INMIGRATE, which the source never is.
//!   `qmp_cont`'s SUSPENDED (guest S3) and needs-reset checks are not modelled.
//! * `fail:`'s reactivation and `migrate_set_state(FAILED)` are one step (really two BQL
//!   sections); `migrate_fd_cleanup` is folded into `migration_iteration_finish`; a new
//!   `migrate` waits until the previous migration thread is gone (the management layer retries
//!   much later than the thread takes to exit).
//! * libvirt's `query-migrate` and `migrate_cancel` round trips after a failure are not
//!   modelled; they only move the moment the restore reads the domain state, which is what
//!   races with the RESUME event either way.
//! * The destination only judges completed streams; a socket error is only injected after
//!   inactivation; the host's chains always exist, so ENOENT only comes from a stale namespace;
//!   preserved /dev submounts and relative link targets are not modelled.

mod block;
mod config;
mod footprint;
mod libvirt;
mod log;
mod qemu;
mod state;
mod storage;

pub use config::{
    Config, Destination, DiskConfig, Fault, HostAction, NamespaceMode, Op, QemuMigration,
    MAX_DISKS, MAX_OPS,
};
pub use footprint::ACTORS;
pub use state::{
    Abort, Api, Branch, Call, Chain, Crash, Disk, Domain, DomainState, Event, Guest, JobStatus,
    MigStatus, MigThread, Namespace, OpenError, Outgoing, Qemu, Qmp, RunState, State, Step,
    Verdict,
};

use crate::scenario::{serde_name, ModelInfo, Obs, Observable, VariantAxis};
use footprint::{actor_footprints, step_footprint, O_BLOCK, O_RUN};
use sim::{ActorId, Footprint, Model, Property, StepInfo};
use storage::{initial_namespace, resolves_now, DiskChains};

/// What `vmrace list` shows about the migration model.
pub fn info() -> ModelInfo {
    ModelInfo {
        name: "migration",
        summary: "outgoing live migration: block inactivation, failure paths, resume, and \
                  libvirt's /dev namespace (seed 003)",
        axes: vec![
            VariantAxis {
                key: "qemu_migration",
                values: QemuMigration::VALUES.to_vec(),
            },
            VariantAxis {
                key: "namespace",
                values: NamespaceMode::VALUES.to_vec(),
            },
        ],
    }
}

/// The model for one configuration.
pub struct Migration {
    config: Config,
    disks: Vec<DiskChains>,
    actor_fp: Vec<Footprint>,
}

impl Migration {
    /// A configuration, validated.
    pub fn new(config: Config) -> Result<Self, String> {
        config.validate()?;
        let disks: Vec<DiskChains> = config.disks.iter().map(DiskChains::new).collect();
        Ok(Migration {
            config,
            disks,
            actor_fp: actor_footprints(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn crash_name(crash: Option<Crash>) -> &'static str {
        match crash {
            None => "none",
            Some(Crash::GuestWrite) => "guest-write",
            Some(Crash::InactivateRecurse) => "inactivate-recurse",
        }
    }
}

fn runstate(s: &State) -> &'static str {
    match s.qemu.run {
        RunState::Running => "running",
        RunState::Paused | RunState::FinishMigrate | RunState::Postmigrate => "paused",
        RunState::Crashed => "crashed",
        RunState::Migrated => "migrated",
    }
}

impl Model for Migration {
    type State = State;
    type Action = Step;

    fn name(&self) -> String {
        "migration".to_string()
    }

    fn version(&self) -> u32 {
        2
    }

    fn actors(&self) -> Vec<String> {
        ACTORS.iter().map(|a| a.to_string()).collect()
    }

    fn init_states(&self) -> Vec<State> {
        let n = self.disks.len();
        vec![State {
            mgmt_pc: 0,
            call: None,
            api: Api::Idle,
            domain: Domain {
                state: DomainState::Running,
                job: JobStatus::None,
                pre_migration_running: false,
                migrations: 0,
            },
            events: Vec::new(),
            qmp: Qmp::Idle,
            abort: Abort::Waiting,
            qemu: Qemu {
                run: RunState::Running,
                bql: false,
                vm_was_running: false,
                crash: None,
            },
            migration: Outgoing {
                status: MigStatus::None,
                thread: MigThread::Idle,
                attempts: 0,
                file_error: false,
                block_inactive: false,
                destination: Verdict::Waiting,
            },
            disks: (0..n)
                .map(|d| Disk {
                    disable_perm: false,
                    inactive: false,
                    write_perm: !self.readonly(d),
                    open_error: OpenError::None,
                })
                .collect(),
            host_links: vec![Chain::Initial; n],
            namespace: initial_namespace(&self.disks),
            agent_pc: 0,
            guest: Guest {
                pending: vec![0; n],
                ok: 0,
                lost: 0,
            },
            migrations_failed: 0,
        }]
    }

    fn actions(&self, s: &State, out: &mut Vec<Step>) {
        self.libvirt_actions(s, out);
        self.qemu_actions(s, out);
        if matches!(s.qemu.run, RunState::Running | RunState::Migrated) {
            for (d, &pending) in s.guest.pending.iter().enumerate() {
                if pending > 0 {
                    out.push(Step::GuestWrite(d as u8));
                }
            }
        }
    }

    fn next_state(&self, s: &State, step: &Step) -> State {
        let mut next = s.clone();
        match footprint::actor_of(step) {
            footprint::QEMU_MAIN | footprint::QEMU_MIGRATION | footprint::DESTINATION => {
                self.qemu_step(&mut next, *step)
            }
            footprint::GUEST => {
                let Step::GuestWrite(d) = *step else {
                    unreachable!("guest steps are writes")
                };
                self.guest_write(&mut next, d as usize);
            }
            _ => self.libvirt_step(&mut next, *step),
        }
        next
    }

    fn actor_of(&self, step: &Step) -> ActorId {
        footprint::actor_of(step)
    }

    fn step_info(&self, step: &Step) -> StepInfo {
        let (label, upstream) = labels(step);
        StepInfo {
            actor: footprint::actor_of(step),
            label,
            upstream: upstream.map(str::to_string),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let run = Footprint::NONE.read(O_RUN);
        vec![
            Property::always("QEMU never aborts", |_: &Self, s: &State| {
                s.qemu.crash.is_none()
            })
            .reading(run),
            Property::always(
                "vCPUs never run on an inactive image",
                |_: &Self, s: &State| {
                    s.qemu.run != RunState::Running || s.disks.iter().all(|d| !d.inactive)
                },
            )
            .reading(run.read(O_BLOCK)),
            Property::at_end("the VM ends running or migrated", |_: &Self, s: &State| {
                matches!(s.qemu.run, RunState::Running | RunState::Migrated)
            }),
            Property::at_end(
                "a VM left running can migrate again",
                |_: &Self, s: &State| {
                    s.qemu.run != RunState::Running
                        || s.disks.iter().all(|d| !d.disable_perm && !d.inactive)
                },
            ),
        ]
    }

    fn footprint(&self, _s: &State, step: &Step) -> Footprint {
        step_footprint(step)
    }

    fn future_footprint(&self, s: &State, actor: ActorId) -> Footprint {
        if self.may_act(s, actor) {
            self.actor_fp[actor as usize]
        } else {
            Footprint::NONE
        }
    }

    fn is_done(&self, s: &State) -> bool {
        let alive = qemu::alive(s);
        s.mgmt_pc as usize == self.config.ops.len()
            && s.call.is_none()
            && s.api == Api::Idle
            && s.events.is_empty()
            && (!alive || (s.qmp == Qmp::Idle && s.abort != Abort::Sent))
            && (!alive || s.migration.thread == MigThread::Idle)
            && s.agent_pc as usize == self.config.storage_agent.len()
    }

    fn outcome(&self, s: &State) -> Option<String> {
        let mut text = match s.qemu.run {
            RunState::Crashed => format!("crashed in {}", Self::crash_name(s.qemu.crash)),
            _ => runstate(s).to_string(),
        };
        if s.migrations_failed > 0 {
            text += &format!(", {} migration(s) failed", s.migrations_failed);
        }
        if matches!(
            s.qemu.run,
            RunState::Running | RunState::Paused | RunState::Postmigrate
        ) {
            for (d, disk) in s.disks.iter().enumerate() {
                if disk.inactive {
                    text += &format!(", disk{d} inactive");
                } else if disk.disable_perm {
                    text += &format!(", disk{d} disable_perm stuck");
                }
            }
        }
        Some(text)
    }
}

impl Observable for Migration {
    fn observe(&self, s: &State) -> Vec<(String, Obs)> {
        let str_obs = |name: &str, v: &str| (name.to_string(), Obs::Str(v.to_string()));
        let crashed = s.qemu.run == RunState::Crashed;
        let pending: u8 = s.guest.pending.iter().sum();
        let mut out = vec![
            str_obs("vm.runstate", runstate(s)),
            str_obs("vm.migration", &serde_name(&s.migration.status)),
            ("vm.crashed".into(), Obs::Bool(crashed)),
            str_obs("vm.crash", Self::crash_name(s.qemu.crash)),
            str_obs("libvirt.state", &serde_name(&s.domain.state)),
            (
                "migrations_started".into(),
                Obs::Int(s.migration.attempts.into()),
            ),
            (
                "migrations_failed".into(),
                Obs::Int(s.migrations_failed.into()),
            ),
        ];
        for (d, disk) in s.disks.iter().enumerate() {
            let chains = &self.disks[d];
            let host = chains
                .chain(s.host_links[d])
                .first()
                .unwrap_or(&chains.path);
            out.extend([
                (
                    format!("disk{d}.disable_perm"),
                    Obs::Bool(disk.disable_perm),
                ),
                (format!("disk{d}.inactive"), Obs::Bool(disk.inactive)),
                (format!("disk{d}.write_perm"), Obs::Bool(disk.write_perm)),
                str_obs(
                    &format!("disk{d}.open_error"),
                    &serde_name(&disk.open_error),
                ),
                (
                    format!("disk{d}.resolves"),
                    Obs::Bool(resolves_now(s, &self.disks[d], d)),
                ),
                str_obs(&format!("disk{d}.host_target"), host),
            ]);
        }
        let lost = s.guest.lost + if crashed { pending } else { 0 };
        out.extend([
            ("guest.writes_ok".into(), Obs::Int(s.guest.ok.into())),
            ("guest.writes_lost".into(), Obs::Int(lost.into())),
            (
                "guest.writes_pending".into(),
                Obs::Int(if crashed { 0 } else { pending.into() }),
            ),
        ]);
        out
    }
}

/// A step's label (stable, for traces) and the upstream function it stands for.
fn labels(step: &Step) -> (String, Option<&'static str>) {
    let call = |label: &str, upstream| (label.to_string(), Some(upstream));
    match *step {
        Step::Call(Call::Migrate) => call("virsh migrate", "virDomainMigrateToURI3"),
        Step::Call(Call::Resume) => call("virsh resume", "virDomainResume"),
        Step::Call(Call::Suspend) => call("virsh suspend", "virDomainSuspend"),
        Step::Call(Call::Cont) => call(
            "virsh qemu-monitor-command cont",
            "virDomainQemuMonitorCommand",
        ),
        Step::RequestWrite(d) => (format!("request-write disk{d}"), None),
        Step::Retarget { .. } => ("retarget".into(), None),
        Step::FixNamespace { .. } => ("fix-namespace".into(), None),
        Step::CallFails => call("call-fails", "virDomainObjCheckActive"),
        Step::MigrationSrcRun => call(
            "qemuMigrationSrcRun",
            "qemuMigrationSrcRun → qemuMigrationSrcStoreDomainState, qemuMonitorMigrateToFd",
        ),
        Step::WaitForCompletion => call(
            "qemuMigrationSrcWaitForCompletion",
            "qemuMigrationSrcWaitForCompletion",
        ),
        Step::ConfirmPhase => call(
            "qemuMigrationSrcConfirmPhase",
            "qemuMigrationSrcConfirmPhase → qemuProcessStop",
        ),
        Step::RestoreDomainState { cont } => (
            format!(
                "qemuMigrationSrcRestoreDomainState{}",
                if cont { " → cont" } else { "" }
            ),
            Some("qemuMigrationSrcRestoreDomainState → qemuProcessStartCPUs"),
        ),
        Step::DomainResume { cont } => (
            format!("qemuDomainResume{}", if cont { " → cont" } else { "" }),
            Some("qemuDomainResume → qemuProcessStartCPUs"),
        ),
        Step::StartCpusReply => call("qemuProcessStartCPUs", "qemuProcessStartCPUs"),
        Step::DomainSuspend { stop } => (
            format!("qemuDomainSuspend{}", if stop { " → stop" } else { "" }),
            Some("qemuDomainSuspend → qemuProcessStopCPUs"),
        ),
        Step::StopCpusReply => call("qemuProcessStopCPUs", "qemuProcessStopCPUs"),
        Step::MonitorCommand => call(
            "qemuDomainQemuMonitorCommand → cont",
            "qemuDomainQemuMonitorCommandWithFiles → qemuMonitorArbitraryCommand",
        ),
        Step::MonitorReply => call(
            "qemuDomainQemuMonitorCommand reply",
            "qemuMonitorArbitraryCommand",
        ),
        Step::HandleEvent(event) => {
            let (label, upstream) = match event {
                Event::Stop => ("STOP", "qemuProcessHandleStop"),
                Event::Resume => ("RESUME", "qemuProcessHandleResume"),
                Event::MigrationCompleted => {
                    ("MIGRATION completed", "qemuProcessHandleMigrationStatus")
                }
                Event::MigrationFailed => ("MIGRATION failed", "qemuProcessHandleMigrationStatus"),
                Event::MigrationCancelled => {
                    ("MIGRATION cancelled", "qemuProcessHandleMigrationStatus")
                }
                Event::Eof => ("EOF", "qemuProcessHandleMonitorEOF"),
            };
            call(label, upstream)
        }
        Step::AbortJob => call(
            "qemuDomainAbortJob",
            "qemuDomainAbortJobMigration → migrate_cancel",
        ),
        Step::QmpMigrate => call(
            "qmp_migrate",
            "qmp_migrate → migrate_init → migration_thread",
        ),
        Step::QmpCont => call(
            "qmp_cont",
            "qmp_cont → bdrv_activate_all → bdrv_activate → blk_root_activate; vm_start",
        ),
        Step::QmpStop => call(
            "qmp_stop",
            "qmp_stop → vm_stop(RUN_STATE_PAUSED) → do_vm_stop",
        ),
        Step::MigrateFdCancel => call(
            "migrate_fd_cancel",
            "qmp_migrate_cancel → migrate_fd_cancel",
        ),
        Step::CompletionStop => call(
            "vm_stop_force_state",
            "migration_completion → vm_stop_force_state(RUN_STATE_FINISH_MIGRATE)",
        ),
        Step::Inactivate(d) => (
            format!("bdrv_inactivate_recurse disk{d}"),
            Some(
                "qemu_savevm_state_complete_precopy_non_iterable → bdrv_inactivate_all → \
                 bdrv_inactivate_recurse → blk_root_inactivate → bdrv_child_try_set_perm",
            ),
        ),
        Step::CompletionEnd(branch) => {
            let label = match branch {
                Branch::Completed => "migration_completion: completed",
                Branch::FailPrecopy => "migration_completion: fail",
                Branch::FailStream => "migration_completion: fail_invalidate",
            };
            call(label, "migration_completion")
        }
        Step::IterationFinish => call(
            "migration_iteration_finish",
            "migration_iteration_finish → vm_start",
        ),
        Step::GuestWrite(d) => (
            format!("write disk{d}"),
            Some("blk_co_pwritev → bdrv_co_write_req_prepare"),
        ),
        Step::NamespaceSetupDisk(d) => (
            format!("qemuDomainNamespaceSetupDisk disk{d}"),
            Some("qemuDomainNamespaceSetupDisk → qemuNamespaceMknodPaths"),
        ),
        Step::Incoming { accept } => (
            format!(
                "process_incoming_migration_co: {}",
                if accept { "loaded" } else { "load failed" }
            ),
            Some("process_incoming_migration_co"),
        ),
    }
}
