//! Choosing the accelerator. KVM is used only if `/dev/kvm` exists, opens,
//! and a short boot with it reaches the guest agent in time; otherwise TCG.
//! (On a host whose /dev/kvm is the PVM module, a stock guest never gets
//! there, so such hosts end up on TCG.) The choice says why.

use std::sync::OnceLock;
use std::time::Duration;

use super::error::Result;
use super::image::GuestImage;
use super::launch::LaunchConfig;
use super::vm::Vm;

/// Environment variable that skips the probe: `tcg` or `kvm`.
pub const ACCEL_ENV: &str = "VMRACE_ACCEL";
/// How long the KVM probe boot may take to reach the agent (TCG needs ~2 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(6);

/// A QEMU accelerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Software emulation (always available).
    Tcg,
    /// Hardware virtualisation through /dev/kvm.
    Kvm,
}

impl Accel {
    /// The name for `-machine accel=`.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// Which accelerator to use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccelChoice {
    /// The accelerator.
    pub accel: Accel,
    /// Why it was chosen.
    pub reason: String,
}

/// Probes KVM: `/dev/kvm` must exist and open read-write, and a boot of
/// `image` under KVM must reach the agent within `timeout`.
pub fn probe(image: &GuestImage, timeout: Duration) -> AccelChoice {
    let tcg = |reason: String| AccelChoice {
        accel: Accel::Tcg,
        reason,
    };
    if !std::path::Path::new("/dev/kvm").exists() {
        return tcg("/dev/kvm does not exist".into());
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return tcg(format!("/dev/kvm cannot be opened read-write: {e}"));
    }
    match kvm_boot(image, timeout) {
        Ok(d) => AccelChoice {
            accel: Accel::Kvm,
            reason: format!("a KVM boot reached the guest agent in {} ms", d.as_millis()),
        },
        Err(e) => tcg(format!(
            "/dev/kvm exists but a KVM boot did not reach the guest agent within {} s ({e})",
            timeout.as_secs_f64()
        )),
    }
}

fn kvm_boot(image: &GuestImage, timeout: Duration) -> Result<Duration> {
    let mut vm = Vm::start(&LaunchConfig::new(image.clone(), Accel::Kvm))?;
    vm.wait_agent(timeout)
}

/// The accelerator for this process: `$VMRACE_ACCEL` if set to `tcg` or
/// `kvm`, else the result of [`probe`] with [`PROBE_TIMEOUT`], computed once
/// per process (the first image passed is the one probed).
pub fn choose(image: &GuestImage) -> &'static AccelChoice {
    static CHOICE: OnceLock<AccelChoice> = OnceLock::new();
    CHOICE.get_or_init(|| match std::env::var(ACCEL_ENV).as_deref() {
        Ok("tcg") => AccelChoice {
            accel: Accel::Tcg,
            reason: format!("{ACCEL_ENV}=tcg"),
        },
        Ok("kvm") => AccelChoice {
            accel: Accel::Kvm,
            reason: format!("{ACCEL_ENV}=kvm"),
        },
        _ => probe(image, PROBE_TIMEOUT),
    })
}
