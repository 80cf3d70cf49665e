//! The management program, libvirtd (the worker thread running the API call, the monitor event
//! handlers, `domjobabort`, and the hypothetical namespace re-setup) and the host's storage
//! agent.

use super::config::{Fault, HostAction, NamespaceMode, Op};
use super::qemu::alive;
use super::state::{
    Abort, Api, Call, Chain, DomainState, Event, JobStatus, MigThread, Qmp, RunState, State, Step,
    Verdict,
};
use super::storage::{setup_disk, setup_would_change};
use super::Migration;

impl Migration {
    /// The enabled steps of the management program, the libvirt threads and the storage agent.
    pub(crate) fn libvirt_actions(&self, s: &State, out: &mut Vec<Step>) {
        if s.call.is_none() {
            if let Some(op) = self.config.ops.get(s.mgmt_pc as usize) {
                // a person types suspend / cont seconds after `virsh migrate` returned: QEMU's
                // migration thread has exited and libvirt has handled the events it sent
                let typed_later =
                    (!alive(s) || s.migration.thread == MigThread::Idle) && s.events.is_empty();
                match *op {
                    Op::Migrate => out.push(Step::Call(Call::Migrate)),
                    Op::Resume => out.push(Step::Call(Call::Resume)),
                    Op::Suspend if typed_later => out.push(Step::Call(Call::Suspend)),
                    Op::Cont if typed_later => out.push(Step::Call(Call::Cont)),
                    Op::Suspend | Op::Cont => {}
                    Op::GuestWrite(d) => out.push(Step::RequestWrite(d)),
                    Op::Retarget => out.push(Step::Retarget { agent: false }),
                    Op::FixNamespace => out.push(Step::FixNamespace { agent: false }),
                }
            }
        }
        if let Some(step) = self.api_action(s) {
            out.push(step);
        }
        if let Some(&event) = s.events.first() {
            out.push(Step::HandleEvent(event));
        }
        if self.config.fail_after_inactivation == Fault::Cancel
            && s.abort == Abort::Waiting
            && s.domain.job == JobStatus::Active
            && s.domain.migrations == self.config.fault_attempt
        {
            out.push(Step::AbortJob);
        }
        if self.config.namespace == NamespaceMode::ReSetupOnChange && alive(s) {
            for (d, disk) in self.disks.iter().enumerate() {
                if setup_would_change(&s.namespace, s.host_links[d], disk, d) {
                    out.push(Step::NamespaceSetupDisk(d as u8));
                }
            }
        }
        if let Some(action) = self.config.storage_agent.get(s.agent_pc as usize) {
            out.push(match action {
                HostAction::Retarget => Step::Retarget { agent: true },
                HostAction::FixNamespace => Step::FixNamespace { agent: true },
            });
        }
    }

    /// The libvirtd worker thread's next step, if enabled.
    fn api_action(&self, s: &State) -> Option<Step> {
        let dom = &s.domain;
        let gone = matches!(dom.state, DomainState::Shutoff | DomainState::Migrated);
        let replied = matches!(s.qmp, Qmp::Replied(_));
        let paused = dom.state == DomainState::Paused;
        match s.api {
            Api::Idle => match s.call? {
                _ if gone => Some(Step::CallFails),
                Call::Migrate => Some(Step::MigrationSrcRun),
                Call::Resume => Some(Step::DomainResume { cont: paused }),
                Call::Suspend => Some(Step::DomainSuspend { stop: !paused }),
                Call::Cont => Some(Step::MonitorCommand),
            },
            Api::Migrating => {
                let over = matches!(
                    dom.job,
                    JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
                );
                ((replied && over) || gone).then_some(Step::WaitForCompletion)
            }
            Api::Confirming => {
                (s.migration.destination != Verdict::Waiting).then_some(Step::ConfirmPhase)
            }
            Api::Restoring => Some(Step::RestoreDomainState {
                cont: paused && dom.pre_migration_running,
            }),
            Api::RestoringCont | Api::ResumingCont => {
                (replied || gone).then_some(Step::StartCpusReply)
            }
            Api::SuspendingStop => {
                let stop_handled = !s.events.contains(&Event::Stop);
                ((replied && stop_handled) || gone).then_some(Step::StopCpusReply)
            }
            Api::MonitorCont => (replied || gone).then_some(Step::MonitorReply),
        }
    }

