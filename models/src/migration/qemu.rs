//! The source QEMU's main loop (QMP commands under the big lock) and its migration thread
//! (`migration_thread` → `migration_completion` → `migration_iteration_finish`), plus the
//! incoming side's verdict.

use super::block::{crash, Inactivation};
use super::config::{Destination, Fault, QemuMigration};
use super::state::{
    Abort, Branch, Crash, Event, MigStatus, MigThread, Qmp, RunState, State, Step, Verdict,
};
use super::Migration;

/// The QEMU process still exists (it neither aborted nor was stopped after a migration).
pub(crate) fn alive(s: &State) -> bool {
    !matches!(s.qemu.run, RunState::Crashed | RunState::Migrated)
}

impl Migration {
    /// The enabled steps of the main loop, the migration thread and the destination.
    pub(crate) fn qemu_actions(&self, s: &State, out: &mut Vec<Step>) {
        if alive(s) && !s.qemu.bql {
            match s.qmp {
                // the previous attempt's thread is joined (migrate_fd_cleanup) long before the
                // management layer retries
                Qmp::Migrate if s.migration.thread == MigThread::Idle => out.push(Step::QmpMigrate),
                Qmp::Migrate => {}
                Qmp::Cont => out.push(Step::QmpCont),
                Qmp::Stop => out.push(Step::QmpStop),
                Qmp::Idle | Qmp::Replied(_) => {}
            }
            if s.abort == Abort::Sent {
                out.push(Step::MigrateFdCancel);
            }
        }
        if alive(s) {
            match s.migration.thread {
                MigThread::Idle => {}
                MigThread::Iterating if s.migration.status == MigStatus::Cancelling => {
                    out.push(Step::IterationFinish)
                }
                MigThread::Iterating if !s.qemu.bql => out.push(Step::CompletionStop),
                MigThread::Iterating => {}
                MigThread::Inactivating(d) => out.push(Step::Inactivate(d)),
                MigThread::PrecopyDone | MigThread::PrecopyFailed if !s.qemu.bql => {
                    let branch = if s.migration.thread == MigThread::PrecopyFailed {
                        Branch::FailPrecopy
                    } else if s.migration.file_error {
                        Branch::FailStream
                    } else {
                        Branch::Completed
                    };
                    out.push(Step::CompletionEnd(branch));
                }
                MigThread::Finishing if !s.qemu.bql => out.push(Step::IterationFinish),
                MigThread::PrecopyDone | MigThread::PrecopyFailed | MigThread::Finishing => {}
            }
        }
        if s.migration.status == MigStatus::Completed && s.migration.destination == Verdict::Waiting
        {
            out.push(Step::Incoming {
                accept: self.config.destination == Destination::Accepts,
            });
        }
    }

    /// Applies a main-loop, migration-thread or destination step.
    pub(crate) fn qemu_step(&self, s: &mut State, step: Step) {
        let variant = self.config.qemu_migration;
        match step {
            Step::QmpMigrate => {
                // qmp_migrate → migrate_init (vm_was_running = false) → migration_thread
                let m = &mut s.migration;
                m.attempts += 1;
                m.status = MigStatus::Active;
                m.thread = MigThread::Iterating;
                m.file_error = false;
                m.destination = Verdict::Waiting;
                s.qemu.vm_was_running = false;
                s.qmp = Qmp::Replied(true);
            }
            Step::QmpCont => {
                // qmp_cont (6.2-9.2): refuse in FINISH_MIGRATE ("Migration is not finalized
                // yet"); bdrv_activate_all whatever the run state (10.0 skips it only in
                // INMIGRATE, which the source never is); on error reply it and stay stopped;
                // else vm_start
                let ok = s.qemu.run != RunState::FinishMigrate && self.activate_all(s);
                if ok {
                    vm_start(s);
                }
                s.qmp = Qmp::Replied(ok);
            }
            Step::QmpStop => {
                // qmp_stop → vm_stop(RUN_STATE_PAUSED) → do_vm_stop: only a running VM stops
                // (and sends STOP); the block layer is drained and flushed, never inactivated
                if s.qemu.run == RunState::Running {
                    s.qemu.run = RunState::Paused;
                    s.events.push(Event::Stop);
                }
                s.qmp = Qmp::Replied(true);
            }
            Step::MigrateFdCancel => {
                s.abort = Abort::Done;
                if s.migration.status == MigStatus::Active {
                    s.migration.status = MigStatus::Cancelling;
                    s.migration.file_error = true; // qemu_file_shutdown(s->to_dst_file)
                    if s.migration.block_inactive
                        && variant.reactivates_on_cancel()
                        && self.activate_all(s)
                    {
                        s.migration.block_inactive = false;
                    }
                }
            }
            Step::CompletionStop => {
                // qemu_mutex_lock_iothread; vm_stop_force_state(RUN_STATE_FINISH_MIGRATE)
                s.qemu.bql = true;
                s.qemu.vm_was_running = s.qemu.run == RunState::Running;
                if s.qemu.vm_was_running {
                    s.events.push(Event::Stop);
                }
                s.qemu.run = RunState::FinishMigrate;
                if variant.reactivates_on_precopy_failure() {
                    s.migration.block_inactive = true; // 403d18ae: before inactivating
                }
                s.migration.thread = MigThread::Inactivating(0);
            }
            Step::Inactivate(d) => self.inactivate_step(s, d as usize),
            Step::CompletionEnd(branch) => self.completion_end(s, branch),
            Step::IterationFinish => {
                match s.migration.status {
                    MigStatus::Completed => s.qemu.run = RunState::Postmigrate,
                    MigStatus::Failed | MigStatus::Cancelling if s.qemu.vm_was_running => {
                        vm_start(s)
                    }
                    _ if s.qemu.run == RunState::FinishMigrate => {
                        s.qemu.run = RunState::Postmigrate
                    }
                    _ => {}
                }
                if s.migration.status == MigStatus::Cancelling {
                    // migrate_fd_cleanup (bottom half)
                    s.migration.status = MigStatus::Cancelled;
                    s.events.push(Event::MigrationCancelled);
                }
                s.migration.thread = MigThread::Idle;
            }
            Step::Incoming { accept } => {
                s.migration.destination = if accept {
                    Verdict::Accepted
                } else {
                    Verdict::Rejected
                };
            }
            _ => unreachable!("not a QEMU step: {step:?}"),
        }
    }

