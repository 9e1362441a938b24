#!/usr/bin/env bash
# Load on one agent: N concurrent runs with distinct keys, N with the same
# key, then N hits of that key, against an in-process registry on loopback
# and one Docker daemon. Checks every run succeeds with consistent outputs,
# exactly one build in the same-key group, and that no tag points at an
# image whose key label differs from its tag; reports wall time and peak
# RSS per process. Exits 1 when an invariant fails (LOAD_REPORT_ONLY=1 only
# reports).
#   bench/load.sh [runs per group, default 20] [overall limit, default 5m]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
runs=${1:-20}
limit=${2:-5m}
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
if [ ! -x /usr/bin/time ]; then # peak RSS per process
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
  else
    echo "load: /usr/bin/time is missing: apt-get install time" >&2; exit 1
  fi
fi

go build -o bin/docker-ecr-cache ./cmd/docker-ecr-cache
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/load" ./bench/load
status=0
timeout --kill-after=10s "$limit" "$work/load" -bin bin/docker-ecr-cache -runs "$runs" -timeout "$limit" | tee "$work/out" || status=$?
{ echo '```text'; cat "$work/out"; echo '```'; } | bench_report load "bench/load.sh $runs $limit"
exit "$status"
