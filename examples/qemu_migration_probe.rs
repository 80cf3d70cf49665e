//! Seed 003 probe: a real outgoing migration that fails after the source
//! inactivated its disks, then `cont` and a second migration. Which failure
//! path does this QEMU take, and are the disks reactivated?
//!
//! The destination of the first migration lacks a device the source has
//! (`virtio-rng-pci`), so it fails loading the device state, which the source
//! sends in the completion phase, after `bdrv_inactivate_all`. Run once
//! without and once with the `return-path` capability (with it the source
//! learns of the failure). The second migration goes to a matching
//! destination: if the source's disks were left inactive, QEMU aborts on
//! `bdrv_inactivate_recurse`'s assertion or the destination cannot use them.
//!
//! Third run (the seed's own failure path): the disk is opened as libvirt
//! does (`-blockdev file,auto-read-only=on` through a symlink). Before the
//! migration the symlink is retargeted to a node that does not exist in
//! QEMU's view (as a host-side retarget looks from inside libvirt's private
//! /dev). Inactivation drops the write permission, file-posix reopens the
//! file read-only *by path*, gets ENOENT, and `bdrv_inactivate_all` fails.
//! The link is then fixed and a second migration tried. (The private mount
//! namespace itself, `unshare -m` with a tmpfs /dev, is not set up here.)
//!
//! `cargo run --example qemu_migration_probe` (needs the guest image; set
//! `VMRACE_ACCEL=tcg` to skip the KVM probe).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vmrace::real::qemu::{accel, GuestImage, LaunchConfig, Vm};

const T: Duration = Duration::from_secs(20);

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cfg(image: &GuestImage, disk: &Path, rng: bool, incoming: Option<&Path>) -> LaunchConfig {
    let mut c = LaunchConfig::new(image.clone(), accel::choose(image).accel).no_shutdown(true);
    c.extra_args.extend([
        "-blockdev".into(),
        format!(
            "driver=file,filename={},node-name=file0,auto-read-only=on,discard=unmap",
            disk.display()
        ),
        "-blockdev".into(),
        "driver=raw,file=file0,node-name=drive0".into(),
        "-device".into(),
        "virtio-blk-pci,drive=drive0,id=disk0".into(),
    ]);
    if rng {
        c.extra_args
            .extend(["-device".into(), "virtio-rng-pci,id=rng0".into()]);
    }
    if let Some(sock) = incoming {
        c.extra_args
            .extend(["-incoming".into(), format!("unix:{}", sock.display())]);
    }
    c
}

fn migrate(src: &mut Vm, sock: &Path) -> (String, String) {
    let r = src.qmp.execute(
        "migrate",
        Some(json!({"uri": format!("unix:{}", sock.display())})),
        T,
    );
    if let Err(e) = r {
        return ("refused".into(), e.to_string());
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match src.qmp.execute("query-migrate", None, T) {
            Ok(v) => {
                let st = v["status"].as_str().unwrap_or("").to_string();
                if ["completed", "failed", "cancelled"].contains(&st.as_str()) {
                    return (st, v["error-desc"].as_str().unwrap_or("").to_string());
                }
            }
            Err(e) => return ("source-gone".into(), e.to_string()),
        }
        if Instant::now() > deadline {
            return ("timeout".into(), String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status(vm: &mut Vm) -> String {
    if !vm.qemu.is_running() {
        return format!("exited; stderr: {}", vm.qemu.stderr().trim());
    }
    vm.status().unwrap_or_else(|e| e.to_string())
}

fn relink(link: &Path, target: &Path) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

fn probe(image: &GuestImage, return_path: bool, enoent: bool) -> Value {
    let dir = TempDir(PathBuf::from(format!(
        "/tmp/vmrace-mig-{}-{return_path}",
        std::process::id()
    )));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let file = dir.0.join("disk.raw");
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(16 << 20))
        .expect("disk");
    let disk = dir.0.join("disk-link");
    relink(&disk, &file);
    let mut src = Vm::start(&cfg(image, &disk, !enoent, None)).expect("source");
    src.wait_agent(Duration::from_secs(60))
        .expect("source agent");
    let caps = json!({"capabilities": [{"capability": "return-path", "state": return_path}]});
    src.qmp
        .execute("migrate-set-capabilities", Some(caps), T)
        .expect("caps");
    let sock1 = dir.0.join("mig1.sock");
    let mut dst1 = Vm::start_paused(&cfg(image, &disk, false, Some(&sock1))).expect("dest 1");
    if enoent {
        relink(&disk, &dir.0.join("dev-node-not-in-namespace"));
    }
    let (st1, err1) = migrate(&mut src, &sock1);
    if enoent {
        relink(&disk, &file);
    }
    std::thread::sleep(Duration::from_millis(500));
    let src_after = status(&mut src);
    let dst1_after = status(&mut dst1);
    let src_stderr = src.qemu.stderr();
    let cont = match src.qmp.execute("cont", None, T) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    std::thread::sleep(Duration::from_millis(300));
    let src_after_cont = status(&mut src);
    let agent = src.wait_agent(Duration::from_secs(10)).is_ok();
    let sock2 = dir.0.join("mig2.sock");
    let mut dst2 = Vm::start_paused(&cfg(image, &disk, !enoent, Some(&sock2))).expect("dest 2");
    let (st2, err2) = if src.qemu.is_running() {
        migrate(&mut src, &sock2)
    } else {
        ("source-gone".into(), String::new())
    };
    std::thread::sleep(Duration::from_millis(500));
    let src_final = status(&mut src);
    let dst2_final = status(&mut dst2);
    let dst2_cont = if dst2.qemu.is_running() && st2 == "completed" {
        match dst2.qmp.execute("cont", None, T) {
            Ok(_) => format!("ok, {}", status(&mut dst2)),
            Err(e) => e.to_string(),
        }
    } else {
        "not tried".into()
    };
    json!({
        "case": if enoent { "enoent-on-inactivation" } else { "dest-fails-after-inactivation" },
        "source_stderr_after_first": src_stderr.trim(),
        "return_path": return_path,
        "first_migration": {"status": st1, "error": err1, "source_after": src_after, "dest_after": dst1_after},
        "cont_on_source": cont, "source_after_cont": src_after_cont, "source_agent_answers": agent,
        "second_migration": {"status": st2, "error": err2, "source_after": src_final,
                             "dest_after": dst2_final, "dest_cont": dst2_cont},
    })
}

fn main() {
    let image = GuestImage::locate().unwrap_or_else(|e| panic!("{e}"));
    let choice = accel::choose(&image);
    eprintln!("accelerator: {} ({})", choice.accel.name(), choice.reason);
    for (rp, enoent) in [(false, false), (true, false), (false, true)] {
        let report = probe(&image, rp, enoent);
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    }
}
