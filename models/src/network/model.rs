//! The [`Network`] model: one libvirt API thread per VM running its program of starts and stops,
//! each step one real call against the shared kernel, OVS and bridge state.

use super::attach::{applies, Datapath, Master, TapAttach};
use super::cleanup::TapCleanup;
use super::config::{Backend, Config, Op, Vm};
use super::host;
use super::state::{State, Status, TapName, VmState};
use super::step::Step;
use crate::scenario::{Obs, Observable};
use serde::Serialize;
use sim::{ActorId, Footprint, Model, Property, StepInfo};

/// One step of one VM's thread: the VM (index into the configuration's `vms`) and the step its
/// program is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Action {
    /// The VM whose thread steps.
    pub vm: u8,
    /// The step.
    pub step: Step,
}

/// libvirt's NIC setup and teardown for N VMs racing on one host, in one code state.
#[derive(Clone, Debug)]
pub struct Network {
    pub(super) vms: Vec<Vm>,
    pub(super) cleanup: TapCleanup,
    pub(super) attach: TapAttach,
    pub(super) datapath: Datapath,
}

impl Network {
    /// Builds the model, refusing an invalid configuration with a message that says what to fix.
    pub fn new(config: Config) -> Result<Self, String> {
        let vms = config.validate()?;
        Ok(Network {
            vms,
            cleanup: config.tap_cleanup,
            attach: config.tap_attach,
            datapath: config.datapath,
        })
    }

    /// The modelled code state of the stop's port cleanup.
    pub fn tap_cleanup(&self) -> TapCleanup {
        self.cleanup
    }

    /// The modelled code state of the start's attach.
    pub fn tap_attach(&self) -> TapAttach {
        self.attach
    }

    /// The OVS datapath the model's verdicts are for.
    pub fn datapath(&self) -> Datapath {
        self.datapath
    }

    /// The two parts of `op`'s step sequence for a NIC on `backend`: the op's own steps, then
    /// (for `stop` and `qemu-exits`) the variant's per-NIC cleanup.
    pub(super) fn op_steps(&self, op: Op, backend: Backend) -> [&'static [Step]; 2] {
        use Step::*;
        match op {
            Op::Start => [self.attach.start_steps(backend), &[]],
            Op::Stop => [&[Kill, StopTeardown], self.cleanup.stop_tail(backend)],
            Op::QemuExits => [
                &[QemuExit, MonitorEof, EofEvent, StopTeardown],
                self.cleanup.stop_tail(backend),
            ],
        }
    }

    /// Step `k` of `op` on `backend`, if the op has that many.
    fn step_at(&self, op: Op, backend: Backend, k: usize) -> Option<Step> {
        let [own, tail] = self.op_steps(op, backend);
        own.get(k)
            .or_else(|| tail.get(k - own.len().min(k)))
            .copied()
    }

    /// The VMs' names, in configuration order (actor `api-<name>` drives VM i).
    pub fn vm_names(&self) -> Vec<&str> {
        self.vms.iter().map(|v| v.name.as_str()).collect()
    }

    /// The step VM `i`'s thread takes next, if its program is not finished.
    fn next_step(&self, i: usize, vm: &VmState) -> Option<Step> {
        let cfg = &self.vms[i];
        let op = *cfg.ops.get(vm.pc as usize)?;
        if op != Op::Start && vm.step == 0 && vm.status != Status::Running {
            return Some(Step::StopInactive);
        }
        self.step_at(op, cfg.backend, vm.step as usize)
    }

    /// True when VM `i`'s tap exists, is its own, and is attached for it: an OVS row with its
    /// `vm-id` holding the device, or Linux bridge membership.
    fn connected(&self, state: &State, i: usize) -> bool {
        let Some(name) = state.vms[i].ifname else {
            return false;
        };
        let Some(tap) = host::tap(state, name).filter(|t| t.holder as usize == i) else {
            return false;
        };
        match self.vms[i].backend {
            Backend::Ovs => {
                !tap.bridged && host::port(state, name).is_some_and(|p| p.vm_id as usize == i)
            }
            Backend::Bridge => tap.bridged,
        }
    }
}

impl Model for Network {
    type State = State;
    type Action = Action;

