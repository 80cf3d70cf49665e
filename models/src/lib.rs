//! vmrace's models of the VM management stack, built on `sim`.
//!
//! Each scenario model composes component modules that each model one real component and name
//! every step after the upstream function it stands for: `lifecycle` (libvirt's qemu driver,
//! QEMU, the guest and its agent, a process supervisor: seeds 000, 001, 002), `network` (the
//! kernel tap table, Open vSwitch, the Linux bridge and libvirt's NIC setup and teardown: seed
//! 004) and `migration` (QEMU's block layer during migration, libvirt's /dev namespace: seed
//! 003). `bench` holds the benchmark models of docs/bench.md.

pub mod bench;
pub mod lifecycle;
pub mod migration;
pub mod network;
pub mod scenario;
