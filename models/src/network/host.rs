//! The host side: the kernel's tap table and naming (measured: the lowest free `vnet%d`), the
//! OVS database and, per datapath, vswitchd's claim on devices, the Linux bridge's
//! `SIOCBRADDIF`/`SIOCBRDELIF`, and a device's master as `virNetDevGetMaster` reads it.

use super::attach::{Datapath, Master};
use super::cleanup::Naming;
use super::state::{OvsPort, State, Tap, TapName};

/// The tap named `name`, if the kernel has it.
pub fn tap(state: &State, name: TapName) -> Option<&Tap> {
    state
        .taps
        .binary_search_by_key(&name, |t| t.name)
        .ok()
        .map(|i| &state.taps[i])
}

/// The OVS port row named `name`, if the database has it.
pub fn port(state: &State, name: TapName) -> Option<&OvsPort> {
    state
        .ovs_ports
        .binary_search_by_key(&name, |p| p.name)
        .ok()
        .map(|i| &state.ovs_ports[i])
}

/// True when vswitchd's datapath is the master of device `name`. Kernel datapath: a row of that
/// name exists and the device exists and is not already a Linux bridge member; vswitchd (re)adds
/// a row's interface whenever a device of that name appears, so a new tap that reuses a stale
/// row's name is taken at once. Netdev datapath: never (it only opens a packet socket).
pub fn ovs_holds(state: &State, name: TapName, datapath: Datapath) -> bool {
    datapath == Datapath::Kernel
        && port(state, name).is_some()
        && tap(state, name).is_some_and(|t| !t.bridged)
}

/// `virNetDevGetMaster`: the device's `IFLA_MASTER`: the Linux bridge, `ovs-system` for a
/// kernel-datapath OVS port, or none.
pub fn master(state: &State, name: TapName, datapath: Datapath) -> Master {
    if tap(state, name).is_some_and(|t| t.bridged) {
        Master::Bridge
    } else if ovs_holds(state, name, datapath) {
        Master::OvsSystem
    } else {
        Master::None
    }
}

/// `virNetDevOpenvswitchInterfaceGetMaster` (`ovs-vsctl iface-to-br`): the OVS bridge when a
/// row of that name exists, none when the command fails.
pub fn iface_to_br(state: &State, name: TapName) -> Master {
    if port(state, name).is_some() {
        Master::Ovs
    } else {
        Master::None
    }
}

/// The name `virNetDevTapCreate` would pick now.
pub fn choose_name(state: &State, naming: Naming) -> TapName {
    let mut n = match naming {
        // TUNSETIFF("vnet%d"): the kernel's lowest unused number.
        Naming::LowestFree => 0,
        // virNetDevGenerateName: id = ++lastID under its mutex, skipping names that exist.
        Naming::Monotonic => state.next_id,
    };
    for t in &state.taps {
        if t.name.0 == n {
            n += 1;
        } else if t.name.0 > n {
            break;
        }
    }
    TapName(n)
}

/// `virNetDevTapCreate` for `holder`: picks the name as `naming` says and creates the device.
pub fn create_tap(state: &mut State, holder: u8, naming: Naming) -> TapName {
    let name = choose_name(state, naming);
    if naming == Naming::Monotonic {
        // Every number tried, up to the one taken, was consumed.
        state.next_id = name.0 + 1;
    }
    let at = state.taps.partition_point(|t| t.name < name);
    state.taps.insert(
        at,
        Tap {
            name,
            holder,
            bridged: false,
        },
    );
    name
}

/// The device `name` disappears (its last fd closed); the kernel unlinks it from any master.
pub fn destroy_tap(state: &mut State, name: TapName) {
    state.taps.retain(|t| t.name != name);
}

/// `virNetDevOpenvswitchAddPort`: `--if-exists del-port N -- add-port BR N -- set Interface N
/// external-ids:…vm-id=…`, one transaction, so any row of that name is replaced.
pub fn ovs_add_port(state: &mut State, name: TapName, vm_id: u8) {
    let row = OvsPort { name, vm_id };
    match state.ovs_ports.binary_search_by_key(&name, |p| p.name) {
        Ok(i) => state.ovs_ports[i] = row,
        Err(i) => state.ovs_ports.insert(i, row),
    }
}

