//! Real-QEMU tests: boot the replay guest (built by `guest/build.sh`) and check
//! the lifecycle facts the models rely on. They need the image and QEMU; when
//! the image is missing they fail with the command that builds it.
//!
//! The tests take a shared lock so only one QEMU boots at a time (TCG on a
//! small shared machine), which keeps their timings meaningful.

use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vmrace::real::qemu::accel::{self, ACCEL_ENV};
use vmrace::real::qemu::cleanup;
use vmrace::real::qemu::{ControlMsg, Error, GuestImage, LaunchConfig, QmpEvent, ShutdownMode, Vm};

const BOOT: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(15);
const RACE_RUNS: usize = 3;
const SIGNAL_CHILD_ENV: &str = "VMRACE_TEST_SIGNAL_CHILD";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn image() -> GuestImage {
    GuestImage::locate().unwrap_or_else(|e| panic!("{e}"))
}

fn config(no_shutdown: bool) -> LaunchConfig {
    let image = image();
    let choice = accel::choose(&image);
    eprintln!("accelerator: {} ({})", choice.accel.name(), choice.reason);
    LaunchConfig::new(image, choice.accel).no_shutdown(no_shutdown)
}

fn console_dump(vm: &Vm) -> String {
    let t0 = vm.spawned().mono;
    vm.console
        .lines()
        .iter()
        .map(|l| format!("{:8.3} {}\n", (l.received.mono - t0).as_secs_f64(), l.text))
        .collect()
}

fn events_dump(vm: &mut Vm) -> String {
    let t0 = vm.spawned().mono;
    match vm.qmp.events() {
        Ok(evs) => evs
            .iter()
            .map(|e| {
                format!(
                    "{:8.3} {} {}\n",
                    (e.received.mono - t0).as_secs_f64(),
                    e.name,
                    e.data
                )
            })
            .collect(),
        Err(e) => format!("(events unavailable: {e})"),
    }
}

/// Unwraps `r`, or panics with the console and the QMP events of `vm`.
fn ok<T>(vm: &mut Vm, r: vmrace::real::qemu::Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!(
            "{what}: {e}\n--- console ---\n{}--- events ---\n{}--- stderr ---\n{}",
            console_dump(vm),
            events_dump(vm),
            vm.qemu.stderr()
        ),
    }
}

fn booted(cfg: &LaunchConfig) -> Vm {
    let mut vm = Vm::start(cfg).unwrap_or_else(|e| panic!("starting QEMU: {e}"));
    let r = vm.wait_agent(BOOT);
    let t = ok(&mut vm, r, "waiting for the guest agent");
    eprintln!("guest agent answered {} ms after spawn", t.as_millis());
    vm
}

fn since(vm: &mut Vm, mark: usize) -> Vec<QmpEvent> {
    let r = vm.qmp.events().map(|e| e[mark..].to_vec());
    ok(vm, r, "reading events")
}

fn event_mark(vm: &mut Vm) -> usize {
    let r = vm.qmp.event_count();
    ok(vm, r, "event count")
}

