#!/usr/bin/env bash
# make action-image IMAGE=name:tag: the GitHub Action's prebuilt image from
# dist/'s linux binaries (or DIST's): one layer holding /docker-ecr-cache, the CA
# certificates (this machine's /etc/ssl/certs/ca-certificates.crt) and an
# empty /tmp, nothing else, as if FROM scratch. Loaded with `docker load`
# from an image archive made here, so nothing runs, no builder, no network:
# an arm64 image is made on an amd64 machine without emulation. It runs as
# root, as GitHub asks of container actions (see Dockerfile); the default
# command `github` makes `uses: docker://…` work too.
#
# Tags IMAGE-amd64 and IMAGE-arm64, and IMAGE for this machine's CPU;
# ARCHES="amd64" makes fewer (the tests make this machine's only). With
# PUSH=1 (the release workflow), pushes both and a multi-platform IMAGE.
#
# VARIANT=shell makes the GitLab component's image (IMAGE is then named
# …-shell): GitLab's docker and Kubernetes executors run a job's script
# through a shell, so it adds a static busybox as /bin/busybox, with
# /bin/sh and its other applets as links, PATH set, and `gitlab` as the
# default command. The busybox for ARCH is BUSYBOX_DIR/busybox_linux_ARCH,
# else this machine's /bin/busybox (Debian's busybox-static) for its own
# ARCH; it must have the checksum scripts/busybox.sha256 pins for ARCH.
set -euo pipefail
cd "$(dirname "$0")/.."
image="${IMAGE:?set IMAGE=name:tag}"
certs="${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}"
dist="${DIST:-dist}" # where the binaries are
arches="${ARCHES:-amd64 arm64}"
variant="${VARIANT:-}"
case "$variant" in
"" | shell) ;;
*)
  echo "VARIANT=$variant is not known: leave it empty, or shell for the GitLab component's image" >&2
  exit 2
  ;;
esac
case "$(uname -m)" in
aarch64 | arm64) host=arm64 ;;
*) host=amd64 ;;
esac
# The files' time is the commit's, as the binaries'.
mtime="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
work="$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# add_busybox ARCH ROOT puts the pinned static busybox for ARCH in ROOT's
# /bin, with a link for each of its applets (sh among them).
add_busybox() {
  local arch="$1" root="$2" src want got applet lister
  src="${BUSYBOX_DIR:+$BUSYBOX_DIR/busybox_linux_$arch}"
  if [[ -z "$src" || ! -f "$src" ]]; then
    if [[ "$arch" != "$host" ]]; then
      echo "no busybox for $arch: put a static one at \$BUSYBOX_DIR/busybox_linux_$arch" >&2
      exit 1
    fi
    src=/bin/busybox
  fi
  want="$(awk -v f="busybox_linux_$arch" '$2 == f { print $1 }' scripts/busybox.sha256)"
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  if [[ -z "$want" ]]; then
    echo "scripts/busybox.sha256 pins no busybox for $arch: add the checksum of a static busybox checked by hand" >&2
    exit 1
  fi
  if [[ "$got" != "$want" ]]; then
    echo "$src has checksum $got, not the $want that scripts/busybox.sha256 pins for $arch" >&2
    exit 1
  fi
  mkdir -p "$root/bin"
  cp "$src" "$root/bin/busybox"
  chmod 755 "$root/bin/busybox"
  mkdir -p "$root/usr/local/bin"
  ln -s /docker-ecr-cache "$root/usr/local/bin/docker-ecr-cache"
  # The applets of the pinned version, listed by the copy for this
  # machine's arch (BUSYBOX_DIR's, else /bin/busybox) when the arch is another.
  lister=/bin/busybox
  if [[ -n "${BUSYBOX_DIR:-}" && -f "$BUSYBOX_DIR/busybox_linux_$host" ]]; then
    lister="$BUSYBOX_DIR/busybox_linux_$host"
  fi
  for applet in $("$lister" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
}

for arch in $arches; do
  bin="$dist/docker-ecr-cache_linux_$arch"
  if [[ ! -f "$bin" ]]; then
    echo "$bin is missing: run make release-snapshot first" >&2
    exit 1
  fi
  root="$work/$arch"
  mkdir -p "$root/etc/ssl/certs" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp "$certs" "$root/etc/ssl/certs/ca-certificates.crt"
  cp "$bin" "$root/docker-ecr-cache"
  chmod 755 "$root/docker-ecr-cache"
  config='"Entrypoint":["/docker-ecr-cache"],"Cmd":["github"]'
  if [[ "$variant" == shell ]]; then
    add_busybox "$arch" "$root"
    config='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/docker-ecr-cache"],"Cmd":["gitlab"]'
  fi
  # A docker-archive with that one layer and a config naming the platform,
  # loaded as is (docker import would ignore --platform on dockerd 20.10).
  img="$work/$arch.image"
  mkdir -p "$img"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$root" -cf "$img/layer.tar" .
  diff_id="$(sha256sum "$img/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"%s","os":"linux","created":"%s","config":{%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$(date -u -d "@$mtime" +%Y-%m-%dT%H:%M:%SZ)" "$config" "$diff_id" >"$img/config.json"
  printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$image-$arch" >"$img/manifest.json"
  tar -C "$img" -c manifest.json config.json layer.tar | docker load -q >/dev/null
  size="$(docker image inspect --format '{{.Size}}' "$image-$arch")"
  echo "$image-$arch: linux/$arch, $((size / 1000000)) MB" >&2
  if [[ "${PUSH:-}" == 1 ]]; then
    docker push -q "$image-$arch" >/dev/null
  fi
done
if docker image inspect "$image-$host" >/dev/null 2>&1; then
  docker tag "$image-$host" "$image"
fi
if [[ "${PUSH:-}" == 1 ]]; then
  manifests=()
  for arch in $arches; do manifests+=("$image-$arch"); done
  docker manifest create --amend "$image" "${manifests[@]}" >/dev/null
  docker manifest push "$image"
fi
echo "$image"
