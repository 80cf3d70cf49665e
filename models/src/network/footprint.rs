//! The network model's shared objects and the footprints of its steps, per tap name where the
//! real operation is per name (an OVS row, one device's bridge membership), so that operations on
//! different names commute under partial-order reduction.
//!
//! Objects: one per VM for its libvirt-side state (only its own thread writes it), libvirt's name
//! counter, suggestion C's lock, and three families bucketed by tap number modulo [`BUCKETS`]
//! (sharing a bucket only makes the reduction more conservative): the kernel's tap table, the OVS
//! database's rows, and Linux bridge membership.

use super::attach::Datapath;
use super::cleanup::Naming;
use super::config::{Backend, MAX_VMS};
use super::host;
use super::model::Network;
use super::state::{State, TapName};
use super::step::Step;
use sim::{Footprint, ObjectId};

/// libvirt's tap name counter (`monotonic-names`).
const COUNTER: ObjectId = MAX_VMS as ObjectId;
/// The lock of suggestion C, shared by tap creation and check-and-remove.
const LOCK: ObjectId = COUNTER + 1;
/// How many objects each per-name family has.
const BUCKETS: u16 = 38;
const TAPS: ObjectId = LOCK + 1;
const OVS: ObjectId = TAPS + BUCKETS as ObjectId;
const BRIDGE: ObjectId = OVS + BUCKETS as ObjectId;

/// A VM's libvirt-side state (status, ifname, errors, program counter).
fn vm(i: usize) -> ObjectId {
    i as ObjectId
}

fn bucket(base: ObjectId, name: TapName) -> ObjectId {
    base + (name.0 % BUCKETS) as ObjectId
}

/// Every object of a family, read and written.
fn all(base: ObjectId) -> Footprint {
    (0..BUCKETS as ObjectId).fold(Footprint::NONE, |f, k| f.write(base + k))
}

/// Every object of a family, read only.
fn read_all(base: ObjectId) -> Footprint {
    (0..BUCKETS as ObjectId).fold(Footprint::NONE, |f, k| f.read(base + k))
}

/// The objects of `name` in `base`'s family, or the whole family when the name is not known yet.
fn named(base: ObjectId, name: Option<TapName>, write: bool) -> Footprint {
    match (name, write) {
        (Some(n), true) => Footprint::NONE.write(bucket(base, n)),
        (Some(n), false) => Footprint::NONE.read(bucket(base, n)),
        (None, true) => all(base),
        (None, false) => read_all(base),
    }
}

impl Network {
    /// What `step` of VM `i` on tap `name` may read and write. With `state` the footprint is the
    /// exact one of that state; without, it over-approximates every state (a `None` name stands
    /// for any name).
    pub(super) fn step_footprint(
        &self,
        i: usize,
        step: Step,
        name: Option<TapName>,
        state: Option<&State>,
    ) -> Footprint {
        let own = Footprint::NONE.write(vm(i));
        let f = match step {
            Step::TapCreate => self.tap_create_footprint(state),
            Step::OvsAddPort | Step::RemovePort | Step::ReattachRemovePort => {
                named(OVS, name, true)
            }
            Step::BridgeAddPort => {
                let decide = self.ovs_claim(name).union(named(BRIDGE, name, true));
                let fails = match (state, name) {
                    (Some(s), Some(n)) => host::ovs_holds(s, n, self.datapath),
                    _ => self.datapath == Datapath::Kernel,
                };
                if fails {
                    decide.union(named(TAPS, name, true))
                } else {
                    decide
                }
            }
            Step::Kill | Step::QemuExit => {
                let bridged = match (state, name) {
                    (Some(s), Some(n)) => host::tap(s, n).is_some_and(|t| t.bridged),
                    _ => self.vms[i].backend == Backend::Bridge,
                };
                let f = named(TAPS, name, true);
                if bridged {
                    f.union(named(BRIDGE, name, true))
                } else {
                    f
                }
            }
            Step::GetMac | Step::Exists => named(TAPS, name, false),
            Step::CheckAndRemovePort => named(TAPS, name, false)
                .union(named(OVS, name, true))
                .write(LOCK),
            Step::GetMaster => named(TAPS, name, false)
                .union(named(BRIDGE, name, false))
                .union(self.ovs_claim(name)),
            Step::IfaceToBr => named(OVS, name, false),
            Step::BridgeRemovePort => named(BRIDGE, name, true),
            Step::StopTeardown | Step::StopInactive | Step::MonitorEof | Step::EofEvent => {
                Footprint::NONE
            }
        };
        own.union(f)
    }