    fn name(&self) -> String {
        "network".to_string()
    }

    fn version(&self) -> u32 {
        2
    }

    fn actors(&self) -> Vec<String> {
        self.vms.iter().map(|v| format!("api-{}", v.name)).collect()
    }

    fn init_states(&self) -> Vec<State> {
        let mut state = State {
            taps: Vec::new(),
            ovs_ports: Vec::new(),
            next_id: 0,
            vms: Vec::with_capacity(self.vms.len()),
        };
        for (i, cfg) in self.vms.iter().enumerate() {
            let mut vm = VmState {
                pc: 0,
                step: 0,
                status: Status::Shutoff,
                ifname: None,
                ebusy: false,
                removed_foreign: false,
                master: Master::None,
            };
            if cfg.running {
                let name = host::create_tap(&mut state, i as u8, self.cleanup.naming());
                match cfg.backend {
                    Backend::Ovs => host::ovs_add_port(&mut state, name, i as u8),
                    Backend::Bridge => host::bridge_add_port(&mut state, name, self.datapath)
                        .expect("a fresh name has no port row and no master"),
                }
                vm.status = Status::Running;
                vm.ifname = Some(name);
            }
            state.vms.push(vm);
        }
        vec![state]
    }

    fn actions(&self, state: &State, out: &mut Vec<Action>) {
        for (i, vm) in state.vms.iter().enumerate() {
            if let Some(step) = self.next_step(i, vm) {
                out.push(Action { vm: i as u8, step });
            }
        }
    }

    fn next_state(&self, state: &State, action: &Action) -> State {
        let mut s = state.clone();
        let i = action.vm as usize;
        let cfg = &self.vms[i];
        let me = action.vm;
        let ifname = s.vms[i].ifname;
        let name = || ifname.expect("an active domain has an ifname");
        let mut op_done = false;
        match action.step {
            Step::TapCreate => {
                let name = host::create_tap(&mut s, me, self.cleanup.naming());
                let vm = &mut s.vms[i];
                vm.ifname = Some(name);
                vm.ebusy = false;
                vm.master = Master::None;
            }
            Step::OvsAddPort => {
                host::ovs_add_port(&mut s, name(), me);
                s.vms[i].status = Status::Running;
            }
            Step::BridgeAddPort => match host::bridge_add_port(&mut s, name(), self.datapath) {
                Ok(()) => s.vms[i].status = Status::Running,
                Err(_) => {
                    // virNetDevTapCreateInBridgePort's error path closes the tap fds, and the
                    // generated name is freed; qemuProcessStop then has nothing to do for a
                    // Linux-bridge NIC.
                    host::destroy_tap(&mut s, name());
                    let vm = &mut s.vms[i];
                    vm.status = Status::StartFailed;
                    vm.ebusy = true;
                    vm.ifname = None;
                }
            },
            Step::Kill | Step::QemuExit => host::destroy_tap(&mut s, name()),
            Step::StopTeardown | Step::StopInactive | Step::MonitorEof | Step::EofEvent => {}
            Step::GetMaster | Step::IfaceToBr => {
                let master = if action.step == Step::GetMaster {
                    host::master(&s, name(), self.datapath)
                } else {
                    host::iface_to_br(&s, name())
                };
                let vm = &mut s.vms[i];
                vm.master = master;
                if master.is(cfg.backend) {
                    // "Nothing more todo if we're on the right bridge already": return 0, and
                    // virNetDevTapCreateInBridgePort goes on to succeed.
                    vm.status = Status::Running;
                    op_done = true;
                }
            }
            Step::ReattachRemovePort => self.remove_port(&mut s, i),
            Step::BridgeRemovePort => host::bridge_remove_port(&mut s, name()),
            Step::GetMac | Step::Exists => {
                let remove = self.should_remove(action.step, &s, name(), i);
                op_done = !remove;
            }
            Step::RemovePort => self.remove_port(&mut s, i),
            Step::CheckAndRemovePort => {
                if self.should_remove(action.step, &s, name(), i) {
                    self.remove_port(&mut s, i);
                }
            }
        }
        let op = cfg.ops[s.vms[i].pc as usize];
        let vm = &mut s.vms[i];
        vm.step += 1;
        // Reattach's removals are taken only from the bridge the tap was found on.
        while self
            .step_at(op, cfg.backend, vm.step as usize)
            .is_some_and(|next| !applies(next, vm.master))
        {
            vm.step += 1;
        }
        let finished = self.step_at(op, cfg.backend, vm.step as usize).is_none();
        if op_done || action.step == Step::StopInactive || finished {
            if op != Op::Start && action.step != Step::StopInactive {
                // The end of qemuProcessStop: SHUTOFF, and the live definition (with its
                // generated ifname) is discarded.
                vm.status = Status::Shutoff;
                vm.ifname = None;
            }
            vm.master = Master::None;
            vm.pc += 1;
            vm.step = 0;
        }
        s
    }

