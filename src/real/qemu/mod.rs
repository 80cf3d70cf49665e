//! Real QEMU replay building blocks: the guest image, the QEMU process (as
//! libvirt would start it), and clients for its four host-side channels: QMP,
//! the guest agent, the serial console and the vmrace schedule-control port.
//!
//! The guest is built by `guest/build.sh` (see `guest/README.md`); the
//! measured facts behind these choices are in docs/real-replay.md.
//! A typical run:
//!
//! ```no_run
//! use std::time::Duration;
//! use vmrace::real::qemu::{accel, GuestImage, LaunchConfig, Vm};
//! let image = GuestImage::locate()?;
//! let choice = accel::choose(&image);
//! let mut vm = Vm::start(&LaunchConfig::new(image, choice.accel).no_shutdown(true))?;
//! vm.wait_agent(Duration::from_secs(30))?;
//! vm.agent.ping(Duration::from_secs(5))?;
//! # Ok::<(), vmrace::real::qemu::Error>(())
//! ```

pub mod accel;
pub mod agent;
pub mod cleanup;
pub mod console;
pub mod control;
pub mod devns;
pub mod error;
pub mod image;
pub mod launch;
pub mod qmp;
pub mod stream;
pub mod vm;

pub use accel::{Accel, AccelChoice};
pub use agent::{Agent, AgentMessage, ShutdownMode};
pub use console::{Console, ConsoleLine};
pub use control::{Control, ControlEvent, ControlMsg};
pub use error::{Error, Result};
pub use image::{GuestImage, Manifest};
pub use launch::{LaunchConfig, Qemu, RunPaths};
pub use qmp::{Qmp, QmpEvent};
pub use stream::Stamp;
pub use vm::Vm;
