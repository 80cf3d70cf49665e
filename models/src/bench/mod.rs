//! The two benchmark models of `docs/bench.md`, implemented exactly (not the faithful
//! libvirt models), so that the explorer's counts can be compared with other model checkers.

pub mod reboot_storm;
pub mod tap_churn;

pub use reboot_storm::RebootStorm;
pub use tap_churn::{Cleanup, Naming, TapChurn};
