#!/usr/bin/env bash
# Builds a real distribution's root filesystem for mydocker: Debian bookworm,
# debootstrap --variant=minbase, packed as a gzip tarball (which exercises
# import's gzip path). /dev is left out: debootstrap puts device nodes there,
# which import refuses, and a container's /dev is made at run time anyway.
# Installs debootstrap with apt-get when missing. Run as root.
# Usage: scripts/make-debian-image.sh [OUTPUT.tar.gz]   (default: debian.tar.gz)
set -euo pipefail
out=$(realpath -m "${1:-debian.tar.gz}")
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || { echo "make-debian-image: run as root" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
  echo "make-debian-image: installing debootstrap with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "make-debian-image: debootstrap --variant=minbase $suite (about a minute)" >&2
debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
tar --numeric-owner -C "$work/rootfs" --exclude='./dev/*' -czf "$out.tmp" .
mv "$out.tmp" "$out"
echo "make-debian-image: wrote $out ($(du -h "$out" | cut -f1))" >&2