fn names(events: &[QmpEvent]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn boot_reaches_guest_ping() {
    let _g = serial();
    let image = image();
    image.verify().unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let mut vm = booted(&config(false));
    let r = vm.agent.ping(STEP);
    ok(&mut vm, r, "guest-ping");
    eprintln!("boot to guest-ping: {} ms", t0.elapsed().as_millis());
    assert!(
        vm.console.contains("qemu-ga started"),
        "{}",
        console_dump(&vm)
    );
    let r = vm
        .qmp
        .wait_event(0, STEP, "VSERPORT_CHANGE open on channel0", |e| {
            e.name == "VSERPORT_CHANGE"
                && e.flag("open") == Some(true)
                && e.text("id") == Some("channel0")
        });
    ok(&mut vm, r, "VSERPORT_CHANGE");
    let r = vm
        .control
        .wait_msg(0, &ControlMsg::Hello { sched: false }, STEP);
    ok(&mut vm, r, "control HELLO");
}

#[test]
fn powerdown_with_no_shutdown_stops_then_fake_reboot_restores_agent() {
    let _g = serial();
    let mut vm = booted(&config(true));
    let mark = event_mark(&mut vm);
    let t0 = Instant::now();
    let r = vm.qmp.execute("system_powerdown", None, STEP);
    ok(&mut vm, r, "system_powerdown");
    let r = vm.qmp.wait_event_named(mark, "POWERDOWN", STEP);
    let (i_pd, _) = ok(&mut vm, r, "POWERDOWN");
    let r = vm.qmp.wait_event_named(mark, "SHUTDOWN", STEP);
    let (i_sd, sd) = ok(&mut vm, r, "SHUTDOWN");
    let r = vm.qmp.wait_event_named(i_sd, "STOP", STEP);
    let (i_st, _) = ok(&mut vm, r, "STOP");
    eprintln!("system_powerdown to STOP: {} ms", t0.elapsed().as_millis());
    assert!(i_pd < i_sd && i_sd < i_st);
    assert_eq!(sd.flag("guest"), Some(true), "{sd:?}");
    assert_eq!(sd.text("reason"), Some("guest-shutdown"), "{sd:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(vm.qemu.is_running(), "QEMU exited despite -no-shutdown");
    let r = vm.status();
    assert_eq!(ok(&mut vm, r, "query-status"), "shutdown");
    assert!(vm.console.contains("fs: synced"), "{}", console_dump(&vm));
    assert!(
        vm.console.contains("lock taken by pwrbtn"),
        "{}",
        console_dump(&vm)
    );
    // While the guest is off, an agent request is queued, not answered, and
    // the agent socket sees no EOF.
    let r = vm.agent.send("guest-ping", None);
    let queued = ok(&mut vm, r, "guest-ping while off");
    let r = vm.agent.wait_reply(queued, Duration::from_millis(500));
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    assert!(vm.agent.eof().is_none());

    let mark = event_mark(&mut vm);
    let t1 = Instant::now();
    let r = vm.fake_reboot();
    ok(&mut vm, r, "system_reset + cont");
    let r = vm.qmp.wait_event_named(mark, "RESET", STEP);
    let (_, reset) = ok(&mut vm, r, "RESET");
    assert_eq!(reset.flag("guest"), Some(false), "{reset:?}");
    let r = vm.wait_agent(BOOT);
    ok(&mut vm, r, "agent after the fake reboot");
    let r = vm.agent.ping(STEP);
    ok(&mut vm, r, "guest-ping after the fake reboot");
    eprintln!("fake reboot to agent: {} ms", t1.elapsed().as_millis());
    // The next qemu-ga answered the queued request: a stale reply.
    let stale_ids: Vec<u64> = vm
        .agent
        .stale()
        .iter()
        .filter_map(|m| m.body.get("id").and_then(|v| v.as_u64()))
        .collect();
    assert!(
        stale_ids.contains(&queued),
        "stale replies: {:?}",
        vm.agent.stale()
    );
    let r = vm.status();
    assert_eq!(ok(&mut vm, r, "query-status"), "running");
    let resets = since(&mut vm, mark)
        .iter()
        .filter(|e| e.name == "RESET")
        .count();
    assert_eq!(
        resets,
        1,
        "qboot gives exactly one RESET per reset\n{}",
        events_dump(&mut vm)
    );
}

#[test]
fn sigterm_is_a_host_signal_shutdown_and_exits_despite_no_shutdown() {
    let _g = serial();
    let mut vm = booted(&config(true));
    let mark = event_mark(&mut vm);
    let t0 = Instant::now();
    let r = vm.qemu.signal(libc::SIGTERM);
    ok(&mut vm, r, "SIGTERM");
    let r = vm.qmp.wait_event_named(mark, "SHUTDOWN", STEP);
    let (_, sd) = ok(&mut vm, r, "SHUTDOWN");
    assert_eq!(sd.flag("guest"), Some(false), "{sd:?}");
    assert_eq!(sd.text("reason"), Some("host-signal"), "{sd:?}");
    let r = vm.qemu.wait_exit(STEP);
    let status = ok(&mut vm, r, "QEMU exit");
    eprintln!(
        "SIGTERM to exit: {} ms ({status})",
        t0.elapsed().as_millis()
    );
    let r = vm.console.wait_line(0, STEP, "console EOF", |_| false);
    assert!(
        r.is_err() && vm.console.eof().is_some(),
        "console did not reach EOF"
    );
    assert!(vm.qmp.eof().is_some() && vm.agent.eof().is_some());
    let evs = since(&mut vm, mark);
    assert!(!names(&evs).contains(&"POWERDOWN"), "{evs:?}");
    assert!(!vm.console.contains("fs: synced"), "{}", console_dump(&vm));
    assert!(
        !vm.console.contains("power button pressed"),
        "{}",
        console_dump(&vm)
    );
}

#[test]
fn ignore_acpi_guest_logs_the_button_and_keeps_running() {
    let _g = serial();
    let mut vm = booted(&config(true).knob("ignore_acpi", "1"));
    let mark = event_mark(&mut vm);
    let r = vm.qmp.execute("system_powerdown", None, STEP);
    ok(&mut vm, r, "system_powerdown");
    let r = vm.qmp.wait_event_named(mark, "POWERDOWN", STEP);
    ok(&mut vm, r, "POWERDOWN");
    let r = vm.console.wait_line(0, STEP, "the ignored button", |l| {
        l.contains("pwrbtn: ignored")
    });
    ok(&mut vm, r, "console");
    std::thread::sleep(Duration::from_millis(500));
    let r = vm.agent.ping(STEP);
    ok(&mut vm, r, "guest-ping after the ignored button");
    let evs = since(&mut vm, mark);
    assert_eq!(names(&evs), ["POWERDOWN"], "{evs:?}");
    let r = vm.status();
    assert_eq!(ok(&mut vm, r, "query-status"), "running");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Winner {
    PowerButton,
    Agent,
}

/// system_powerdown and guest-shutdown(reboot) sent back to back; the guest's
/// scheduling points decide who takes the shutdown lock.
fn race_once(winner: Winner) {
    let mut vm = booted(&config(true).knob("sched", "1"));
    let r = vm
        .control
        .wait_msg(0, &ControlMsg::Hello { sched: true }, STEP);
    ok(&mut vm, r, "control HELLO sched=1");
    let c0 = vm.control.message_count();
    let e0 = event_mark(&mut vm);
    let t0 = Instant::now();
    let r = vm.qmp.send("system_powerdown", None);
    let pd = ok(&mut vm, r, "system_powerdown");
    let r = vm.agent.shutdown(ShutdownMode::Reboot);
    ok(&mut vm, r, "guest-shutdown reboot");
    let r = vm.qmp.wait_reply(pd, STEP);
    ok(&mut vm, r, "system_powerdown reply");
    for p in ["pwrbtn", "ga-shutdown"] {
        let r = vm.control.wait_msg(c0, &ControlMsg::Wait(p.into()), STEP);
        ok(&mut vm, r, p);
    }
    let (first, source) = match winner {
        Winner::PowerButton => ("pwrbtn", "pwrbtn"),
        Winner::Agent => ("ga-shutdown", "ga"),
    };
    let r = vm.control.release(c0, first, STEP);
    ok(&mut vm, r, first);
    let lock = format!("lock-{source}");
    let r = vm.control.release(c0, &lock, STEP);
    ok(&mut vm, r, &lock);
    let r = vm.qmp.wait_event(e0, STEP, "SHUTDOWN or RESET", |e| {
        e.name == "SHUTDOWN" || e.name == "RESET"
    });
    let (i, terminal) = ok(&mut vm, r, "terminal event");
    eprintln!(
        "race {winner:?}: {} after {} ms",
        terminal.name,
        t0.elapsed().as_millis()
    );
    let msg = format!(
        "--- console ---\n{}--- events ---\n{}",
        console_dump(&vm),
        events_dump(&mut vm)
    );
    assert!(
        vm.console.contains(&format!("lock taken by {source}")),
        "{msg}"
    );
    match winner {
        Winner::PowerButton => {
            assert_eq!(terminal.name, "SHUTDOWN", "{msg}");
            assert_eq!(terminal.flag("guest"), Some(true), "{msg}");
            let r = vm.qmp.wait_event_named(i, "STOP", STEP);
            ok(&mut vm, r, "STOP");
            let r = vm.status();
            assert_eq!(ok(&mut vm, r, "query-status"), "shutdown");
            assert!(!names(&since(&mut vm, e0)).contains(&"RESET"), "{msg}");
            assert!(vm.console.contains("fs: synced"), "{msg}");
        }
        Winner::Agent => {
            assert_eq!(terminal.name, "RESET", "{msg}");
            assert_eq!(terminal.flag("guest"), Some(true), "{msg}");
            // The guest reboots by itself; the power-button poweroff is lost.
            let r = vm.wait_agent(BOOT);
            ok(&mut vm, r, "agent after the guest reboot");
            let evs = since(&mut vm, e0);
            assert!(!names(&evs).contains(&"SHUTDOWN"), "{msg}");
            assert_eq!(
                names(&evs).iter().filter(|n| **n == "RESET").count(),
                1,
                "{msg}"
            );
        }
    }
    assert_eq!(names(&since(&mut vm, e0))[0], "POWERDOWN", "{msg}");
}

#[test]
fn sched_power_button_first_gives_shutdown_class() {
    let _g = serial();
    for _ in 0..RACE_RUNS {
        race_once(Winner::PowerButton);
    }
}

#[test]
fn sched_agent_first_gives_reset_class() {
    let _g = serial();
    for _ in 0..RACE_RUNS {
        race_once(Winner::Agent);
    }
}

#[test]
fn panic_while_holding_qemu_leaves_no_process_or_dir() {
    let _g = serial();
    let cfg = config(false);
    let seen: Mutex<Option<(PathBuf, u32)>> = Mutex::new(None);
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let vm = Vm::start(&cfg).unwrap_or_else(|e| panic!("starting QEMU: {e}"));
        *seen.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((vm.dir().to_path_buf(), vm.qemu.pid()));
        vm.console
            .wait_line(0, BOOT, "init start", |l| l.contains("init start"))
            .unwrap_or_else(|e| panic!("{e}"));
        panic!("deliberate panic while holding a running QEMU");
    }));
    assert!(r.is_err());
    let (dir, pid) = seen
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .expect("the closure recorded its run");
    assert!(!dir.exists(), "{} still exists", dir.display());
    let left = cleanup::qemu_processes_mentioning(&dir.display().to_string());
    assert!(left.is_empty(), "QEMU processes left: {left:?}");
    assert!(
        !PathBuf::from(format!("/proc/{pid}")).exists(),
        "pid {pid} still exists"
    );
    assert!(cleanup::live_runs().iter().all(|r| r.dir != dir));
}

