#!/usr/bin/env bash
# Prunes 1,000 keys built over 100 days (max-age-days 7, keep-last 10) on
# the in-process distribution registry: the plan (a dry run), the plan and
# the deletes, and a second prune that reads the first one's index. Prints
# the times and the registry requests by kind.
#   bench/prune.sh
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -run '^$' -bench '^BenchmarkPrune1000$' -benchtime 1x ./engine/prune/
