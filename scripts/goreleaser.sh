#!/usr/bin/env bash
# Runs GoReleaser at the version pinned in tools/go.mod (built from the Go
# module cache, nothing downloaded by hand), from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -C tools -o "$PWD/bin/goreleaser" github.com/goreleaser/goreleaser/v2
exec bin/goreleaser "$@"
