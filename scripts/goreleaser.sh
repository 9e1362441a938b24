#!/usr/bin/env bash
# Runs GoReleaser at the version pinned in tools/go.mod (built from the Go
# module cache, nothing downloaded by hand), from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
# GORELEASER names one built already (scripts/release-reproducible.sh).
goreleaser="${GORELEASER:-}"
if [[ -z "$goreleaser" ]]; then
  go build -C tools -o "$PWD/bin/goreleaser" github.com/goreleaser/goreleaser/v2
  goreleaser=bin/goreleaser
fi
# GoReleaser asks git for the remote's URL and, in a checkout without one,
# drops the commit (and its time) from a snapshot. Name the project's for
# this process only.
if ! git remote get-url origin >/dev/null 2>&1; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url
  export GIT_CONFIG_VALUE_0=https://github.com/docker-ecr-cache/docker-ecr-cache.git
fi
exec "$goreleaser" "$@"
