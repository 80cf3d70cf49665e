#!/usr/bin/env bash
# Build the vmrace replay guest from Debian packages: an ELF vmlinux (PVH boot)
# and a bit-for-bit reproducible initramfs with busybox-static, the real
# qemu-ga and the guest scripts in this folder. See guest/README.md.
#
# Usage: guest/build.sh [OUTDIR]        (default: <repo>/build/guest)
#
# The image goes to OUTDIR/<kernel-version>_<qga-version>_<inputs>/ with a
# manifest.json; OUTDIR/current links to it. An existing image is kept.
# Environment:
#   VMRACE_KERNEL_PKG       kernel package (default: what linux-image-amd64 depends on)
#   VMRACE_KERNEL_VERSION   its version (default: apt's candidate)
#   VMRACE_QGA_VERSION      qemu-guest-agent version (default: apt's candidate)
#   VMRACE_DEB_CACHE        where downloaded .debs are kept (default: OUTDIR/debs)
set -euo pipefail
export LC_ALL=C
umask 022

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out_root=${1:-$repo/build/guest}
mkdir -p "$out_root"
out_root=$(cd "$out_root" && pwd)
deb_cache=${VMRACE_DEB_CACHE:-$out_root/debs}
mkdir -p "$deb_cache"

MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console virtio_blk button evdev"
GUEST_FILES="build.sh common.sh extract-vmlinux.py init pwrbtn shutdown vmrace-power vmrace-sched"

log() { echo "guest/build.sh: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root "$@"; }
candidate() { apt-cache policy "$1" | awk '$1 == "Candidate:" { print $2 }'; }
installed_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# --- package resolution --------------------------------------------------------
if [ -z "$(candidate linux-image-amd64)" ] || [ "$(candidate linux-image-amd64)" = "(none)" ]; then
	log "apt lists are empty: apt-get update"
	apt_get update -q >&2
fi
kpkg=${VMRACE_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')}
[ -n "$kpkg" ] || die "cannot resolve the kernel package that linux-image-amd64 depends on"
kver=${VMRACE_KERNEL_VERSION:-$(candidate "$kpkg")}
qver=${VMRACE_QGA_VERSION:-$(candidate qemu-guest-agent)}
[ -n "$kver" ] && [ "$kver" != "(none)" ] || die "no version of $kpkg available"
[ -n "$qver" ] && [ "$qver" != "(none)" ] || die "no version of qemu-guest-agent available"
kabi=${kpkg#linux-image-}

# --- host tools and the libraries qemu-ga links against ------------------------
need=()
qga_deps=$(apt-cache show "qemu-guest-agent=$qver" | sed -n '0,/^Depends:/s/^Depends: //p' |
	tr ',' '\n' | sed 's/(.*//; s/|.*//; s/[[:space:]]//g')
for p in qemu-system-x86 qemu-system-data busybox-static cpio xz-utils gzip $qga_deps; do
	is_installed "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing on the host: ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt_get install -y -q --no-install-recommends "${need[@]}" >&2
fi
command -v python3 >/dev/null || die "python3 is needed (extract-vmlinux.py, manifest.json)"
[ -f /usr/share/qemu/qboot.rom ] || die "/usr/share/qemu/qboot.rom missing (package qemu-system-data)"
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"

# --- image key -------------------------------------------------------------------
# Everything that goes into the image: package versions and the guest scripts.
inputs_desc=$(
	echo "kernel $kpkg $kver"
	echo "qemu-guest-agent $qver"
	for p in busybox-static $qga_deps; do echo "host $p $(installed_version "$p")"; done
	(cd "$here" && sha256sum $GUEST_FILES)
)
guest_files_sha256=$( (cd "$here" && sha256sum $GUEST_FILES) | sha256sum | cut -d' ' -f1)
inputs_sha=$(printf '%s\n' "$inputs_desc" | sha256sum | cut -c1-12)
key="${kver}_${qver//:/_}_${inputs_sha}"
dest="$out_root/$key"
if [ -f "$dest/manifest.json" ]; then
	log "image present, not rebuilt: $dest"
	ln -sfn "$key" "$out_root/current"
	echo "$dest"
	exit 0
fi

# --- download and unpack ---------------------------------------------------------
deb_path() { echo "$deb_cache/${1}_${2//:/%3a}_amd64.deb"; }
fetch() {
	local f
	f=$(deb_path "$1" "$2")
	if [ ! -f "$f" ]; then
		log "apt-get download $1=$2"
		(cd "$deb_cache" && apt_get download -q "$1=$2" >&2)
	fi
	[ -f "$f" ] || die "download of $1=$2 did not produce $f"
	echo "$f"
}
kdeb=$(fetch "$kpkg" "$kver")
qdeb=$(fetch qemu-guest-agent "$qver")

work=$(mktemp -d "$out_root/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
log "unpacking into $work"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$qdeb" "$work/qga"

# --- vmlinux ---------------------------------------------------------------------
mkdir -p "$work/out"
python3 "$here/extract-vmlinux.py" "$work/kernel/boot/vmlinuz-$kabi" "$work/out/vmlinux" >&2

# --- initramfs tree --------------------------------------------------------------
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib/vmrace,lib64,dev,proc,sys,run,tmp,etc,root}
cp /bin/busybox "$root/bin/busybox"
for p in $(/bin/busybox --list-full); do
	[ -e "$root/$p" ] || [ -L "$root/$p" ] && continue
	mkdir -p "$root/$(dirname "$p")"
	ln -s /bin/busybox "$root/$p"
done

qga="$work/qga/usr/sbin/qemu-ga"
[ -x "$qga" ] || die "qemu-ga not found in $qdeb"
cp "$qga" "$root/usr/sbin/qemu-ga"
ldd_out=$(ldd "$qga")
if grep -q 'not found' <<<"$ldd_out"; then
	die "qemu-ga needs libraries missing on the host: $(grep 'not found' <<<"$ldd_out" | tr '\n' ' ')"
fi
# mawk has no \s: take every field that is an absolute path.
libs=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' <<<"$ldd_out" | sort -u)
lib_pkgs=()
for l in $libs; do
	mkdir -p "$root/$(dirname "$l")"
	cp -L "$l" "$root/$l"
	owner=$(dpkg -S "$l" 2>/dev/null || dpkg -S "$(readlink -f "$l")" 2>/dev/null || true)
	owner=${owner%%:*}
	[ -n "$owner" ] && lib_pkgs+=("$owner")
done

mods_dir="$work/kernel/lib/modules/$kabi"
for m in $MODULES; do
	f=$(find "$mods_dir" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n1)
	[ -n "$f" ] || die "module $m not found under $mods_dir"
	case "$f" in
	*.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.zst) zstd -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*) cp "$f" "$root/lib/modules/$m.ko" ;;
	esac
done

install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here/shutdown" "$root/sbin/shutdown"
install -m 0755 "$here/pwrbtn" "$root/sbin/pwrbtn"
install -m 0755 "$here/vmrace-sched" "$root/sbin/vmrace-sched"
install -m 0755 "$here/vmrace-power" "$root/sbin/vmrace-power"
for p in poweroff reboot halt; do
	rm -f "$root/sbin/$p"
	ln -s vmrace-power "$root/sbin/$p"
done
install -m 0644 "$here/common.sh" "$root/lib/vmrace/common.sh"
ln -s run "$root/var"
mknod -m 600 "$root/dev/console" c 5 1

# --- pack reproducibly -----------------------------------------------------------
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort |
	cpio -o -H newc --reproducible -R 0:0 --quiet) | gzip -9n >"$work/out/initramfs.cpio.gz"

