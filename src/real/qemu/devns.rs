//! libvirt's private `/dev` for QEMU, built for real: QEMU runs in its own mount namespace
//! (`unshare --mount`) whose `/dev` is a fresh tmpfs (`mode=755,size=65536`) holding only the
//! default device nodes (`cgroup_device_acl`) and the `/dev` elements of each disk's symlink
//! chain, walked in the host's view when QEMU starts (`qemuNamespacePrepareOneItem`) and
//! recreated by `qemuNamespaceMknodOne` (symlinks as symlinks, device nodes by `mknod` with the
//! same `rdev`). Later changes on the host are invisible inside until
//! [`setup_paths_in`] (`qemuDomainNamespaceSetupDisk`) walks again inside the running namespace.
//!
//! Departures: preserved submounts (`/dev/pts`, `/dev/shm`, …) are not moved in (QEMU's
//! chardevs here are unix sockets outside `/dev`); regular files under `/dev` are not
//! bind-mounted (the replay's chains hold only symlinks and block devices); owners, ACLs and
//! SELinux labels are not copied.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::{Error, Result};

/// The default device nodes libvirt puts in every QEMU's `/dev` (`cgroup_device_acl`), where
/// the host has them.
pub const DEFAULT_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/full",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/ptmx",
    "/dev/kvm",
];

/// `SYMLOOP_MAX`: the walk gives up after this many links.
const SYMLOOP_MAX: usize = 40;

/// One element of QEMU's `/dev` to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A symbolic link to this target (as read, not resolved).
    Link(PathBuf),
    /// A block device node with this `rdev` and mode.
    Block { rdev: u64, mode: u32 },
    /// A character device node with this `rdev` and mode.
    Char { rdev: u64, mode: u32 },
}

/// A path under `/dev` and what it is on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The absolute path (under `/dev`).
    pub path: PathBuf,
    /// What to create there.
    pub node: Node,
}

fn under_dev(path: &Path) -> bool {
    path.starts_with("/dev") && path != Path::new("/dev")
}

/// What `path` is on the host (`None` for a regular file or directory) and, for a link, the
/// path it leads to; `Ok(None)` when it does not exist.
fn lookup(path: &Path) -> Result<Option<(Option<Node>, Option<PathBuf>)>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        // "@file doesn't exist. We can break here."
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("lstat {}", path.display()), e)),
    };
    let ft = meta.file_type();
    let mode = meta.mode() & 0o7777;
    let rdev = meta.rdev();
    Ok(Some(if ft.is_symlink() {
        let target = fs::read_link(path)
            .map_err(|e| Error::io(format!("readlink {}", path.display()), e))?;
        let resolved = if target.is_absolute() {
            target.clone()
        } else {
            path.parent().unwrap_or(Path::new("/")).join(&target)
        };
        (Some(Node::Link(target)), Some(resolved))
    } else if ft.is_block_device() {
        (Some(Node::Block { rdev, mode }), None)
    } else if ft.is_char_device() {
        (Some(Node::Char { rdev, mode }), None)
    } else {
        (None, None)
    }))
}

fn item_of(path: &Path) -> Result<Option<(Item, Option<PathBuf>)>> {
    let Some((node, next)) = lookup(path)? else {
        return Ok(None);
    };
    let node = node.ok_or_else(|| {
        Error::Host(format!(
            "{}: only symlinks and device nodes are copied into QEMU's /dev here",
            path.display()
        ))
    })?;
    let item = Item {
        path: path.to_path_buf(),
        node,
    };
    Ok(Some((item, next)))
}

