#!/usr/bin/env bash
# scripts/busybox-fetch.sh ARCH DIR: Debian's static busybox for ARCH
# (busybox-static, fetched and checked by apt against the archive's signed
# index) into DIR/busybox_linux_ARCH, where scripts/action-image.sh
# (BUSYBOX_DIR=DIR) takes it and checks it against scripts/busybox.sha256.
# Run as root on Debian 12 (the release runs it in a debian:12 container):
# a foreign ARCH is added to dpkg for the download and removed after it.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${1:?usage: scripts/busybox-fetch.sh ARCH DIR}"
dir="${2:?usage: scripts/busybox-fetch.sh ARCH DIR}"
work="$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-busybox.XXXXXX")"
added=false
cleanup() {
  if $added; then
    dpkg --remove-architecture "$arch" || true
    apt-get update -qq || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if [[ "$arch" != "$(dpkg --print-architecture)" ]] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  dpkg --add-architecture "$arch"
  added=true
fi
# A fresh container has no package lists; an added arch needs its own.
if $added || ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt-get update -qq
fi
# apt downloads as _apt where it can write: a directory of its own.
chmod 755 "$work"
(cd "$work" && apt-get download -qq "busybox-static:$arch" 2>/dev/null)
dpkg-deb -x "$work"/busybox-static_*_"$arch".deb "$work/root"
mkdir -p "$dir"
cp "$work/root/bin/busybox" "$dir/busybox_linux_$arch"
want="$(awk -v f="busybox_linux_$arch" '$2 == f { print $1 }' scripts/busybox.sha256)"
got="$(sha256sum "$dir/busybox_linux_$arch" | cut -d' ' -f1)"
if [[ "$got" != "$want" ]]; then
  echo "Debian's busybox-static for $arch now has checksum $got, not the ${want:-(none)} scripts/busybox.sha256 pins: check the new one by hand, then pin it" >&2
  exit 1
fi
echo "$dir/busybox_linux_$arch"
