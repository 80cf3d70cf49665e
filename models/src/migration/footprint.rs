//! The actors, the shared objects their steps touch, and the footprints partial-order reduction
//! relies on. Each step's footprint is a static over-approximation of what it may read or write
//! in any state (including what decides whether it is enabled); an actor's future footprint is
//! the union over every step it may still take.

use super::config::{Fault, HostAction, NamespaceMode, Op};
use super::qemu::alive;
use super::state::{
    Abort, Api, Branch, Call, Event, MigStatus, MigThread, Qmp, RunState, State, Step, Verdict,
};
use super::storage::setup_would_change;
use super::Migration;
use sim::{ActorId, Footprint, ObjectId};

/// OpenNebula / the admin: runs `ops` in order.
pub const MGMT: ActorId = 0;
/// The libvirtd worker thread running the current API call.
pub const API: ActorId = 1;
/// libvirtd's monitor event handlers.
pub const EVENTS: ActorId = 2;
/// QEMU's main loop (QMP commands).
pub const QEMU_MAIN: ActorId = 3;
/// QEMU's `live_migration` thread.
pub const QEMU_MIGRATION: ActorId = 4;
/// The guest's vCPUs.
pub const GUEST: ActorId = 5;
/// The host's storage agent.
pub const STORAGE_AGENT: ActorId = 6;
/// libvirt re-running the namespace setup (`re-setup-on-change`).
pub const LIBVIRT_NS: ActorId = 7;
/// The incoming QEMU.
pub const DESTINATION: ActorId = 8;
/// `virsh domjobabort` (the `cancel` fault).
pub const ABORT_JOB: ActorId = 9;

/// Actor names, indexed by [`ActorId`].
pub const ACTORS: [&str; 10] = [
    "mgmt",
    "libvirt-api",
    "libvirt-events",
    "qemu-main",
    "qemu-migration",
    "guest",
    "storage-agent",
    "libvirt-ns",
    "destination",
    "abort-job",
];

/// The management program counter, the API call mailbox and the call counters.
const O_MGMT: ObjectId = 0;
/// libvirt's domain object (state, job status, pre-migration state).
const O_DOMAIN: ObjectId = 1;
/// The QMP event queue.
const O_EVENTS: ObjectId = 2;
/// The QMP command slot.
const O_QMP: ObjectId = 3;
/// QEMU's big lock.
pub(crate) const O_BQL: ObjectId = 4;
/// The block layer: every disk's BlockBackend and node, `block_inactive`.
pub(crate) const O_BLOCK: ObjectId = 5;
/// QEMU's run state, crash site and `vm_was_running`.
pub(crate) const O_RUN: ObjectId = 6;
/// `MigrationState` and the migration thread's program counter.
const O_MIG: ObjectId = 7;
/// The host's symlinks.
const O_HOST: ObjectId = 8;
/// QEMU's private /dev.
const O_NS: ObjectId = 9;
/// The guest's writes.
const O_GUEST: ObjectId = 10;
/// The destination's verdict.
const O_DEST: ObjectId = 11;
/// The `domjobabort` request.
const O_ABORT: ObjectId = 12;
/// The storage agent's program counter.
const O_AGENT: ObjectId = 13;

fn fp(reads: &[ObjectId], writes: &[ObjectId]) -> Footprint {
    let f = reads.iter().fold(Footprint::NONE, |f, &o| f.read(o));
    writes.iter().fold(f, |f, &o| f.write(o))
}

/// The actor taking `step`.
pub fn actor_of(step: &Step) -> ActorId {
    match step {
        Step::Call(_) | Step::RequestWrite(_) => MGMT,
        Step::Retarget { agent } | Step::FixNamespace { agent } => {
            if *agent {
                STORAGE_AGENT
            } else {
                MGMT
            }
        }
        Step::CallFails
        | Step::MigrationSrcRun
        | Step::WaitForCompletion
        | Step::ConfirmPhase
        | Step::RestoreDomainState { .. }
        | Step::DomainResume { .. }
        | Step::StartCpusReply
        | Step::DomainSuspend { .. }
        | Step::StopCpusReply
        | Step::MonitorCommand
        | Step::MonitorReply => API,
        Step::HandleEvent(_) => EVENTS,
        Step::AbortJob => ABORT_JOB,
        Step::QmpMigrate | Step::QmpCont | Step::QmpStop | Step::MigrateFdCancel => QEMU_MAIN,
        Step::CompletionStop
        | Step::Inactivate(_)
        | Step::CompletionEnd(_)
        | Step::IterationFinish => QEMU_MIGRATION,
        Step::GuestWrite(_) => GUEST,
        Step::NamespaceSetupDisk(_) => LIBVIRT_NS,
        Step::Incoming { .. } => DESTINATION,
    }
}

