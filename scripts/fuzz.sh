#!/usr/bin/env bash
# Fuzz targets, each for a bounded time (10 s). A
# crasher is written under the package's testdata/fuzz/FuzzX/: commit it,
# so that it stays a seed that `go test` runs every time.
set -euo pipefail
cd "$(dirname "$0")/.."

go test -run '^$' -fuzz '^FuzzLoadJSON$' -fuzztime 10s ./adapters/buildkite
go test -run '^$' -fuzz '^FuzzLoadFlattened$' -fuzztime 10s ./adapters/buildkite
go test -run '^$' -fuzz '^FuzzExportRoundTrip$' -fuzztime 10s ./adapters/buildkite
go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 10s ./adapters/github
go test -run '^$' -fuzz '^FuzzFileCommand$' -fuzztime 10s ./adapters/github
go test -run '^$' -fuzz '^FuzzParseSecret$' -fuzztime 10s ./engine
go test -run '^$' -fuzz '^FuzzParseBuildFlags$' -fuzztime 10s ./engine
go test -run '^$' -fuzz '^FuzzEscapeControl$' -fuzztime 10s ./engine
go test -run '^$' -fuzz '^FuzzMask$' -fuzztime 10s ./engine/report
