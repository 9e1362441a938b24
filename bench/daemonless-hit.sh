#!/usr/bin/env bash
# A daemonless registry hit (DOCKER_HOST pointing at nothing): the whole
# docker-ecr-cache process against `crane digest` (go-containerregistry's
# CLI, built from go.mod's version) on the same reference, an in-memory
# distribution registry on loopback. The image is first built and pushed
# through the test bed's buildkitd, daemonless too. Both binaries are built
# as releases are (static, stripped). Each side is run $runs times after
# one warm-up, the two taking turns; the median is reported, with each
# binary's start-up alone (process start and package init: an unknown
# subcommand, `crane version`).
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

# The floor: programs that do nothing but link the packages the binary
# imports, in three sets, to show what their initialisers cost at start.
# Go runs every linked package's initialisers before main, used or not.
floor=$(mktemp -d "$PWD/bench/_floor.XXXXXX") # in the module, for its go.mod
trap 'rm -rf "$floor"; cleanup' EXIT
ours_pkgs=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./cmd/docker-ecr-cache | grep '^github.com/docker-ecr-cache/')
# shellcheck disable=SC2086
imports=$(go list -f '{{join .Imports "\n"}}' $ours_pkgs | grep '\.' | grep -v '^github.com/docker-ecr-cache/' | sort -u)
buildkit_re='^(github.com/moby/buildkit|github.com/tonistiigi/fsutil|google.golang.org/grpc)'
sdks_re='^(github.com/aws/|github.com/Azure/|golang.org/x/oauth2|github.com/golang-jwt/|github.com/docker/docker/|github.com/distribution/reference|github.com/sirupsen/logrus)'
# floor_program NAME PACKAGE...: a main that links PACKAGE..., built as a release.
floor_program() {
  local name=$1
  shift
  mkdir -p "$floor/$name"
  { echo 'package main'; printf 'import _ "%s"\n' "$@"; echo 'func main() {}'; } >"$floor/$name/main.go"
  CGO_ENABLED=0 go build "${release[@]}" -o "$work/floor-$name" "./bench/$(basename "$floor")/$name"
}
registry_set=$(grep -Ev "$buildkit_re|$sdks_re" <<<"$imports")
# shellcheck disable=SC2046
floor_program registry $(grep -Ev "$buildkit_re|$sdks_re" <<<"$imports")
# shellcheck disable=SC2046
floor_program sdks $(grep -Ev "$buildkit_re" <<<"$imports")
# shellcheck disable=SC2086
floor_program all $imports
count() { wc -w <<<"$1" | tr -d ' '; }

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

# The tool runs in $app with its environment set once, as crane does, so
# that neither side pays for a subshell or env(1) per run.
cd "$app"
unset "${!DOCKER_ECR_CACHE_@}" BUILDKIT_HOST
export HOME=$work DOCKER_HOST=unix:///nonexistent/docker.sock \
  DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry DOCKER_ECR_CACHE_REGISTRY="$reg/bench/daemonless"
# Each round runs the four once, in turn, after one warm-up round, so that
# the machine's drift (other work, clock speed) falls on all alike. Start-up
# alone: an unknown subcommand exits 2 before it reads anything, and
# `crane version` prints one line. Outputs are dropped, as crane's are.
: >"$work/times"
for round in $(seq 0 "$runs"); do
  for side in ours crane ours0 crane0 floor-registry floor-sdks floor-all; do
    case $side in
      floor-*) cmd=("$work/$side") ;;
      ours) cmd=("$work/docker-ecr-cache") ;;
      crane) cmd=("$work/crane" digest --insecure "$ref") ;;
      ours0) cmd=("$work/docker-ecr-cache" no-such-subcommand) ;;
      crane0) cmd=("$work/crane" version) ;;
    esac
    start=$(date +%s%N)
    "${cmd[@]}" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    [ "$round" = 0 ] || echo "$side $(((end - start) / 1000))" >>"$work/times"
  done
done
cd - >/dev/null
# median_ms SIDE: the median of SIDE's times, in ms.
median_ms() {
  awk -v side="$1" '$1 == side {print $2}' "$work/times" | sort -n |
    awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
ours=$(median_ms ours) crane=$(median_ms crane) ours0=$(median_ms ours0) crane0=$(median_ms crane0)
ratio=$(awk -v a="$ours" -v b="$crane" 'BEGIN {printf "%.2f", a / b}')
rest() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; }
bench_report daemonless-hit "bench/daemonless-hit.sh $runs" <<EOF
| daemonless registry hit (median of $runs, taking turns) | whole process | start-up alone | the rest |
|---|---:|---:|---:|
| docker-ecr-cache (config, key, one manifest HEAD) | $ours ms | $ours0 ms | $(rest "$ours" "$ours0") ms |
| crane digest | $crane ms | $crane0 ms | $(rest "$crane" "$crane0") ms |
| ratio | ${ratio}× | | |

The goal, 1.2× crane's whole hit, is $(awk -v b="$crane" 'BEGIN {printf "%.1f", 1.2 * b}') ms. What linking alone costs at start, in
programs whose main does nothing (medians of the same rounds):

| a program linking the packages docker-ecr-cache imports | start-up |
|---|---:|
| go-containerregistry, gojq and the rest of the registry path ($(count "$registry_set") packages) | $(median_ms floor-registry) ms |
| those, the AWS, Azure and Google SDKs and the Docker client | $(median_ms floor-sdks) ms |
| those and BuildKit's client and session (all $(count "$imports")) | $(median_ms floor-all) ms |
EOF