    /// Applies a management, libvirt or storage-agent step.
    pub(crate) fn libvirt_step(&self, s: &mut State, step: Step) {
        match step {
            Step::Call(call) => s.call = Some(call),
            Step::RequestWrite(d) => {
                s.guest.pending[d as usize] += 1;
                s.mgmt_pc += 1;
            }
            Step::Retarget { agent } => {
                for (d, disk) in self.disks.iter().enumerate() {
                    if disk.retargetable {
                        s.host_links[d] = Chain::Retargeted;
                    }
                }
                self.advance(s, agent);
            }
            Step::FixNamespace { agent } => {
                if alive(s) {
                    for (d, disk) in self.disks.iter().enumerate() {
                        setup_disk(&mut s.namespace, disk, d, s.host_links[d]);
                    }
                }
                self.advance(s, agent);
            }
            Step::NamespaceSetupDisk(d) => {
                let d = d as usize;
                setup_disk(&mut s.namespace, &self.disks[d], d, s.host_links[d]);
            }
            Step::CallFails => finish_call(s, false),
            Step::MigrationSrcRun => {
                // qemuMigrationSrcStoreDomainState; qemuMonitorMigrateToFd
                s.domain.pre_migration_running = s.domain.state == DomainState::Running;
                s.domain.job = JobStatus::Active;
                s.domain.migrations += 1;
                s.qmp = Qmp::Migrate;
                s.api = Api::Migrating;
            }
            Step::WaitForCompletion => {
                s.qmp = Qmp::Idle;
                if s.domain.state == DomainState::Shutoff {
                    finish_call(s, true);
                } else if s.domain.job == JobStatus::Completed {
                    s.api = Api::Confirming;
                } else {
                    s.api = Api::Restoring;
                }
            }
            Step::ConfirmPhase => {
                if s.migration.destination == Verdict::Accepted {
                    // the destination's Finish succeeded; qemuProcessStop on the source
                    s.qemu.run = RunState::Migrated;
                    s.domain.state = DomainState::Migrated;
                    s.domain.job = JobStatus::None;
                    finish_call(s, false);
                } else {
                    s.api = Api::Restoring;
                }
            }
            Step::RestoreDomainState { cont } => {
                if cont {
                    s.qmp = Qmp::Cont;
                    s.api = Api::RestoringCont;
                } else {
                    finish_call(s, true);
                }
            }
            Step::DomainResume { cont } => {
                if cont {
                    s.qmp = Qmp::Cont;
                    s.api = Api::ResumingCont;
                } else {
                    finish_call(s, false); // not paused: returns success, sends nothing
                }
            }
            Step::DomainSuspend { stop } => {
                if stop {
                    s.qmp = Qmp::Stop;
                    s.api = Api::SuspendingStop;
                } else {
                    finish_call(s, false); // already paused: nothing to do
                }
            }
            Step::MonitorCommand => {
                s.qmp = Qmp::Cont;
                s.api = Api::MonitorCont;
            }
            Step::StopCpusReply | Step::MonitorReply => {
                // the state follows the STOP / RESUME events, not the reply
                s.qmp = Qmp::Idle;
                finish_call(s, false);
            }
            Step::StartCpusReply => {
                if s.qmp == Qmp::Replied(true) && s.domain.state == DomainState::Paused {
                    s.domain.state = DomainState::Running;
                }
                s.qmp = Qmp::Idle;
                let migration_failed = s.api == Api::RestoringCont;
                finish_call(s, migration_failed);
            }
            Step::HandleEvent(event) => {
                s.events.remove(0);
                handle_event(s, event);
            }
            Step::AbortJob => s.abort = Abort::Sent,
            _ => unreachable!("not a libvirt step: {step:?}"),
        }
    }

    fn advance(&self, s: &mut State, agent: bool) {
        if agent {
            s.agent_pc += 1;
        } else {
            s.mgmt_pc += 1;
        }
    }
}

/// The API call returns to the management program.
fn finish_call(s: &mut State, migration_failed: bool) {
    if migration_failed {
        s.migrations_failed += 1;
    }
    s.call = None;
    s.api = Api::Idle;
    s.mgmt_pc += 1;
}

/// `qemuProcessHandleStop`, `…HandleResume`, `…HandleMigrationStatus`, `…HandleMonitorEOF`.
fn handle_event(s: &mut State, event: Event) {
    let dom = &mut s.domain;
    if dom.state == DomainState::Migrated {
        return;
    }
    match event {
        Event::Stop if dom.state == DomainState::Running => dom.state = DomainState::Paused,
        Event::Resume if dom.state == DomainState::Paused => dom.state = DomainState::Running,
        Event::MigrationCompleted | Event::MigrationFailed | Event::MigrationCancelled
            if dom.job == JobStatus::Active =>
        {
            dom.job = match event {
                Event::MigrationCompleted => JobStatus::Completed,
                Event::MigrationFailed => JobStatus::Failed,
                _ => JobStatus::Cancelled,
            };
        }
        Event::Eof => dom.state = DomainState::Shutoff,
        _ => {}
    }
}