/// Child mode: start a QEMU, report it, and wait for the parent's SIGTERM.
fn signal_child() {
    let cfg = config(false);
    let vm = Vm::start(&cfg).unwrap_or_else(|e| panic!("starting QEMU: {e}"));
    println!("RUN {} {}", vm.qemu.pid(), vm.dir().display());
    std::thread::sleep(Duration::from_secs(60));
    panic!("the parent did not signal this process");
}

#[test]
fn harness_sigterm_kills_qemu_and_removes_dir() {
    if std::env::var_os(SIGNAL_CHILD_ENV).is_some() {
        signal_child();
        return;
    }
    let _g = serial();
    let accel = accel::choose(&image()).accel.name();
    let exe = std::env::current_exe().expect("test executable");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "harness_sigterm_kills_qemu_and_removes_dir",
            "--nocapture",
        ])
        .env(SIGNAL_CHILD_ENV, "1")
        .env(ACCEL_ENV, accel)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning the child test process");
    let stdout = child.stdout.take().expect("child stdout");
    let mut run = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("reading the child's stdout");
        if let Some(rest) = line.strip_prefix("RUN ") {
            let (pid, dir) = rest.split_once(' ').expect("RUN <pid> <dir>");
            run = Some((pid.parse::<u32>().expect("pid"), PathBuf::from(dir)));
            break;
        }
    }
    let (pid, dir) = run.expect("the child reported its QEMU");
    assert!(dir.exists());
    // SAFETY: kill(2) on the child process we spawned.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + STEP;
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the child") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the child did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        !PathBuf::from(format!("/proc/{pid}")).exists(),
        "QEMU pid {pid} still exists"
    );
    assert!(cleanup::qemu_processes_mentioning(&dir.display().to_string()).is_empty());
}
