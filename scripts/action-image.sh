#!/usr/bin/env bash
# make action-image IMAGE=name:tag: the GitHub Action's prebuilt image
# (Dockerfile.release) from dist/'s linux binaries and this machine's CA
# certificates, with no network. Tags IMAGE-amd64 and IMAGE-arm64, and IMAGE
# for this machine's CPU. ARCHES="amd64" builds fewer (the tests build this
# machine's only). With PUSH=1 (the release workflow), builds one
# multi-platform IMAGE with docker buildx and pushes it instead.
set -euo pipefail
cd "$(dirname "$0")/.."
image="${IMAGE:?set IMAGE=name:tag}"
certs="${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}"
ctx="$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
cp "$certs" "$ctx/ca-certificates.crt"
mkdir "$ctx/tmp"
chmod 1777 "$ctx/tmp"
arches="${ARCHES:-amd64 arm64}"
for arch in $arches; do
  if [[ ! -f "dist/docker-ecr-cache_linux_$arch" ]]; then
    echo "dist/docker-ecr-cache_linux_$arch is missing: run make release-snapshot first" >&2
    exit 1
  fi
  cp "dist/docker-ecr-cache_linux_$arch" "$ctx/"
done
cp Dockerfile.release "$ctx/Dockerfile"

if [[ "${PUSH:-}" == 1 ]]; then
  docker buildx build --platform linux/amd64,linux/arm64 --tag "$image" --push "$ctx"
  exit 0
fi
case "$(uname -m)" in
aarch64 | arm64) host=arm64 ;;
*) host=amd64 ;;
esac
for arch in $arches; do
  # The classic builder (no buildx needed): TARGETARCH is passed by hand.
  DOCKER_BUILDKIT=0 docker build -q --platform "linux/$arch" --build-arg "TARGETARCH=$arch" \
    --tag "$image-$arch" "$ctx" >/dev/null
  size="$(docker image inspect --format '{{.Size}}' "$image-$arch")"
  echo "$image-$arch: linux/$arch, $((size / 1000000)) MB" >&2
done
if docker image inspect "$image-$host" >/dev/null 2>&1; then
  docker tag "$image-$host" "$image"
fi
echo "$image"