    /// What deciding whether OVS is a device's master reads: its row on the kernel datapath,
    /// nothing on the netdev datapath (which never masters a device).
    fn ovs_claim(&self, name: Option<TapName>) -> Footprint {
        match self.datapath {
            Datapath::Kernel => named(OVS, name, false),
            Datapath::Netdev => Footprint::NONE,
        }
    }

    /// `virNetDevTapCreate`: the lowest free name reads the whole table; the counter reads and
    /// bumps the counter and reads each name it tries. Both write the name they create.
    fn tap_create_footprint(&self, state: Option<&State>) -> Footprint {
        let mut f = match (self.cleanup.naming(), state) {
            (_, None) => all(TAPS),
            (Naming::LowestFree, Some(s)) => {
                let name = host::choose_name(s, Naming::LowestFree);
                read_all(TAPS).write(bucket(TAPS, name))
            }
            (Naming::Monotonic, Some(s)) => {
                let name = host::choose_name(s, Naming::Monotonic);
                (s.next_id..=name.0).fold(Footprint::NONE.write(bucket(TAPS, name)), |f, n| {
                    f.read(bucket(TAPS, TapName(n)))
                })
            }
        };
        if self.cleanup.naming() == Naming::Monotonic {
            f = f.write(COUNTER);
        }
        if self.cleanup.locks_tap_create() {
            f = f.write(LOCK);
        }
        f
    }

    /// Everything VM `i`'s thread may still touch from `state` on: its current op's remaining
    /// steps on its known tap name, and every later op on any name.
    pub(super) fn future(&self, state: &State, i: usize) -> Footprint {
        let cfg = &self.vms[i];
        let vm = &state.vms[i];
        let mut future = Footprint::NONE;
        for (k, &op) in cfg.ops.iter().enumerate().skip(vm.pc as usize) {
            let current = k == vm.pc as usize;
            let (from, name) = if current {
                (vm.step as usize, vm.ifname)
            } else {
                (0, None)
            };
            let steps = self.op_steps(op, cfg.backend).concat();
            for &step in steps.iter().skip(from) {
                // A start's name is chosen by its tap-create: unknown before it.
                let name = if step == Step::TapCreate { None } else { name };
                future = future.union(self.step_footprint(i, step, name, None));
            }
        }
        future
    }

    /// The shared objects an observation (see the module documentation) depends on, for a
    /// property's `reads`; `None` for a name the model does not produce.
    pub fn observation_reads(&self, name: &str) -> Option<Footprint> {
        let everything_net = read_all(TAPS).union(read_all(OVS)).union(read_all(BRIDGE));
        if let Some((vm_name, what)) = name.split_once('.') {
            if let Some(i) = self.vms.iter().position(|v| v.name == vm_name) {
                let own = Footprint::NONE.read(vm(i));
                return match what {
                    "state" | "ifname" | "attach_error" | "done" | "removed_foreign_port" => {
                        Some(own)
                    }
                    "connected" => Some(own.union(everything_net)),
                    _ => None,
                };
            }
        }
        let all_vms = (0..self.vms.len()).fold(Footprint::NONE, |f, i| f.read(vm(i)));
        match name {
            "net.ports" => Some(read_all(OVS)),
            "net.stale_ports" => Some(read_all(OVS).union(read_all(TAPS))),
            "net.taps" => Some(read_all(TAPS)),
            "net.bridge_ports" => Some(read_all(BRIDGE)),
            "net.foreign_removal" => Some(all_vms),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_families_fit_the_engine() {
        assert!((BRIDGE as usize + BUCKETS as usize) <= Footprint::MAX_OBJECTS);
    }
}
