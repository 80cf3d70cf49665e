//! Locating the guest image that `guest/build.sh` builds: its `manifest.json`,
//! the ELF `vmlinux` and the initramfs, with checks that it is complete and
//! was built from the current `guest/` scripts.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::{Error, Result};

/// Environment variable naming an image directory (or a build root holding
/// `current`) to use instead of `<repo>/build/guest/current`.
pub const GUEST_DIR_ENV: &str = "VMRACE_GUEST_DIR";

/// A Debian package the image was built from, downloaded as a .deb.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DebPackage {
    /// Package name.
    pub name: String,
    /// Exact Debian version.
    pub version: String,
    /// File name of the .deb.
    pub deb: String,
    /// sha256 of the .deb.
    pub sha256: String,
}

/// A host package whose files were copied into the initramfs.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct HostPackage {
    /// Package name.
    pub name: String,
    /// Installed version at build time.
    pub version: String,
}

/// One built file of the image.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ImageFile {
    /// Path relative to the image directory.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the file.
    pub sha256: String,
}

/// `manifest.json` as `guest/build.sh` writes it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Manifest format version (1).
    pub format: u32,
    /// The image key (directory name): versions plus an inputs hash.
    pub key: String,
    /// Kernel release (ABI name), e.g. `6.1.0-56-amd64`.
    pub kernel_release: String,
    /// The kernel and qemu-guest-agent packages.
    pub packages: Vec<DebPackage>,
    /// Host packages copied in (busybox-static, qemu-ga's libraries).
    pub host_packages: Vec<HostPackage>,
    /// Kernel modules, in load order.
    pub modules: Vec<String>,
    /// The `guest/` files the image was built from.
    pub guest_files: Vec<String>,
    /// sha256 over `sha256sum` lines of [`Manifest::guest_files`].
    pub guest_files_sha256: String,
    /// The ELF kernel.
    pub vmlinux: ImageFile,
    /// The gzip'd cpio initramfs.
    pub initramfs: ImageFile,
}

/// A built guest image on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestImage {
    /// The image directory (holding manifest.json).
    pub dir: PathBuf,
    /// Its parsed manifest.
    pub manifest: Manifest,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl GuestImage {
    /// The command that builds the image (run as root: it uses apt-get).
    pub fn build_command() -> String {
        format!("{}/guest/build.sh", repo_root().display())
    }

    /// Where `guest/build.sh` puts images by default: `<repo>/build/guest`.
    pub fn default_root() -> PathBuf {
        repo_root().join("build").join("guest")
    }

    /// Finds the image: `$VMRACE_GUEST_DIR` (an image directory or a build
    /// root with `current`), else `<repo>/build/guest/current`. Fails, naming
    /// the build command, when it is missing, incomplete, or built from other
    /// `guest/` scripts than the ones in this checkout.
    pub fn locate() -> Result<GuestImage> {
        let dir = match std::env::var_os(GUEST_DIR_ENV) {
            Some(d) => {
                let d = PathBuf::from(d);
                if d.join("manifest.json").exists() {
                    d
                } else {
                    d.join("current")
                }
            }
            None => Self::default_root().join("current"),
        };
        let image = Self::from_dir(&dir)?;
        image.check_guest_files(&repo_root().join("guest"))?;
        Ok(image)
    }

    /// Loads the image in `dir` and checks the files exist with the recorded sizes.
    pub fn from_dir(dir: &Path) -> Result<GuestImage> {
        let manifest_path = dir.join("manifest.json");
        let text = fs::read_to_string(&manifest_path).map_err(|e| {
            Error::Image(format!(
                "no guest image at {} ({e}); build it with: {}",
                manifest_path.display(),
                Self::build_command()
            ))
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::Image(format!(
                "{} is not a valid manifest ({e}); rebuild with: {}",
                manifest_path.display(),
                Self::build_command()
            ))
        })?;
        let image = GuestImage {
            dir: dir.to_path_buf(),
            manifest,
        };
        for f in [&image.manifest.vmlinux, &image.manifest.initramfs] {
            let p = dir.join(&f.path);
            let size = fs::metadata(&p).map(|m| m.len()).ok();
            if size != Some(f.size) {
                return Err(Error::Image(format!(
                    "{} is missing or has the wrong size ({size:?}, manifest says {}); rebuild with: {}",
                    p.display(),
                    f.size,
                    Self::build_command()
                )));
            }
        }
        Ok(image)
    }

    /// Checks the image was built from the `guest/` files in `guest_dir`
    /// (skipped when that directory does not exist, e.g. outside a checkout).
    pub fn check_guest_files(&self, guest_dir: &Path) -> Result<()> {
        if !guest_dir.is_dir() {
            return Ok(());
        }
        let mut listing = String::new();
        for name in &self.manifest.guest_files {
            let sum = sha256_file(&guest_dir.join(name))?;
            listing.push_str(&format!("{sum}  {name}\n"));
        }
        let now = hex(&Sha256::digest(listing.as_bytes()));
        if now != self.manifest.guest_files_sha256 {
            return Err(Error::Image(format!(
                "the image in {} was built from other guest/ scripts than {}; rebuild with: {}",
                self.dir.display(),
                guest_dir.display(),
                Self::build_command()
            )));
        }
        Ok(())
    }

    /// Verifies the sha256 of vmlinux and the initramfs against the manifest.
    pub fn verify(&self) -> Result<()> {
        for f in [&self.manifest.vmlinux, &self.manifest.initramfs] {
            let sum = sha256_file(&self.dir.join(&f.path))?;
            if sum != f.sha256 {
                return Err(Error::Image(format!(
                    "{} has sha256 {sum}, manifest says {}; rebuild with: {}",
                    self.dir.join(&f.path).display(),
                    f.sha256,
                    Self::build_command()
                )));
            }
        }
        Ok(())
    }

    /// Path of the ELF kernel (booted directly via its PVH note).
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join(&self.manifest.vmlinux.path)
    }

    /// Path of the initramfs.
    pub fn initramfs(&self) -> PathBuf {
        self.dir.join(&self.manifest.initramfs.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_image_names_the_build_command() {
        let err = GuestImage::from_dir(Path::new("/nonexistent/vmrace-guest")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("guest/build.sh"), "{text}");
        assert!(
            text.contains("/nonexistent/vmrace-guest/manifest.json"),
            "{text}"
        );
    }
}
