#!/usr/bin/env bash
# Prunes 1,000 keys built over 100 days (max-age-days 7, keep-last 10) on
# the in-process distribution registry: the plan (a dry run), the plan and
# the deletes, and a second prune that reads the first one's index. Prints
# the times and the registry requests by kind.
#   bench/prune.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
out=$(go test -count=1 -run '^$' -bench '^BenchmarkPrune1000$' -benchtime 1x ./engine/prune/ 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
printf '%s\n' "$out"
# row LABEL PREFIX: the time and request count of the log line after PREFIX
# ("plan: 1.526s, 2005 requests map[…]"), as a table row.
row() {
  sed -n "s/.*$2 \([^,]*\), \([0-9]*\) requests map\[\(.*\)\]$/| $1 | \1 | \2: \3 |/p" <<<"$out"
}
counts=$(sed -n 's/.*keys and latest: \([0-9]*\) deleted, \([0-9]*\) kept.*/\1 deleted, \2 kept/p' <<<"$out")
bench_report prune "bench/prune.sh" <<EOF
| | time | requests |
|---|---|---|
$(row "plan (dry run), no index yet" "plan:")
$(row "plan and deletes ($counts)" "plan and deletes:")
$(row "second prune, with the index" "its index read):")
EOF
