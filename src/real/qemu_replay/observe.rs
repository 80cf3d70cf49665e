//! The observed end state, named as the lifecycle model names its
//! observations: `result`, `acted`, `killed`, `fs`, `qemu`, `boots`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::steps::Runner;
use crate::real::qemu::control::ControlMsg;
use crate::real::qemu::Result;

/// Observes the VM after the last step.
pub(crate) fn observe(r: &mut Runner) -> Result<BTreeMap<String, String>> {
    let n = r.dom.name.clone();
    let mut out = BTreeMap::new();
    let alive = r.vm.qemu.is_running();
    let status = if alive {
        r.vm.status().unwrap_or_else(|_| "unknown".into())
    } else {
        "exited".into()
    };
    let hellos: Vec<_> =
        r.vm.control
            .messages()
            .into_iter()
            .filter(|m| matches!(m.msg, ControlMsg::Hello { .. }))
            .collect();
    let boots = (r.prior_hellos + hellos.len()).saturating_sub(1);
    let boot_time = hellos.last().map(|m| m.received.mono);
    let this_boot: Vec<String> =
        r.vm.console
            .lines()
            .into_iter()
            .filter(|l| boot_time.is_none_or(|t| l.received.mono > t))
            .map(|l| l.text)
            .collect();
    let synced = this_boot.iter().any(|l| l.contains("fs: synced"));
    let answers = alive && status == "running" && r.vm.agent.sync(Duration::from_secs(5)).is_ok();
    let result = if !r.dom.managed {
        if alive { "RUNNING" } else { "SHUTDOWN" }.to_string()
    } else if !alive || status == "shutdown" {
        "SHUTDOWN".into()
    } else if status == "running" && boots > 0 {
        if answers {
            "REBOOT".into()
        } else {
            "REBOOT-but-agent-silent".into()
        }
    } else {
        status.to_uppercase()
    };
    let fs = if synced {
        "clean"
    } else if alive && status == "running" {
        "in-use"
    } else {
        "dirty"
    };
    let acted = this_boot
        .iter()
        .find_map(|l| {
            if l.contains("lock taken by pwrbtn") {
                Some("acpi")
            } else if l.contains("shutdown(reboot): lock taken by ga") {
                Some("agent-reboot")
            } else if l.contains("lock taken by ga") {
                Some("agent-powerdown")
            } else {
                None
            }
        })
        .unwrap_or("none");
    out.insert(format!("{n}.result"), result);
    out.insert(format!("{n}.qemu"), status);
    out.insert(format!("{n}.boots"), boots.to_string());
    out.insert(format!("{n}.killed"), r.killed.to_string());
    out.insert(format!("{n}.fs"), fs.to_string());
    out.insert(format!("{n}.acted"), acted.to_string());
    let connected = answers && r.vm.agent_port_open().unwrap_or(false);
    out.insert(format!("{n}.agent_connected"), connected.to_string());
    Ok(out)
}