    fn actor_of(&self, action: &Action) -> ActorId {
        action.vm as ActorId
    }

    fn step_info(&self, action: &Action) -> StepInfo {
        StepInfo {
            actor: action.vm as ActorId,
            label: action.step.label().to_string(),
            upstream: Some(action.step.upstream().to_string()),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        Vec::new()
    }

    fn footprint(&self, state: &State, action: &Action) -> Footprint {
        let i = action.vm as usize;
        self.step_footprint(i, action.step, state.vms[i].ifname, Some(state))
    }

    fn future_footprint(&self, state: &State, actor: ActorId) -> Footprint {
        self.future(state, actor as usize)
    }

    fn is_done(&self, state: &State) -> bool {
        state
            .vms
            .iter()
            .zip(&self.vms)
            .all(|(vm, cfg)| vm.pc as usize == cfg.ops.len())
    }
}

impl Network {
    /// VM `i`'s RemovePort of its `ifname`, noting when the row was another VM's.
    fn remove_port(&self, state: &mut State, i: usize) {
        let name = state.vms[i].ifname.expect("an active domain has an ifname");
        if host::ovs_remove_port(state, name).is_some_and(|owner| owner as usize != i) {
            state.vms[i].removed_foreign = true;
        }
    }

    /// Applies the variant's check (see [`TapCleanup::should_remove`]) for VM `i`.
    fn should_remove(&self, step: Step, state: &State, name: TapName, i: usize) -> bool {
        self.cleanup
            .should_remove(step, state, name, self.vms[i].mac, |holder| {
                self.vms[holder as usize].mac.tap_mac()
            })
    }
}

impl Observable for Network {
    fn observe(&self, state: &State) -> Vec<(String, Obs)> {
        let mut out = Vec::with_capacity(6 * self.vms.len() + 5);
        for (i, (cfg, vm)) in self.vms.iter().zip(&state.vms).enumerate() {
            let n = &cfg.name;
            let ifname = vm.ifname.map_or("none".to_string(), |t| t.to_string());
            let error = if vm.ebusy { "EBUSY" } else { "none" };
            out.push((format!("{n}.state"), Obs::Str(vm.status.as_str().into())));
            out.push((format!("{n}.ifname"), Obs::Str(ifname)));
            out.push((
                format!("{n}.connected"),
                Obs::Bool(self.connected(state, i)),
            ));
            out.push((format!("{n}.attach_error"), Obs::Str(error.into())));
            out.push((
                format!("{n}.done"),
                Obs::Bool(vm.pc as usize == cfg.ops.len()),
            ));
            out.push((
                format!("{n}.removed_foreign_port"),
                Obs::Bool(vm.removed_foreign),
            ));
        }
        let stale = state
            .ovs_ports
            .iter()
            .filter(|p| host::tap(state, p.name).is_none_or(|t| t.holder != p.vm_id))
            .count();
        let bridged = state.taps.iter().filter(|t| t.bridged).count();
        let count = |n: usize| Obs::Int(n as i64);
        out.push(("net.ports".into(), count(state.ovs_ports.len())));
        out.push(("net.stale_ports".into(), count(stale)));
        out.push(("net.taps".into(), count(state.taps.len())));
        out.push(("net.bridge_ports".into(), count(bridged)));
        out.push((
            "net.foreign_removal".into(),
            Obs::Bool(state.vms.iter().any(|v| v.removed_foreign)),
        ));
        out
    }
}
