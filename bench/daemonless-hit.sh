#!/usr/bin/env bash
# A daemonless registry hit (DOCKER_HOST pointing at nothing): the whole
# docker-ecr-cache process against `crane digest` (go-containerregistry's
# CLI, built from go.mod's version) on the same reference, an in-memory
# distribution registry on loopback. The image is first built and pushed
# through the test bed's buildkitd, daemonless too. Both binaries are built
# as releases are (static, stripped). Each side is run $runs times after
# one warm-up; the median is reported, with each binary's start-up alone
# (process start and package init: an unknown subcommand, `crane version`).
#   bench/daemonless-hit.sh [runs, default 41]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
runs=${1:-41}
eval "$(scripts/buildkitd-up.sh)"

work=$(mktemp -d)
registry_pid=''
cleanup() {
  [ -z "$registry_pid" ] || { kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "bench: $*" >&2; }

release=(-trimpath -ldflags "-s -w")
CGO_ENABLED=0 go build "${release[@]}" -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache
go build -o "$work/registry" ./bench/registry
ggcr=$(go list -m -f '{{.Version}}' github.com/google/go-containerregistry)
GOBIN=$work CGO_ENABLED=0 go install "${release[@]}" "github.com/google/go-containerregistry/cmd/crane@$ggcr"

"$work/registry" >"$work/registry.host" 2>"$work/registry.log" &
registry_pid=$!
for _ in $(seq 1 100); do [ -s "$work/registry.host" ] && break; sleep 0.1; done
reg=$(cat "$work/registry.host")
[ -n "$reg" ] || { say "the registry did not start"; cat "$work/registry.log" >&2; exit 1; }

app=$work/app
mkdir -p "$app"
cp /bin/busybox "$app/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\n' >"$app/Dockerfile"

# tool [NAME=value...]: one daemonless run in $app, its outputs on stdout.
tool() {
  (cd "$app" && env -i PATH="$PATH" HOME="$work" DOCKER_HOST=unix:///nonexistent/docker.sock \
    DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry DOCKER_ECR_CACHE_REGISTRY="$reg/bench/daemonless" "$@" \
    "$work/docker-ecr-cache" 2>>"$work/tool.log")
}
miss=$(tool DOCKER_ECR_CACHE_BUILDKIT_HOST="$BUILDKIT_HOST")
ref=$(sed -n 's/^IMAGE_REF=//p' <<<"$miss")
[ -n "$ref" ] || { say "the miss gave no IMAGE_REF"; cat "$work/tool.log" >&2; exit 1; }
hit=$(tool)
grep -qx 'CACHE_HIT=true' <<<"$hit" || { say "the second run is not a hit"; cat "$work/tool.log" >&2; exit 1; }

now() { date +%s%N; }
# median_ms CMD...: the median wall time of $runs runs of CMD, in ms, after
# one warm-up; its output is dropped, as crane's is.
median_ms() {
  "$@" >/dev/null 2>&1 || true
  local start times=()
  for _ in $(seq 1 "$runs"); do
    start=$(now)
    "$@" >/dev/null 2>&1 || true
    times+=("$(( ($(now) - start) / 1000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] / 1000}'
}
# The tool is timed in $app with its environment set once, as crane is, so
# that neither side pays for a subshell or env(1) per run.
ours=$(
  cd "$app"
  unset "${!DOCKER_ECR_CACHE_@}" BUILDKIT_HOST
  export HOME=$work DOCKER_HOST=unix:///nonexistent/docker.sock \
    DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry DOCKER_ECR_CACHE_REGISTRY="$reg/bench/daemonless"
  median_ms "$work/docker-ecr-cache"
)
crane=$(median_ms "$work/crane" digest --insecure "$ref")
# Start-up alone: an unknown subcommand exits 2 before it reads anything.
ours0=$(median_ms "$work/docker-ecr-cache" no-such-subcommand)
crane0=$(median_ms "$work/crane" version)
ratio=$(awk -v a="$ours" -v b="$crane" 'BEGIN {printf "%.2f", a / b}')
rest() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; }
bench_report daemonless-hit "bench/daemonless-hit.sh $runs" <<EOF
| daemonless registry hit (median of $runs) | whole process | start-up alone | the rest |
|---|---:|---:|---:|
| docker-ecr-cache (config, key, one manifest HEAD) | $ours ms | $ours0 ms | $(rest "$ours" "$ours0") ms |
| crane digest | $crane ms | $crane0 ms | $(rest "$crane" "$crane0") ms |
| ratio | ${ratio}× | | |
EOF