/// `qemuNamespacePrepareOneItem`: walks `file`'s symlink chain in the host's view and returns
/// every element under `/dev`, stopping silently at the first one that does not exist.
pub fn walk(file: &Path) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut next = Some(file.to_path_buf());
    let mut links = 0;
    while let Some(path) = next.take() {
        let target = if under_dev(&path) {
            let Some((item, target)) = item_of(&path)? else {
                break;
            };
            items.push(item);
            target
        } else {
            // outside /dev the file system is shared: nothing to copy, but follow a link
            let Some((_, target)) = lookup(&path)? else {
                break;
            };
            target
        };
        if target.is_some() {
            links += 1;
            if links > SYMLOOP_MAX {
                return Err(Error::Host(format!(
                    "{}: more than {SYMLOOP_MAX} symlinks",
                    file.display()
                )));
            }
        }
        next = target;
    }
    Ok(items)
}

/// The default devices present on the host.
fn default_items() -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for dev in DEFAULT_DEVICES {
        if let Some((item, _)) = item_of(Path::new(dev))? {
            items.push(item);
        }
    }
    Ok(items)
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn major_minor(rdev: u64) -> (u64, u64) {
    (libc::major(rdev) as u64, libc::minor(rdev) as u64)
}

/// Shell commands creating `items` (paths under `/dev`) below `dev_root` (the staging tmpfs, or
/// `/dev` itself inside the namespace), as `qemuNamespaceMknodOne` does: an existing link to
/// the same target or a node with the same `rdev` is kept, anything else there is replaced.
fn mknod_script(items: &[Item], dev_root: &Path) -> String {
    let mut s = String::new();
    for item in items {
        let rel = item.path.strip_prefix("/dev").unwrap_or(&item.path);
        let at = quote(&dev_root.join(rel));
        let parent = format!("\"$(dirname {at})\"");
        let _ = writeln!(s, "mkdir -p {parent}");
        match &item.node {
            Node::Link(target) => {
                let t = quote(target);
                let _ = writeln!(
                    s,
                    "[ \"$(readlink {at} 2>/dev/null)\" = {t} ] || {{ rm -f {at}; ln -s {t} {at}; }}"
                );
            }
            Node::Block { rdev, mode } | Node::Char { rdev, mode } => {
                let kind = if matches!(item.node, Node::Block { .. }) {
                    'b'
                } else {
                    'c'
                };
                let (maj, min) = major_minor(*rdev);
                let _ = writeln!(
                    s,
                    "[ \"$(stat -c %t:%T {at} 2>/dev/null)\" = {maj:x}:{min:x} ] || \
                     {{ rm -f {at}; mknod -m {mode:o} {at} {kind} {maj} {min}; }}"
                );
            }
        }
    }
    s
}

