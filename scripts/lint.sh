#!/usr/bin/env bash
# Formatting and static checks that CI enforces.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
if ! command -v golangci-lint >/dev/null 2>&1; then
  GOBIN="$(go env GOPATH)/bin" go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
  PATH="$(go env GOPATH)/bin:$PATH"
fi
golangci-lint run ./...
shellcheck hooks/* scripts/*.sh bench/*.sh .ci/run
