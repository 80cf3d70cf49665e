#!/usr/bin/env bash
# Builds the guest image twice into two fresh directories (sharing the .deb
# cache) and checks that vmlinux and the initramfs are bit-for-bit identical.
# Usage: guest/check-reproducible.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
a=$(mktemp -d)
b=$(mktemp -d)
trap 'rm -rf "$a" "$b"' EXIT
export VMRACE_DEB_CACHE=${VMRACE_DEB_CACHE:-$repo/build/guest/debs}
da=$("$here/build.sh" "$a")
db=$("$here/build.sh" "$b")
status=0
for f in vmlinux initramfs.cpio.gz manifest.json; do
	sa=$(sha256sum <"$da/$f" | cut -d' ' -f1)
	sb=$(sha256sum <"$db/$f" | cut -d' ' -f1)
	if [ "$sa" = "$sb" ]; then
		echo "reproducible: $f $sa"
	else
		echo "DIFFERENT: $f $sa vs $sb"
		status=1
	fi
done
exit $status
