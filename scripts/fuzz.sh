#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzXxx in a _test.go file) for a bounded
# time each: FUZZTIME, 10s by default. A failing input is written by
# `go test -fuzz` to the package's testdata/fuzz/FuzzXxx/: commit it, so
# that it stays in the seed corpus that plain `go test` runs.
#
# Usage: scripts/fuzz.sh [PACKAGE_DIR...]   (default: every package)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
if (($# == 0)); then
	mapfile -t dirs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u)
else
	dirs=("$@")
fi

status=0
for dir in "${dirs[@]}"; do
	mapfile -t targets < <(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | cut -d' ' -f2 | sort -u)
	for target in "${targets[@]}"; do
		echo "fuzz: $dir $target for $fuzztime" >&2
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./${dir#./}"; then
			echo "fuzz: $target failed: the input is in ${dir#./}/testdata/fuzz/$target/" >&2
			status=1
		fi
	done
done
exit "$status"
