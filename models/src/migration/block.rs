//! QEMU's block layer as migration uses it: `bdrv_inactivate_recurse` with the BlockBackend's
//! `blk_root_inactivate`, `bdrv_activate` with `blk_root_activate`, and a guest write.
//!
//! Permission changes go through `bdrv_child_try_set_perm`. Under libvirt's `-blockdev`
//! (`auto-read-only: true`) file-posix's `raw_reconfigure_getfd` must reopen the image *by name*
//! (`qemu_open`) whenever the node gains or loses writers; that open happens inside QEMU's mount
//! namespace. A failed transaction is rolled back (`tran_finalize`), so the old fd and
//! `c->perm` stay; when the change only loosens permissions the error is dropped silently.

use super::state::{Crash, Disk, Event, OpenError, RunState, State};
use super::storage::resolves_now;
use super::Migration;

/// What `bdrv_inactivate_recurse` returned for one disk's node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inactivation {
    /// The node is inactive and holds no permissions.
    Done,
    /// `-EPERM`: "Our inactive parents still need write access".
    Eperm,
    /// ``assert(!(bs->open_flags & BDRV_O_INACTIVE))`` fired: QEMU aborts.
    AlreadyInactive,
}

impl Migration {
    /// Whether disk `d` is a read-only device (never holds `BLK_PERM_WRITE`).
    pub(crate) fn readonly(&self, d: usize) -> bool {
        self.config.disks[d].readonly
    }

    /// `bdrv_inactivate_recurse(bs)` for disk `d`'s node (QEMU 6.2-9.2), whose only parent is
    /// its BlockBackend:
    /// 1. the node must not be inactive yet (assertion);
    /// 2. `blk_root_inactivate`: if `disable_perm` is already set return 0 at once; otherwise set
    ///    it and `bdrv_child_try_set_perm(root, 0, BLK_PERM_ALL, &error_abort)`: dropping WRITE
    ///    reopens the image `O_RDONLY` by name; on `ENOENT` the transaction rolls back and, as
    ///    this only loosens permissions, the error is freed and 0 returned;
    /// 3. `bdrv_get_cumulative_perm`: WRITE still held means `-EPERM`;
    /// 4. otherwise set `BDRV_O_INACTIVE`.
    pub(crate) fn inactivate_recurse(&self, s: &mut State, d: usize) -> Inactivation {
        if s.disks[d].inactive {
            return Inactivation::AlreadyInactive;
        }
        let reopen_ok = resolves_now(s, &self.disks[d], d);
        let disk = &mut s.disks[d];
        if !disk.disable_perm {
            disk.disable_perm = true;
            if disk.write_perm {
                if reopen_ok {
                    disk.write_perm = false;
                    disk.open_error = OpenError::None;
                } else {
                    disk.open_error = OpenError::Enoent;
                }
            }
        }
        if disk.write_perm {
            return Inactivation::Eperm;
        }
        disk.inactive = true;
        Inactivation::Done
    }

    /// `bdrv_activate_all`: `bdrv_activate` on every disk's node in order, stopping at the first
    /// error. Returns whether all succeeded.
    pub(crate) fn activate_all(&self, s: &mut State) -> bool {
        (0..s.disks.len()).all(|d| self.activate(s, d))
    }

    /// `bdrv_activate(bs)` for disk `d`: clear `BDRV_O_INACTIVE` (the BlockBackend still asks for
    /// no permissions, so this needs no reopen), then the parent's `blk_root_activate`: only if
    /// `disable_perm` is set, clear it and `blk_set_perm(blk->perm, BLK_PERM_ALL)`, which
    /// tightens to WRITE and reopens the image `O_RDWR` by name. On error `disable_perm` is set
    /// again and `bdrv_activate` sets `BDRV_O_INACTIVE` again.
    fn activate(&self, s: &mut State, d: usize) -> bool {
        let needs_reopen = !self.readonly(d) && !s.disks[d].write_perm;
        let reopen_ok = resolves_now(s, &self.disks[d], d);
        let disk: &mut Disk = &mut s.disks[d];
        disk.inactive = false;
        if !disk.disable_perm {
            return true;
        }
        disk.disable_perm = false;
        if needs_reopen {
            if !reopen_ok {
                disk.open_error = OpenError::Enoent;
                disk.disable_perm = true;
                disk.inactive = true;
                return false;
            }
            disk.write_perm = true;
            disk.open_error = OpenError::None;
        }
        true
    }

    /// A guest write to disk `d` (`blk_co_pwritev` → `bdrv_co_write_req_prepare`). On the
    /// destination it always lands; on the source an inactive node (or one without WRITE) is an
    /// assertion failure and QEMU aborts, taking the write with it.
    pub(crate) fn guest_write(&self, s: &mut State, d: usize) {
        s.guest.pending[d] -= 1;
        let disk = s.disks[d];
        if s.qemu.run == RunState::Migrated || (!disk.inactive && disk.write_perm) {
            s.guest.ok += 1;
        } else {
            s.guest.lost += 1;
            crash(s, Crash::GuestWrite);
        }
    }
}

/// QEMU aborts: every thread is gone, libvirt will see the monitor's EOF.
pub(crate) fn crash(s: &mut State, site: Crash) {
    s.qemu.run = RunState::Crashed;
    s.qemu.crash = Some(site);
    s.qemu.bql = false;
    s.events.push(Event::Eof);
}
