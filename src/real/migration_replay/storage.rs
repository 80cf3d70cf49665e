//! The host's storage for a migration replay, made real: each writable disk is a loop device
//! over a sparse image, reached from the disk's source path through the scenario's symlink
//! chain. Scenario paths under `/dev` live under a private `/dev/vmrace-<pid>-<n>/` directory
//! on the host; the others under the replay's temporary directory (the file system QEMU shares
//! with the host). `retarget` builds the disk's second chain and swaps the source link, as a
//! storage agent renaming a volume does. Everything (links, nodes, loop devices, directories)
//! is removed on drop, and by [`cleanup_all`] from the binary's signal handler. Every change to
//! the host happens with the registry locked, and [`cleanup_all`] closes it: a replay thread
//! still running after a signal cannot recreate what the handler removed.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use models::migration::DiskConfig;

use crate::real::qemu::{Error, Result};

/// Size of each sparse disk image.
const IMAGE_BYTES: u64 = 16 << 20;

/// What a drop or a signal must undo.
#[derive(Clone, Debug, Default)]
struct Undo {
    loops: Vec<String>,
    dirs: Vec<PathBuf>,
}

/// The storages alive in this process, and whether [`cleanup_all`] has closed the registry.
struct Live {
    closed: bool,
    undo: BTreeMap<u32, Undo>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    closed: false,
    undo: BTreeMap::new(),
});
static NEXT: AtomicU32 = AtomicU32::new(1);

fn live() -> MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `change` (which alters the host) with the registry locked, unless [`cleanup_all`] has
/// closed it.
fn changing<T>(change: impl FnOnce(&mut BTreeMap<u32, Undo>) -> Result<T>) -> Result<T> {
    let mut live = live();
    if live.closed {
        return Err(Error::Interrupted("no storage is changed"));
    }
    change(&mut live.undo)
}

