#!/usr/bin/env bash
# Builds a busybox image tarball (a plain root filesystem, as `docker export`
# gives) from Debian's busybox-static, installing that package when missing.
# Usage: scripts/make-busybox-image.sh [OUTPUT.tar]   (default: ./busybox.tar)
set -euo pipefail
out=${1:-busybox.tar}
out=$(realpath -m "$out")

# The image has no C library, so it needs the static busybox, not Debian's
# dynamically linked "busybox" package.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "make-busybox-image: busybox-static is not installed; run as root to install it" >&2
    exit 1
  fi
  echo "make-busybox-image: installing busybox-static with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq busybox-static >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/tmp,home}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
# One link per applet, where busybox itself would put it (--install -s).
/bin/busybox --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo "mydocker busybox image, $(/bin/busybox | head -1)" > "$root/etc/motd"

tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "make-busybox-image: wrote $out ($(du -h "$out" | cut -f1))" >&2