    /// One node of `bdrv_inactivate_all` (BQL held throughout); after the last node, or at the
    /// first failure, `qemu_savevm_state_complete_precopy` returns and the BQL is released.
    fn inactivate_step(&self, s: &mut State, d: usize) {
        let result = self.inactivate_recurse(s, d);
        match result {
            Inactivation::AlreadyInactive => crash(s, Crash::InactivateRecurse),
            Inactivation::Done if d + 1 < s.disks.len() => {
                s.migration.thread = MigThread::Inactivating(d as u8 + 1);
            }
            Inactivation::Done | Inactivation::Eperm => {
                let failed = result == Inactivation::Eperm;
                s.qemu.bql = false;
                if !failed {
                    if !self.config.qemu_migration.reactivates_on_precopy_failure() {
                        s.migration.block_inactive = true; // pre-403d18ae: only on success
                    }
                    let faulted = self.config.fail_after_inactivation == Fault::SocketError
                        && s.migration.attempts == self.config.fault_attempt;
                    s.migration.file_error |= faulted;
                }
                s.migration.thread = if failed {
                    MigThread::PrecopyFailed
                } else {
                    MigThread::PrecopyDone
                };
            }
        }
    }

    /// `migration_completion` after the BQL section, in the variant's code state.
    fn completion_end(&self, s: &mut State, branch: Branch) {
        let variant = self.config.qemu_migration;
        let active = s.migration.status == MigStatus::Active;
        let reactivate = active
            && match branch {
                Branch::Completed => false,
                // 6dab4c93ec merged the labels: `fail:` re-activates if block_inactive
                Branch::FailPrecopy => {
                    variant.reactivates_on_precopy_failure() && s.migration.block_inactive
                }
                Branch::FailStream => match variant {
                    QemuMigration::StickyDisablePerm => false,
                    // fe904ea824's fail_invalidate: whenever still ACTIVE/DEVICE
                    QemuMigration::FailInvalidateLabel => true,
                    QemuMigration::ReactivateOnFailure => s.migration.block_inactive,
                },
            };
        if reactivate && self.activate_all(s) {
            s.migration.block_inactive = false;
        }
        if active {
            // migrate_set_state(&s->state, current_active_state, …): a no-op once CANCELLING
            let (status, event) = match branch {
                Branch::Completed => (MigStatus::Completed, Event::MigrationCompleted),
                _ => (MigStatus::Failed, Event::MigrationFailed),
            };
            s.migration.status = status;
            s.events.push(event);
        }
        s.migration.thread = MigThread::Finishing;
    }
}

/// `vm_start` → `vm_prepare_start`: a no-op when already running, else RUNNING and a `RESUME`
/// event.
fn vm_start(s: &mut State) {
    if s.qemu.run != RunState::Running {
        s.qemu.run = RunState::Running;
        s.events.push(Event::Resume);
    }
}
