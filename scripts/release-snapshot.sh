#!/usr/bin/env bash
# make release-snapshot: the release's files, built offline into dist/ as the
# release builds them: docker-ecr-cache_<os>_<arch> for linux and darwin,
# amd64 and arm64, and checksums.txt. Nothing is published. Prints
# checksums.txt.
#
# --single-target builds this machine's binary only, with the same flags,
# and writes its checksums.txt line in goreleaser's format (the tests use
# this to stay quick). DOCKER_ECR_CACHE_VERSION sets the version the
# binaries print (make release-prepare sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == --single-target ]]; then
  scripts/goreleaser.sh build --snapshot --clean --single-target >&2
  (cd dist && sha256sum docker-ecr-cache_*_* >checksums.txt)
else
  scripts/goreleaser.sh release --snapshot --clean --skip=publish "$@" >&2
fi
cat dist/checksums.txt