/// The wrapper that starts QEMU the way libvirt does with namespaces enabled: `unshare` the
/// mount namespace (no propagation back to the host), mount a tmpfs, create the default devices
/// and the `/dev` elements of each of `disks`' chains (walked now, on the host), move the tmpfs
/// over `/dev`, then exec QEMU. The script is written into `dir`. Returns the wrapper argv.
pub fn launch_wrapper(dir: &Path, disks: &[PathBuf]) -> Result<Vec<String>> {
    let mut items = default_items()?;
    for disk in disks {
        for item in walk(disk)? {
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    let stage = dir.join("ns-dev");
    fs::create_dir_all(&stage)
        .map_err(|e| Error::io(format!("creating {}", stage.display()), e))?;
    let stage_q = quote(&stage);
    let mut script = String::from("set -eu\n");
    let _ = writeln!(
        script,
        "mount -t tmpfs -o mode=755,size=65536 vmrace-devfs {stage_q}"
    );
    script.push_str(&mknod_script(&items, &stage));
    let _ = writeln!(script, "mount --move {stage_q} /dev");
    script.push_str("exec \"$@\"\n");
    let path = dir.join("ns-setup.sh");
    fs::write(&path, script).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    let wrapper = vec![
        "unshare".to_string(),
        "--mount".into(),
        "--propagation".into(),
        "private".into(),
        "/bin/sh".into(),
        path.display().to_string(),
    ];
    Ok(wrapper)
}

fn nsenter(pid: u32, args: &[&str]) -> Result<std::process::Output> {
    Command::new("nsenter")
        .arg("-t")
        .arg(pid.to_string())
        .arg("-m")
        .arg("--")
        .args(args)
        .output()
        .map_err(|e| Error::io("running nsenter", e))
}

/// `qemuDomainNamespaceSetupDisk`: walks each of `paths` on the host again and creates what it
/// finds under `/dev` inside the mount namespace of process `pid`. Returns the items.
pub fn setup_paths_in(pid: u32, paths: &[PathBuf]) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for p in paths {
        items.extend(walk(p)?);
    }
    let script = format!("set -eu\n{}", mknod_script(&items, Path::new("/dev")));
    let out = nsenter(pid, &["/bin/sh", "-c", &script])?;
    if !out.status.success() {
        return Err(Error::Host(format!(
            "creating nodes in QEMU's /dev (pid {pid}): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(items)
}

/// Whether `path` opens (every link resolves) inside the mount namespace of process `pid`.
pub fn resolves_in(pid: u32, path: &Path) -> Result<bool> {
    let p = path.display().to_string();
    Ok(nsenter(pid, &["test", "-e", &p])?.status.success())
}

/// file-posix's lock byte for "this node holds `BLK_PERM_WRITE`" (`RAW_LOCK_PERM_BASE` 100 plus
/// the permission's bit, 1).
const WRITE_PERM_LOCK_BYTE: i64 = 101;

/// Whether some process holds file-posix's `BLK_PERM_WRITE` lock byte on `path` as the mount
/// namespace of process `pid` sees it (through `/proc/<pid>/root`; locks are per inode, and
/// libvirt's `/dev` copies are other inodes than the host's). QEMU takes a shared OFD lock on
/// that byte exactly while the node holds the write permission; `F_OFD_GETLK` asks whether an
/// exclusive lock there would conflict.
pub fn write_locked_in(pid: u32, path: &Path) -> Result<bool> {
    use std::os::fd::AsRawFd;
    let rel = path.strip_prefix("/").unwrap_or(path);
    let seen = PathBuf::from(format!("/proc/{pid}/root")).join(rel);
    let file =
        fs::File::open(&seen).map_err(|e| Error::io(format!("opening {}", seen.display()), e))?;
    // SAFETY: an all-zero `flock` is a valid value of this plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = WRITE_PERM_LOCK_BYTE;
    fl.l_len = 1;
    // SAFETY: fcntl(F_OFD_GETLK) on an open fd with a valid, writable `flock`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
    if rc != 0 {
        return Err(Error::io(
            format!("F_OFD_GETLK on {}", seen.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_stops_silently_at_a_missing_element_and_keeps_only_dev() {
        let dir = std::env::temp_dir().join(format!("vmrace-devns-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let link = dir.join("disk.0");
        std::os::unix::fs::symlink("/dev/vmrace-no-such-dir/vol", &link).unwrap();
        let items = walk(&link).unwrap();
        // the first hop is outside /dev (shared); its target does not exist: nothing to copy
        assert!(items.is_empty(), "{items:?}");
        let null = walk(Path::new("/dev/null")).unwrap();
        assert!(matches!(
            null.as_slice(),
            [Item {
                node: Node::Char { .. },
                ..
            }]
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_script_keeps_an_identical_link_and_replaces_a_different_one() {
        let items = [Item {
            path: "/dev/sp/vol".into(),
            node: Node::Link("../loop7".into()),
        }];
        let s = mknod_script(&items, Path::new("/stage"));
        assert!(s.contains("mkdir -p \"$(dirname '/stage/sp/vol')\""), "{s}");
        assert!(
            s.contains("[ \"$(readlink '/stage/sp/vol' 2>/dev/null)\" = '../loop7' ] || { rm -f '/stage/sp/vol'; ln -s '../loop7' '/stage/sp/vol'; }"),
            "{s}"
        );
    }
}