# --- manifest ----------------------------------------------------------------------
host_pkgs=$(printf '%s\n' busybox-static $qga_deps "${lib_pkgs[@]}" | sort -u)
VM_KPKG=$kpkg VM_KVER=$kver VM_KABI=$kabi VM_KDEB=$kdeb VM_QVER=$qver VM_QDEB=$qdeb \
	VM_KEY=$key VM_MODULES=$MODULES VM_HOST_PKGS=$host_pkgs VM_GUEST_FILES_SHA=$guest_files_sha256 \
	VM_GUEST_FILES=$GUEST_FILES VM_OUT="$work/out" python3 - <<'EOF'
import hashlib, json, os, subprocess

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def version(pkg):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                          capture_output=True, text=True).stdout.strip()

e = os.environ
out = e["VM_OUT"]
def deb(name, ver, path):
    return {"name": name, "version": ver, "deb": os.path.basename(path), "sha256": sha256(path)}
def file(name):
    p = os.path.join(out, name)
    return {"path": name, "size": os.path.getsize(p), "sha256": sha256(p)}
manifest = {
    "format": 1,
    "key": e["VM_KEY"],
    "kernel_release": e["VM_KABI"],
    "packages": [deb(e["VM_KPKG"], e["VM_KVER"], e["VM_KDEB"]),
                 deb("qemu-guest-agent", e["VM_QVER"], e["VM_QDEB"])],
    "host_packages": [{"name": p, "version": version(p)}
                      for p in e["VM_HOST_PKGS"].split() if p],
    "modules": e["VM_MODULES"].split(),
    "guest_files": e["VM_GUEST_FILES"].split(),
    "guest_files_sha256": e["VM_GUEST_FILES_SHA"],
    "vmlinux": file("vmlinux"),
    "initramfs": file("initramfs.cpio.gz"),
}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2, sort_keys=True)
    f.write("\n")
EOF

rm -rf "$dest"
mv "$work/out" "$dest"
ln -sfn "$key" "$out_root/current"
log "built $dest"
log "initramfs sha256 $(sha256sum "$dest/initramfs.cpio.gz" | cut -d' ' -f1)"
echo "$dest"