/// What `step` may read and write, in any state.
pub fn step_footprint(step: &Step) -> Footprint {
    let block_io = [O_BLOCK, O_HOST, O_NS];
    match step {
        // suspend and cont wait for the migration thread to exit and the events to be handled
        Step::Call(Call::Suspend | Call::Cont) => fp(&[O_MIG, O_RUN, O_EVENTS], &[O_MGMT]),
        Step::Call(_) => fp(&[], &[O_MGMT]),
        Step::RequestWrite(_) => fp(&[], &[O_MGMT, O_GUEST]),
        Step::Retarget { agent: false } => fp(&[], &[O_MGMT, O_HOST]),
        Step::Retarget { agent: true } => fp(&[], &[O_AGENT, O_HOST]),
        Step::FixNamespace { agent: false } => fp(&[O_HOST, O_RUN], &[O_MGMT, O_NS]),
        Step::FixNamespace { agent: true } => fp(&[O_HOST, O_RUN], &[O_AGENT, O_NS]),
        Step::NamespaceSetupDisk(_) => fp(&[O_HOST, O_RUN], &[O_NS]),
        Step::CallFails
        | Step::MigrationSrcRun
        | Step::WaitForCompletion
        | Step::RestoreDomainState { .. }
        | Step::DomainResume { .. }
        | Step::StartCpusReply
        | Step::DomainSuspend { .. }
        | Step::MonitorCommand
        | Step::MonitorReply => fp(&[], &[O_MGMT, O_DOMAIN, O_QMP]),
        Step::StopCpusReply => fp(&[O_EVENTS], &[O_MGMT, O_DOMAIN, O_QMP]),
        Step::ConfirmPhase => fp(&[O_DEST], &[O_MGMT, O_DOMAIN, O_QMP, O_RUN]),
        Step::HandleEvent(_) => fp(&[], &[O_EVENTS, O_DOMAIN]),
        Step::AbortJob => fp(&[O_DOMAIN], &[O_ABORT]),
        Step::QmpMigrate => fp(&[O_BQL], &[O_QMP, O_MIG, O_RUN, O_DEST]),
        Step::QmpCont => fp(&[O_BQL, O_HOST, O_NS], &[O_QMP, O_RUN, O_BLOCK, O_EVENTS]),
        Step::QmpStop => fp(&[O_BQL], &[O_QMP, O_RUN, O_EVENTS]),
        Step::MigrateFdCancel => fp(&[O_BQL, O_RUN, O_HOST, O_NS], &[O_ABORT, O_MIG, O_BLOCK]),
        Step::CompletionStop => fp(&[], &[O_BQL, O_MIG, O_RUN, O_EVENTS, O_BLOCK]),
        Step::Inactivate(_) => fp(&block_io, &[O_BQL, O_MIG, O_BLOCK, O_RUN, O_EVENTS]),
        Step::CompletionEnd(_) => fp(&[O_BQL, O_RUN, O_HOST, O_NS], &[O_MIG, O_BLOCK, O_EVENTS]),
        Step::IterationFinish => fp(&[O_BQL], &[O_MIG, O_RUN, O_EVENTS]),
        Step::GuestWrite(_) => fp(&[O_BLOCK], &[O_GUEST, O_RUN, O_EVENTS, O_BQL]),
        Step::Incoming { .. } => fp(&[O_MIG], &[O_DEST]),
    }
}