/// Detaches `dev` (a busy device is detached by the kernel at its last close), retrying for
/// a second while `losetup` fails; says so on stderr if it never succeeds.
fn detach(dev: &str) {
    let mut last = String::new();
    for _ in 0..50 {
        match Command::new("losetup").arg("-d").arg(dev).output() {
            Ok(out) if out.status.success() => return,
            Ok(out) => last = String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    eprintln!("vmrace: could not detach {dev}: {last}");
}

fn undo(u: &Undo) {
    for dev in &u.loops {
        detach(dev);
    }
    for dir in &u.dirs {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Removes every live replay storage (loop devices, `/dev/vmrace-*` trees, temporary
/// directories) and closes the registry: later [`HostStorage::create`] and
/// [`HostStorage::retarget`] calls fail without touching the host. Returns how many storages
/// there were. For the signal handler.
pub fn cleanup_all() -> usize {
    let mut live = live();
    live.closed = true;
    let all = std::mem::take(&mut live.undo);
    for u in all.values() {
        undo(u);
    }
    all.len()
}

/// One disk as the real host has it.
#[derive(Clone, Debug)]
pub struct RealDisk {
    /// The source path QEMU opens (mapped).
    pub path: PathBuf,
    /// The chain at start, mapped; the last element is the node.
    chain: Vec<PathBuf>,
    /// The chain after `retarget`, mapped.
    retarget: Option<Vec<PathBuf>>,
    /// The loop device (`/dev/loopN`) behind a chain, if the disk has one.
    pub loop_dev: Option<String>,
    /// A read-only disk (a plain image file).
    pub readonly: bool,
}

impl RealDisk {
    /// The device node QEMU's namespace holds since start (the initial chain's last element),
    /// or the image file of a disk without a chain.
    pub fn node(&self) -> &Path {
        self.chain.last().unwrap_or(&self.path)
    }
}

/// The replay's storage; dropping it removes everything.
#[derive(Debug)]
pub struct HostStorage {
    id: u32,
    /// The replay's temporary directory (images, scripts, shared paths, migration sockets).
    pub dir: PathBuf,
    /// The host directory standing for the scenario's `/dev`.
    pub dev: PathBuf,
    /// The disks, in configuration order.
    pub disks: Vec<RealDisk>,
}

fn host_err(what: impl Into<String>) -> Error {
    Error::Host(what.into())
}

fn run(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| Error::io(format!("running {what}"), e))?;
    if !out.status.success() {
        return Err(host_err(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Creates (or replaces) `link` → `target`, atomically by rename.
fn relink(link: &Path, target: &Path) -> Result<()> {
    let parent = link.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(|e| Error::io(format!("mkdir {}", parent.display()), e))?;
    let tmp = parent.join(format!(
        ".{}.vmrace-new",
        link.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .map_err(|e| Error::io(format!("symlink {}", tmp.display()), e))?;
    fs::rename(&tmp, link).map_err(|e| Error::io(format!("rename to {}", link.display()), e))
}

impl HostStorage {
    /// Creates the storage for `disks`: per disk with a chain a loop device and the chain's
    /// links and node; per disk without one a plain image at its path.
    pub fn create(disks: &[DiskConfig]) -> Result<HostStorage> {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("vmrace-{}-{id}", std::process::id());
        let dir = std::env::temp_dir().join(format!("{tag}-mig"));
        let dev = PathBuf::from("/dev").join(&tag);
        let mut storage = HostStorage {
            id,
            dir,
            dev,
            disks: Vec::new(),
        };
        // on error `storage` is dropped, which undoes what is registered
        changing(|live| {
            let undo_list = live.entry(id).or_insert_with(|| Undo {
                loops: Vec::new(),
                dirs: vec![storage.dev.clone(), storage.dir.clone()],
            });
            for d in [&storage.dir, &storage.dev] {
                fs::create_dir_all(d)
                    .map_err(|e| Error::io(format!("mkdir {}", d.display()), e))?;
            }
            for (i, cfg) in disks.iter().enumerate() {
                let disk = storage.make_disk(i, cfg, undo_list)?;
                storage.disks.push(disk);
            }
            Ok(())
        })?;
        Ok(storage)
    }

    /// Runs `change` (which creates something under [`HostStorage::dir`]) with the registry
    /// locked, unless a signal's cleanup has already removed the storage.
    pub fn while_open<T>(&self, change: impl FnOnce() -> Result<T>) -> Result<T> {
        changing(|_| change())
    }

    /// Where a scenario path lives on this host.
    pub fn map(&self, path: &str) -> PathBuf {
        match path.strip_prefix("/dev/") {
            Some(rest) => self.dev.join(rest),
            None => self.dir.join("fs").join(path.trim_start_matches('/')),
        }
    }

    fn make_disk(&self, i: usize, cfg: &DiskConfig, undo_list: &mut Undo) -> Result<RealDisk> {
        let path = self.map(&cfg.path);
        let chain: Vec<PathBuf> = cfg.chain.iter().map(|p| self.map(p)).collect();
        let retarget = cfg
            .retarget
            .as_ref()
            .map(|r| r.iter().map(|p| self.map(p)).collect::<Vec<_>>());
        let image = self.dir.join(format!("disk{i}.img"));
        fs::File::create(&image)
            .and_then(|f| f.set_len(IMAGE_BYTES))
            .map_err(|e| Error::io(format!("creating {}", image.display()), e))?;
        let mut disk = RealDisk {
            path: path.clone(),
            chain,
            retarget,
            loop_dev: None,
            readonly: cfg.readonly,
        };
        if disk.chain.is_empty() {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| Error::io(format!("mkdir {}", parent.display()), e))?;
            }
            fs::rename(&image, &path)
                .map_err(|e| Error::io(format!("moving the image to {}", path.display()), e))?;
            return Ok(disk);
        }
        let loop_dev = run(
            Command::new("losetup")
                .args(["--find", "--show"])
                .arg(&image),
            "losetup --find --show (needs root and loop devices)",
        )?;
        undo_list.loops.push(loop_dev.clone());
        disk.loop_dev = Some(loop_dev);
        let chain = disk.chain.clone();
        self.build_chain(&disk, &chain)?;
        relink(&path, &chain[0])?;
        Ok(disk)
    }

    /// Creates a chain's links (each to the next element) and its node (a block device with
    /// the disk's loop device's `rdev`), keeping elements that exist.
    fn build_chain(&self, disk: &RealDisk, chain: &[PathBuf]) -> Result<()> {
        let loop_dev = disk
            .loop_dev
            .as_deref()
            .expect("a chained disk has a loop device");
        let rdev = fs::metadata(loop_dev)
            .map_err(|e| Error::io(format!("stat {loop_dev}"), e))?
            .rdev();
        let (node, links) = chain.split_last().expect("a chain has a node");
        if !node.exists() {
            let parent = node.parent().unwrap_or(Path::new("/"));
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("mkdir {}", parent.display()), e))?;
            let (maj, min) = (libc::major(rdev), libc::minor(rdev));
            run(
                Command::new("mknod").args(["-m", "660"]).arg(node).args([
                    "b",
                    &maj.to_string(),
                    &min.to_string(),
                ]),
                &format!("mknod {}", node.display()),
            )?;
        }
        for (k, link) in links.iter().enumerate() {
            relink(link, &chain[k + 1])?;
        }
        Ok(())
    }

    /// The storage agent's `retarget`: every disk with a second chain gets it built and its
    /// source link swapped to it. Returns what changed, for the report.
    pub fn retarget(&self) -> Result<String> {
        changing(|_| {
            let mut done = Vec::new();
            for disk in &self.disks {
                if let Some(chain) = &disk.retarget {
                    self.build_chain(disk, chain)?;
                    relink(&disk.path, &chain[0])?;
                    done.push(format!("{} -> {}", disk.path.display(), chain[0].display()));
                }
            }
            Ok(done.join("; "))
        })
    }
}

impl Drop for HostStorage {
    fn drop(&mut self) {
        // with the registry locked: a signal's cleanup waits for this undo to finish before
        // the process exits
        let mut live = live();
        if let Some(u) = live.undo.remove(&self.id) {
            undo(&u);
        }
    }
}
