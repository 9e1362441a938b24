#!/usr/bin/env bash
# make action-image IMAGE=name:tag: the GitHub Action's prebuilt image from
# dist/'s linux binaries: one layer holding /docker-ecr-cache, the CA
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
set -euo pipefail
cd "$(dirname "$0")/.."
image="${IMAGE:?set IMAGE=name:tag}"
certs="${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}"
arches="${ARCHES:-amd64 arm64}"
case "$(uname -m)" in
aarch64 | arm64) host=arm64 ;;
*) host=amd64 ;;
esac
# The files' time is the commit's, as the binaries'.
mtime="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
work="$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for arch in $arches; do
  bin="dist/docker-ecr-cache_linux_$arch"
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
  # A docker-archive with that one layer and a config naming the platform,
  # loaded as is (docker import would ignore --platform on dockerd 20.10).
  img="$work/$arch.image"
  mkdir -p "$img"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$root" -cf "$img/layer.tar" .
  diff_id="$(sha256sum "$img/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"%s","os":"linux","created":"%s","config":{"Entrypoint":["/docker-ecr-cache"],"Cmd":["github"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$(date -u -d "@$mtime" +%Y-%m-%dT%H:%M:%SZ)" "$diff_id" >"$img/config.json"
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
