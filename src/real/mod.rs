//! Real replay: drive real kernel objects, Open vSwitch and QEMU through a trace.
pub mod migration_replay;
pub mod net;
pub mod net_replay;
pub mod qemu;
pub mod qemu_replay;
pub mod replay;
pub mod signals;
