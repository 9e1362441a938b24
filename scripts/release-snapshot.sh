#!/usr/bin/env bash
# make release-snapshot: the release's files, built offline into dist/ as the
# release builds them: docker-ecr-cache_<os>_<arch> for linux and darwin,
# amd64 and arm64, and checksums.txt. Nothing is published. Prints
# checksums.txt.
#
# --single-target builds this machine's binary only, with GoReleaser, and
# writes its checksums.txt line in goreleaser's format. --host does the same
# with go build alone and .goreleaser.yaml's flags (internal/release checks
# that they stay the same), so that make test and the benchmarks need not
# compile GoReleaser. DOCKER_ECR_CACHE_VERSION sets the version the binaries
# print (make release-prepare sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == --host ]]; then
  os=$(go env GOOS) arch=$(go env GOARCH)
  version="${DOCKER_ECR_CACHE_VERSION:-$(git describe --tags --abbrev=0 2>/dev/null || echo v0.0.0)-snapshot+$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  rm -rf dist && mkdir dist
  CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X main.version=$version" \
    -o "dist/docker-ecr-cache_${os}_${arch}" ./cmd/docker-ecr-cache
  # The commit time as the file's, as GoReleaser's mod_timestamp sets it.
  if ct=$(git log -1 --format=%ct 2>/dev/null); then touch -d "@$ct" "dist/docker-ecr-cache_${os}_${arch}"; fi
  (cd dist && sha256sum docker-ecr-cache_*_* >checksums.txt)
elif [[ "${1:-}" == --single-target ]]; then
  scripts/goreleaser.sh build --snapshot --clean --single-target >&2
  (cd dist && sha256sum docker-ecr-cache_*_* >checksums.txt)
else
  scripts/goreleaser.sh release --snapshot --clean --skip=publish "$@" >&2
fi
cat dist/checksums.txt
