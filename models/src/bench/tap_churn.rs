//! tap-churn(N, C, naming, cleanup): N VMs each start, then C times stop and start again, while
//! the kernel names taps and libvirt adds and removes OVS ports by name (seed 004 generalised).

use serde::Serialize;
use sim::{ActorId, Footprint, Model, Property, StepInfo};

/// Most VMs a configuration may have.
pub const MAX_VMS: usize = 8;

const KERNEL: u8 = 0;
const SWITCH: u8 = 1;
const NEXT: u8 = 2;
const NO_TAP: u8 = u8::MAX;

/// How tap names are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Naming {
    /// The kernel's `vnet%d` template: lowest free number.
    LowestFree,
    /// libvirt's counter (95089f481e): `vnet{next++}`.
    Monotonic,
}

/// What a stop does after QEMU is dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cleanup {
    /// `del_port` unconditionally.
    Buggy,
    /// `check` whether the tap exists, then (a separate step) `del_port` if it did not.
    ExistsCheck,
    /// One atomic step: remove the port if the tap does not exist.
    Atomic,
}

/// One step of a VM's program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Pick a name and create the tap.
    CreateTap,
    /// Add the port (idempotent `--if-exists del-port -- add-port`).
    AddPort,
    /// QEMU dies; its tap with it.
    KillQemu,
    /// Remember whether the tap exists.
    Check,
    /// Remove the port by name.
    DelPort,
    /// Remove the port unless the check saw the tap.
    DelPortIfNotSeen,
    /// Remove the port if the tap does not exist, atomically.
    AtomicCleanup,
}

/// The action: which VM steps, and the step its program counter is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    vm: u8,
    op: Op,
}

/// One VM's locals, packed into 16 bits: pc (6), tap (8), running (1), seen (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Vm {
    pc: u8,
    tap: u8,
    running: bool,
    seen: bool,
}

const PC: u64 = 0x3f;
const TAP_SHIFT: u32 = 6;
const TAP: u64 = 0xff << TAP_SHIFT;
const RUNNING: u64 = 1 << 14;
const SEEN: u64 = 1 << 15;

impl Vm {
    fn unpack(bits: u64) -> Vm {
        Vm {
            pc: (bits & PC) as u8,
            tap: ((bits & TAP) >> TAP_SHIFT) as u8,
            running: bits & RUNNING != 0,
            seen: bits & SEEN != 0,
        }
    }

    fn pack(self) -> u64 {
        self.pc as u64
            | (self.tap as u64) << TAP_SHIFT
            | if self.running { RUNNING } else { 0 }
            | if self.seen { SEEN } else { 0 }
    }
}

/// The global state: kernel taps and switch ports as bit sets of `vnet` numbers, and every VM's
/// locals packed four to a word (hashing the state is on the explorer's hot path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct State {
    kernel: u32,
    switch: u32,
    next: u8,
    vms: [u64; MAX_VMS / 4],
}

impl State {
    fn vm(&self, i: usize) -> Vm {
        Vm::unpack(self.bits(i))
    }

    fn set_vm(&mut self, i: usize, vm: Vm) {
        self.set_bits(i, vm.pack());
    }

    /// VM `i`'s packed locals.
    fn bits(&self, i: usize) -> u64 {
        self.vms[i / 4] >> (16 * (i % 4)) & 0xffff
    }

    fn set_bits(&mut self, i: usize, bits: u64) {
        let shift = 16 * (i % 4);
        self.vms[i / 4] = (self.vms[i / 4] & !(0xffff << shift)) | bits << shift;
    }
}

/// The model for one configuration.
pub struct TapChurn {
    n: usize,
    c: usize,
    naming: Naming,
    cleanup: Cleanup,
    program: Vec<Op>,
}

impl TapChurn {
    /// A configuration; `n` is at most [`MAX_VMS`].
    pub fn new(n: usize, c: usize, naming: Naming, cleanup: Cleanup) -> Result<Self, String> {
        if n == 0 || n > MAX_VMS {
            return Err(format!("N must be between 1 and {MAX_VMS}, got {n}"));
        }
        if n * (c + 1) > 32 {
            return Err(format!(
                "N·(C+1) must be at most 32 tap names, got {}",
                n * (c + 1)
            ));
        }
        let stop: &[Op] = match cleanup {
            Cleanup::Buggy => &[Op::KillQemu, Op::DelPort],
            Cleanup::ExistsCheck => &[Op::KillQemu, Op::Check, Op::DelPortIfNotSeen],
            Cleanup::Atomic => &[Op::KillQemu, Op::AtomicCleanup],
        };
        let start = [Op::CreateTap, Op::AddPort];
        let mut program = start.to_vec();
        for _ in 0..c {
            program.extend_from_slice(stop);
            program.extend_from_slice(&start);
        }
        // A state counts a VM's steps in 6 bits, up to the program's end.
        if program.len() > 63 {
            return Err(format!(
                "C={c}: a VM's program would have {} steps; at most 63 fit in a state",
                program.len()
            ));
        }
        Ok(TapChurn {
            n,
            c,
            naming,
            cleanup,
            program,
        })
    }

    /// The parameters as `reference-counts.tsv` writes them.
    pub fn params(&self) -> String {
        let naming = match self.naming {
            Naming::LowestFree => "lowest-free",
            Naming::Monotonic => "monotonic",
        };
        let cleanup = match self.cleanup {
            Cleanup::Buggy => "buggy",
            Cleanup::ExistsCheck => "exists-check",
            Cleanup::Atomic => "atomic",
        };
        format!(
            "N={},C={},naming={naming},cleanup={cleanup}",
            self.n, self.c
        )
    }

