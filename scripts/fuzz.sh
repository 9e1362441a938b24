#!/usr/bin/env bash
# Fuzz targets, each for a bounded time (FUZZTIME, 10s by default). A
# crasher is written under the package's testdata/fuzz/FuzzX/: commit it,
# so that it stays a seed that `go test` runs every time.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${FUZZTIME:-10s}"

go test -run '^$' -fuzz '^FuzzLoadJSON$' -fuzztime "$t" ./adapters/buildkite
go test -run '^$' -fuzz '^FuzzLoadFlattened$' -fuzztime "$t" ./adapters/buildkite
go test -run '^$' -fuzz '^FuzzExportRoundTrip$' -fuzztime "$t" ./adapters/buildkite
go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime "$t" ./adapters/github
go test -run '^$' -fuzz '^FuzzFileCommand$' -fuzztime "$t" ./adapters/github
go test -run '^$' -fuzz '^FuzzParseSecret$' -fuzztime "$t" ./engine
go test -run '^$' -fuzz '^FuzzParseBuildFlags$' -fuzztime "$t" ./engine
go test -run '^$' -fuzz '^FuzzEscapeControl$' -fuzztime "$t" ./engine
go test -run '^$' -fuzz '^FuzzMask$' -fuzztime "$t" ./engine/report
