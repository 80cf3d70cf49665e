//! The raw kernel calls behind the replayed steps, issued exactly as libvirt issues them:
//! entering a named network namespace (`setns`), creating a tap (`TUNSETIFF`, as
//! `virNetDevTapCreate`), testing for a device (`if_nametoindex`, as `virNetDevExists`) and the
//! bridge ioctls (`SIOCBRADDIF`/`SIOCBRDELIF`, as `virNetDevBridgeAddPort`/`brctl delif`).
//!
//! Everything here acts in the calling thread's network namespace, so callers first enter the
//! sandbox's namespace, either in a throw-away thread ([`in_netns`]) or in the helper process.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::error::{Errno, NetError, Result};

/// `SIOCBRADDIF` from `<linux/sockios.h>` (not exported by the `libc` crate for glibc targets).
const SIOCBRADDIF: libc::c_ulong = 0x89a2;
/// `SIOCBRDELIF` from `<linux/sockios.h>`.
const SIOCBRDELIF: libc::c_ulong = 0x89a3;

/// Moves the calling thread into the network namespace mounted at `/run/netns/NAME` (what
/// `ip netns add NAME` creates). Only this thread changes namespace.
pub fn enter_netns(name: &str) -> Result<()> {
    let path = format!("/run/netns/{name}");
    let file = File::open(&path).map_err(|e| NetError::io(format!("open {path}"), e))?;
    // SAFETY: plain syscall on a file descriptor we own for the duration of the call.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let err = std::io::Error::last_os_error();
        return Err(NetError::io(format!("setns({path}, CLONE_NEWNET)"), err));
    }
    Ok(())
}

/// Runs `f` on a fresh thread that has entered network namespace `name`, so the caller's own
/// namespace is never touched; the thread (and its namespace reference) ends with `f`.
pub fn in_netns<R: Send>(name: &str, f: impl FnOnce() -> R + Send) -> Result<R> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| enter_netns(name).map(|()| f()))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// An `ifreq` with `name` copied in, or EINVAL when the name does not fit IFNAMSIZ.
fn ifreq(name: &str) -> Result<libc::ifreq, Errno> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Errno(libc::EINVAL));
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    Ok(req)
}

/// Interface index of `name` in the current namespace, or `None` if no such device exists.
/// This is exactly `virNetDevExists`' test.
pub fn ifindex(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    // SAFETY: cname is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    (index != 0).then_some(index)
}

/// Creates (or, for an existing persistent tap without IFF_TUN_EXCL, reopens) a tap like
/// libvirt's `virNetDevTapCreate`: `open(/dev/net/tun)` + `TUNSETIFF(IFF_TAP|IFF_NO_PI)`.
/// `name` may be a template such as `vnet%d`, in which case the kernel picks the lowest free
/// number. With `persist` the device outlives the returned descriptor (`TUNSETPERSIST 1`).
/// Returns the descriptor that keeps the tap alive and the name the kernel assigned.
pub fn open_tap(name: &str, persist: bool) -> Result<(OwnedFd, String), Errno> {
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: valid NUL-terminated path literal.
    let raw = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `raw` is a freshly opened descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `req` is.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
        return Err(Errno::last());
    }
    if persist {
        // SAFETY: TUNSETPERSIST takes an integer argument.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETPERSIST, 1 as libc::c_ulong) } < 0 {
            return Err(Errno::last());
        }
    }
    let assigned: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    Ok((fd, String::from_utf8_lossy(&assigned).into_owned()))
}

/// Adds (`SIOCBRADDIF`, libvirt's `virNetDevBridgeAddPort`) or removes (`SIOCBRDELIF`, what
/// `brctl delif` does) `ifname` as a port of Linux bridge `bridge`. A missing device gives ENODEV
/// (libvirt reports the failed `if_nametoindex` that way); an already enslaved one gives EBUSY.
pub fn bridge_port(bridge: &str, ifname: &str, add: bool) -> Result<(), Errno> {
    let mut req = ifreq(bridge)?;
    let index = ifindex(ifname).ok_or(Errno(libc::ENODEV))?;
    req.ifr_ifru.ifru_ifindex = index as libc::c_int;
    // libvirt's virNetDevSetupControl uses an AF_PACKET/SOCK_DGRAM control socket.
    // SAFETY: plain socket creation.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `raw` is a fresh descriptor owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let request = if add { SIOCBRADDIF } else { SIOCBRDELIF };
    // SAFETY: the bridge ioctls read a struct ifreq, which `req` is.
    if unsafe { libc::ioctl(sock.as_raw_fd(), request, &mut req) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}