/// One step of each kind an actor can take (payloads do not change footprints).
fn repertoire(actor: ActorId) -> Vec<Step> {
    match actor {
        MGMT => vec![
            Step::Call(Call::Migrate),
            Step::Call(Call::Suspend),
            Step::RequestWrite(0),
            Step::Retarget { agent: false },
            Step::FixNamespace { agent: false },
        ],
        API => vec![
            Step::ConfirmPhase,
            Step::MigrationSrcRun,
            Step::StopCpusReply,
        ],
        EVENTS => vec![Step::HandleEvent(Event::Stop)],
        QEMU_MAIN => vec![
            Step::QmpMigrate,
            Step::QmpCont,
            Step::QmpStop,
            Step::MigrateFdCancel,
        ],
        QEMU_MIGRATION => vec![
            Step::CompletionStop,
            Step::Inactivate(0),
            Step::CompletionEnd(Branch::Completed),
            Step::IterationFinish,
        ],
        GUEST => vec![Step::GuestWrite(0)],
        STORAGE_AGENT => vec![
            Step::Retarget { agent: true },
            Step::FixNamespace { agent: true },
        ],
        LIBVIRT_NS => vec![Step::NamespaceSetupDisk(0)],
        DESTINATION => vec![Step::Incoming { accept: true }],
        _ => vec![Step::AbortJob],
    }
}

/// Every actor's whole repertoire, as one footprint each.
pub fn actor_footprints() -> Vec<Footprint> {
    (0..ACTORS.len() as ActorId)
        .map(|a| {
            repertoire(a)
                .iter()
                .fold(Footprint::NONE, |f, s| f.union(step_footprint(s)))
        })
        .collect()
}

impl Migration {
    /// Whether `actor` may take another step from `s` on, whatever the others do. Each answer
    /// follows the chain of steps that could enable the actor (a `migrate` op → the call → the
    /// QMP command → the migration thread → the events it emits).
    pub(crate) fn may_act(&self, s: &State, actor: ActorId) -> bool {
        let ahead = &self.config.ops[(s.mgmt_pc as usize).min(self.config.ops.len())..];
        let agent_ahead = &self.config.storage_agent[s.agent_pc as usize..];
        let alive = alive(s);
        let migration = || {
            s.migration.thread != MigThread::Idle
                || s.qmp == Qmp::Migrate
                || s.call == Some(Call::Migrate)
                || ahead.contains(&Op::Migrate)
        };
        let main = || {
            matches!(s.qmp, Qmp::Migrate | Qmp::Cont | Qmp::Stop)
                || s.abort == Abort::Sent
                || self.may_act(s, ABORT_JOB)
                || s.call.is_some()
                || s.api != Api::Idle
                || ahead
                    .iter()
                    .any(|o| matches!(o, Op::Migrate | Op::Resume | Op::Suspend | Op::Cont))
        };
        match actor {
            MGMT => !ahead.is_empty(),
            API => !ahead.is_empty() || s.call.is_some() || s.api != Api::Idle,
            EVENTS => {
                !s.events.is_empty() || (alive && (migration() || main() || self.may_act(s, GUEST)))
            }
            QEMU_MAIN => alive && main(),
            QEMU_MIGRATION => alive && migration(),
            DESTINATION => {
                alive
                    && (migration()
                        || (s.migration.status == MigStatus::Completed
                            && s.migration.destination == Verdict::Waiting))
            }
            LIBVIRT_NS => {
                alive
                    && self.config.namespace == NamespaceMode::ReSetupOnChange
                    && (ahead.contains(&Op::Retarget)
                        || agent_ahead.contains(&HostAction::Retarget)
                        || self.disks.iter().enumerate().any(|(d, disk)| {
                            setup_would_change(&s.namespace, s.host_links[d], disk, d)
                        }))
            }
            GUEST => {
                s.qemu.run != RunState::Crashed
                    && (ahead.iter().any(|o| matches!(o, Op::GuestWrite(_)))
                        || s.guest.pending.iter().any(|&p| p > 0))
            }
            STORAGE_AGENT => !agent_ahead.is_empty(),
            _ => s.abort == Abort::Waiting && self.config.fail_after_inactivation == Fault::Cancel,
        }
    }
}
