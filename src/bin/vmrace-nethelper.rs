//! `vmrace-nethelper`: the small process the real-network replay runs inside a sandbox's
//! network namespace. `hold-tap` stands in for QEMU (it holds a tap descriptor until killed, so
//! SIGKILL makes the kernel delete the tap as QEMU's death does); `addif`/`delif` issue the
//! bridge ioctls libvirt and brctl use; `sandbox` keeps a sandbox open for manual inspection
//! (and for the Ctrl-C test) until SIGINT/SIGTERM.
//!
//! Replies follow the one-line protocol of `vmrace::real::net::helper`: `tap NAME` or `ok` on
//! stdout with exit status 0, `errno N SYMBOL` with status 1 (the kernel refused); harness
//! failures go to stderr with exit status 2.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use vmrace::real::net::helper::Reply;
use vmrace::real::net::{self, sys, Backend, NetOp, Sandbox, TapNaming};

/// Command line of the helper.
#[derive(Parser)]
#[command(about = "Network helper for vmrace real replay (tap holder, bridge ioctls)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Enter NETNS, create a tap with TUNSETIFF(IFF_TAP|IFF_NO_PI), print `tap NAME`, then hold
    /// it until killed or until stdin reaches end-of-file.
    HoldTap {
        /// Network namespace (as in /run/netns/NAME).
        #[arg(long)]
        netns: String,
        /// Template such as `vnet%d` (kernel picks the lowest free number) or explicit name.
        #[arg(long)]
        name: String,
        /// Make the tap persistent (TUNSETPERSIST), so it outlives this process.
        #[arg(long)]
        persist: bool,
    },
    /// SIOCBRADDIF: attach IFNAME to Linux bridge BRIDGE (libvirt's virNetDevBridgeAddPort).
    Addif {
        /// Network namespace (as in /run/netns/NAME).
        #[arg(long)]
        netns: String,
        /// The Linux bridge.
        bridge: String,
        /// The device to attach.
        ifname: String,
    },
    /// SIOCBRDELIF: detach IFNAME from Linux bridge BRIDGE (what `brctl delif` does).
    Delif {
        /// Network namespace (as in /run/netns/NAME).
        #[arg(long)]
        netns: String,
        /// The Linux bridge.
        bridge: String,
        /// The device to detach.
        ifname: String,
    },
    /// Create a sandbox, plug a kernel-named tap per --vm into it, print `ready {json}` and
    /// wait; Ctrl-C/SIGTERM removes everything and exits 130/143.
    Sandbox {
        /// Which switch to start.
        #[arg(long, value_enum, default_value = "ovs")]
        backend: BackendArg,
        /// VMs to start (CreateTap, then AddPort or AttachBridge).
        #[arg(long = "vm")]
        vms: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Ovs,
    LinuxBridge,
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(Reply::Errno(_)) => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmrace-nethelper: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs one subcommand and returns the reply it printed.
fn run(command: Command) -> Result<Reply, Box<dyn std::error::Error>> {
    match command {
        Command::HoldTap {
            netns,
            name,
            persist,
        } => {
            sys::enter_netns(&netns)?;
            match sys::open_tap(&name, persist) {
                Ok((fd, assigned)) => {
                    let held = reply(Reply::Tap(assigned))?;
                    // Block until the harness kills us or closes our stdin (it died).
                    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
                    drop(fd);
                    Ok(held)
                }
                Err(errno) => Ok(reply(Reply::Errno(errno))?),
            }
        }
        Command::Addif {
            netns,
            bridge,
            ifname,
        } => bridge_port(&netns, &bridge, &ifname, true),
        Command::Delif {
            netns,
            bridge,
            ifname,
        } => bridge_port(&netns, &bridge, &ifname, false),
        Command::Sandbox { backend, vms } => hold_sandbox(backend, &vms),
    }
}

/// Prints the protocol line for `reply` and hands it back.
fn reply(reply: Reply) -> std::io::Result<Reply> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", reply.to_line())?;
    stdout.flush()?;
    Ok(reply)
}

fn bridge_port(
    netns: &str,
    bridge: &str,
    ifname: &str,
    add: bool,
) -> Result<Reply, Box<dyn std::error::Error>> {
    sys::enter_netns(netns)?;
    Ok(reply(match sys::bridge_port(bridge, ifname, add) {
        Ok(()) => Reply::Ok,
        Err(errno) => Reply::Errno(errno),
    })?)
}

fn hold_sandbox(backend: BackendArg, vms: &[String]) -> Result<Reply, Box<dyn std::error::Error>> {
    net::install_signal_handler()?;
    let backend = match backend {
        BackendArg::Ovs => Backend::Ovs,
        BackendArg::LinuxBridge => Backend::LinuxBridge,
    };
    let mut sandbox = Sandbox::with_helper(backend, std::env::current_exe()?)?;
    for vm in vms {
        let vm = vm.clone();
        sandbox.apply(&NetOp::CreateTap {
            vm: vm.clone(),
            naming: TapNaming::Kernel,
            persist: false,
        })?;
        sandbox.apply(&match backend {
            Backend::Ovs => NetOp::AddPort { vm },
            Backend::LinuxBridge => NetOp::AttachBridge { vm },
        })?;
    }
    let info = serde_json::json!({
        "netns": sandbox.netns(),
        "dir": sandbox.dir(),
        "pids": sandbox.pids(),
        "observation": sandbox.observe()?,
    });
    println!("ready {info}");
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