/// `virNetDevOpenvswitchRemovePort`: `--if-exists del-port N`, by name only (the bridge
/// argument is unused). Returns the `vm-id` of the row it deleted, if there was one.
pub fn ovs_remove_port(state: &mut State, name: TapName) -> Option<u8> {
    let i = state
        .ovs_ports
        .binary_search_by_key(&name, |p| p.name)
        .ok()?;
    Some(state.ovs_ports.remove(i).vm_id)
}

/// `virNetDevBridgeAddPort` (`SIOCBRADDIF`): fails with `EBUSY` when the device already has a
/// master (the kernel datapath or a bridge); otherwise the tap becomes a bridge member.
pub fn bridge_add_port(
    state: &mut State,
    name: TapName,
    datapath: Datapath,
) -> Result<(), &'static str> {
    if ovs_holds(state, name, datapath) || tap(state, name).is_some_and(|t| t.bridged) {
        return Err("EBUSY");
    }
    let i = state
        .taps
        .binary_search_by_key(&name, |t| t.name)
        .expect("a VM attaches its own tap, which exists");
    state.taps[i].bridged = true;
    Ok(())
}

/// `virNetDevBridgeRemovePort` (`SIOCBRDELIF`): the device leaves the Linux bridge.
pub fn bridge_remove_port(state: &mut State, name: TapName) {
    if let Ok(i) = state.taps.binary_search_by_key(&name, |t| t.name) {
        state.taps[i].bridged = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(names: &[u16], next_id: u16) -> State {
        let mut s = State {
            taps: Vec::new(),
            ovs_ports: Vec::new(),
            next_id,
            vms: Vec::new(),
        };
        for &n in names {
            s.taps.push(Tap {
                name: TapName(n),
                holder: 0,
                bridged: false,
            });
        }
        s
    }

    #[test]
    fn the_kernel_reuses_the_lowest_free_number() {
        let mut s = state_with(&[0, 2], 0);
        assert_eq!(create_tap(&mut s, 1, Naming::LowestFree), TapName(1));
        assert_eq!(create_tap(&mut s, 1, Naming::LowestFree), TapName(3));
        destroy_tap(&mut s, TapName(0));
        assert_eq!(create_tap(&mut s, 1, Naming::LowestFree), TapName(0));
    }

    #[test]
    fn the_counter_never_goes_back_and_skips_existing_names() {
        let mut s = state_with(&[3], 2);
        assert_eq!(create_tap(&mut s, 1, Naming::Monotonic), TapName(2));
        assert_eq!(create_tap(&mut s, 1, Naming::Monotonic), TapName(4));
        assert_eq!(s.next_id, 5);
        destroy_tap(&mut s, TapName(2));
        assert_eq!(create_tap(&mut s, 1, Naming::Monotonic), TapName(5));
    }

    #[test]
    fn a_row_claims_a_new_device_of_its_name_and_the_bridge_then_says_ebusy() {
        let mut s = state_with(&[], 0);
        ovs_add_port(&mut s, TapName(0), 0);
        let name = create_tap(&mut s, 1, Naming::LowestFree);
        assert!(ovs_holds(&s, name, Datapath::Kernel));
        assert_eq!(master(&s, name, Datapath::Kernel), Master::OvsSystem);
        assert_eq!(
            bridge_add_port(&mut s, name, Datapath::Kernel),
            Err("EBUSY")
        );
        assert_eq!(ovs_remove_port(&mut s, name), Some(0));
        assert_eq!(bridge_add_port(&mut s, name, Datapath::Kernel), Ok(()));
        assert_eq!(master(&s, name, Datapath::Kernel), Master::Bridge);
        assert_eq!(
            bridge_add_port(&mut s, name, Datapath::Kernel),
            Err("EBUSY")
        );
    }

    #[test]
    fn on_the_netdev_datapath_a_row_never_masters_the_new_device() {
        let mut s = state_with(&[], 0);
        ovs_add_port(&mut s, TapName(0), 0);
        let name = create_tap(&mut s, 1, Naming::LowestFree);
        assert!(!ovs_holds(&s, name, Datapath::Netdev));
        assert_eq!(master(&s, name, Datapath::Netdev), Master::None);
        assert_eq!(iface_to_br(&s, name), Master::Ovs);
        assert_eq!(bridge_add_port(&mut s, name, Datapath::Netdev), Ok(()));
        bridge_remove_port(&mut s, name);
        assert_eq!(master(&s, name, Datapath::Netdev), Master::None);
    }
}