    fn footprint_of(&self, op: Op) -> Footprint {
        let f = Footprint::NONE;
        match op {
            Op::CreateTap if self.naming == Naming::Monotonic => f.write(KERNEL).write(NEXT),
            Op::CreateTap | Op::KillQemu => f.write(KERNEL),
            Op::AddPort | Op::DelPort | Op::DelPortIfNotSeen => f.write(SWITCH),
            Op::Check => f.read(KERNEL),
            Op::AtomicCleanup => f.read(KERNEL).write(SWITCH),
        }
    }
}

fn has(set: u32, tap: u8) -> bool {
    tap != NO_TAP && set & (1 << tap) != 0
}

impl Model for TapChurn {
    type State = State;
    type Action = Step;

    fn name(&self) -> String {
        format!("bench/tap-churn({})", self.params())
    }

    fn actors(&self) -> Vec<String> {
        (0..self.n).map(|i| format!("vm{i}")).collect()
    }

    fn init_states(&self) -> Vec<State> {
        let mut state = State {
            kernel: 0,
            switch: 0,
            next: 0,
            vms: [0; MAX_VMS / 4],
        };
        for i in 0..self.n {
            state.set_vm(
                i,
                Vm {
                    pc: 0,
                    tap: NO_TAP,
                    running: false,
                    seen: false,
                },
            );
        }
        vec![state]
    }

    fn actions(&self, state: &State, out: &mut Vec<Step>) {
        for i in 0..self.n {
            if let Some(&op) = self.program.get((state.bits(i) & PC) as usize) {
                out.push(Step { vm: i as u8, op });
            }
        }
    }

    // Works on the VM's packed locals directly, builds the new state from values rather than
    // patching a copy in memory, and is inlined, so that the state can stay in registers until
    // it is hashed: this is the explorer's innermost loop.
    #[inline(always)]
    fn next_state(&self, state: &State, step: &Step) -> State {
        let State {
            mut kernel,
            mut switch,
            mut next,
            vms,
        } = *state;
        let i = step.vm as usize;
        // pc += 1: the program is shorter than the 6-bit field holds (see `new`).
        let mut vm = state.bits(i) + 1;
        let tap = ((vm & TAP) >> TAP_SHIFT) as u8;
        let bit = if tap == NO_TAP { 0 } else { 1u32 << tap };
        match step.op {
            Op::CreateTap => {
                let name = match self.naming {
                    Naming::LowestFree => (!kernel).trailing_zeros() as u8,
                    Naming::Monotonic => {
                        next += 1;
                        next - 1
                    }
                };
                kernel |= 1 << name;
                vm = (vm & !TAP) | (name as u64) << TAP_SHIFT;
            }
            Op::AddPort => {
                switch |= bit;
                vm |= RUNNING;
            }
            Op::KillQemu => {
                kernel &= !bit;
                vm &= !RUNNING;
            }
            Op::Check => {
                vm = if kernel & bit != 0 {
                    vm | SEEN
                } else {
                    vm & !SEEN
                }
            }
            Op::DelPort => switch &= !bit,
            Op::DelPortIfNotSeen => {
                if vm & SEEN == 0 {
                    switch &= !bit;
                }
            }
            Op::AtomicCleanup => {
                if kernel & bit == 0 {
                    switch &= !bit;
                }
            }
        }
        let shift = 16 * (i % 4);
        State {
            kernel,
            switch,
            next,
            vms: std::array::from_fn(|w| {
                if w == i / 4 {
                    (vms[w] & !(0xffff << shift)) | vm << shift
                } else {
                    vms[w]
                }
            }),
        }
    }

    fn actor_of(&self, step: &Step) -> ActorId {
        step.vm as ActorId
    }

    fn step_info(&self, step: &Step) -> StepInfo {
        let label = match step.op {
            Op::CreateTap => "create_tap",
            Op::AddPort => "add_port",
            Op::KillQemu => "kill_qemu",
            Op::Check => "check",
            Op::DelPort | Op::DelPortIfNotSeen => "del_port",
            Op::AtomicCleanup => "del_port_if_gone",
        };
        StepInfo {
            actor: step.vm as ActorId,
            label: label.to_string(),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::at_end(
            "every VM's tap exists and is a port",
            |m: &Self, s: &State| {
                (0..m.n)
                    .map(|i| s.vm(i))
                    .all(|vm| has(s.kernel, vm.tap) && has(s.switch, vm.tap))
            },
        )]
    }

    fn footprint(&self, _state: &State, step: &Step) -> Footprint {
        self.footprint_of(step.op)
    }

    fn future_footprint(&self, state: &State, actor: ActorId) -> Footprint {
        let pc = state.vm(actor as usize).pc as usize;
        self.program[pc.min(self.program.len())..]
            .iter()
            .fold(Footprint::NONE, |f, &op| f.union(self.footprint_of(op)))
    }

    fn outcome(&self, state: &State) -> Option<String> {
        let connected = (0..self.n)
            .map(|i| state.vm(i))
            .filter(|vm| has(state.kernel, vm.tap) && has(state.switch, vm.tap))
            .count();
        Some(format!("{connected} of {} connected", self.n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_longer_than_a_state_counts_are_refused() {
        let ok = |c, cleanup| TapChurn::new(1, c, Naming::LowestFree, cleanup).is_ok();
        // start (2 steps), then C times a stop (2 or 3 steps) and a start
        assert!(ok(15, Cleanup::Buggy)); // 62 steps
        assert!(!ok(16, Cleanup::Buggy)); // 66
        assert!(ok(12, Cleanup::ExistsCheck)); // 62
        assert!(!ok(13, Cleanup::ExistsCheck)); // 67
    }
}
