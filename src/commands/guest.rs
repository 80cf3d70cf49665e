//! `vmrace guest build [OUTDIR]` runs `guest/build.sh` (the reproducible replay guest from
//! Debian packages; needs root for apt-get); `vmrace guest info` prints the image in use: its
//! directory, the package versions and the sha256 of every part.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{CliError, CliResult, EXIT_OK};
use crate::outln;
use crate::real::qemu::GuestImage;

/// Builds the guest image (into `out`, default `<repo>/build/guest`); the script's output goes
/// straight to the terminal.
pub fn build(out: Option<PathBuf>) -> CliResult {
    let script = GuestImage::build_command();
    let mut cmd = Command::new(&script);
    if let Some(out) = &out {
        cmd.arg(out);
    }
    let status = cmd
        .status()
        .map_err(|e| CliError::bad_input(format!("running {script}: {e}")))?;
    if status.success() {
        Ok(EXIT_OK)
    } else {
        Err(CliError::bad_input(format!(
            "{script} failed ({status}); it needs root (apt-get download) and network access"
        )))
    }
}

/// Prints the located image's manifest: directory, key, kernel, packages and checksums.
pub fn info() -> CliResult {
    let image = GuestImage::locate().map_err(|e| CliError::bad_input(e.to_string()))?;
    let m = &image.manifest;
    outln!("image:      {}", image.dir.display())?;
    outln!("key:        {}", m.key)?;
    outln!("kernel:     {}", m.kernel_release)?;
    for p in &m.packages {
        outln!(
            "package:    {} {} (deb sha256 {})",
            p.name,
            p.version,
            p.sha256
        )?;
    }
    outln!("vmlinux:    sha256 {}", m.vmlinux.sha256)?;
    outln!("initramfs:  sha256 {}", m.initramfs.sha256)?;
    outln!("guest/ files sha256 {}", m.guest_files_sha256)?;
    Ok(EXIT_OK)
}
