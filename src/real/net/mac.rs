//! Reading and setting a device's MAC address inside the sandbox, as libvirt does for taps:
//! `virNetDevTapCreateInBridgePort` gives the tap the guest MAC with its first byte set to 0xFE
//! (`virNetDevSetMAC`), and the `mac-check` patch reads it back (`virNetDevGetMAC`). Both are
//! done here with iproute2 inside the sandbox namespace (netlink instead of libvirt's
//! `SIOCSIFHWADDR`/`SIOCGIFHWADDR` ioctls; the address stored in the device is the same).

use serde_json::Value;

use super::error::{NetError, Result};
use super::sandbox::Sandbox;
use super::tools::{describe, run, run_status};

impl Sandbox {
    /// Sets the MAC address of device `ifname` (`ip link set dev IF address MAC`).
    pub fn set_mac(&self, ifname: &str, mac: &str) -> Result<()> {
        let state = self.state();
        run(&mut state.tools.ip_in(
            &state.netns,
            &["link", "set", "dev", ifname, "address", mac],
        ))?;
        Ok(())
    }

    /// The MAC address of device `ifname` (lower case), or `None` when no such device exists.
    pub fn mac(&self, ifname: &str) -> Result<Option<String>> {
        let state = self.state();
        if !state.exists(ifname)? {
            return Ok(None);
        }
        let mut cmd = state
            .tools
            .ip_in(&state.netns, &["-j", "link", "show", "dev", ifname]);
        let out = run_status(&mut cmd)?;
        if !out.status.success() {
            // Vanished between the check and the read: as good as absent.
            return Ok(None);
        }
        let parsed: Option<String> = serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v.get(0)?.get("address")?.as_str().map(str::to_lowercase));
        parsed.map(Some).ok_or_else(|| NetError::Parse {
            command: describe(&cmd),
            detail: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }
}
