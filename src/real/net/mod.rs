//! Real network replay: executes the network steps of libvirt's VM start/stop paths against
//! real kernel objects (tap devices, a Linux bridge) and a real, private Open vSwitch, so a
//! trace found by the simulator (e.g. the tap-name reuse race of seed 004) can be confirmed on
//! real software.
//!
//! Usage: create a [`Sandbox`] per replay, map each trace step to a [`NetOp`] and
//! [`Sandbox::apply`] it, then [`Sandbox::observe`] and read [`NetObservation::verdict`].
//! Programs that may be interrupted call [`install_signal_handler`] once so Ctrl-C still
//! removes every sandbox. Needs root, `iproute2` and, for [`Backend::Ovs`],
//! `openvswitch-switch`; the `vmrace-nethelper` binary stands in for QEMU.
//!
//! Files: `sandbox` (namespace, bridge, lifetime), `ovs` (private OVS daemons), `tap` (tap
//! holder processes), `ops` (the steps), `observe` (oracle), `registry` (signals, leftovers),
//! `helper` (helper protocol), `mac` (MAC addresses), `sys` (raw syscalls), `tools` (external programs), `error`.

mod error;
pub mod helper;
mod mac;
mod observe;
mod ops;
mod ovs;
mod registry;
mod sandbox;
pub mod sys;
mod tap;
mod tools;

pub use error::{Errno, NetError, Result};
pub use observe::{NetObservation, OvsPort, Verdict, VmNet};
pub use ops::{NetOp, NetOutcome, TapNaming};
pub use ovs::OVS_BRIDGE;
pub use registry::{cleanup_all, defer_to_program_handler, install_signal_handler, sweep_stale};
pub use sandbox::{Backend, Sandbox, LINUX_BRIDGE};
pub use tools::{locate_helper, HELPER_ENV};
