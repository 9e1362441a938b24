#!/usr/bin/env bash
# Times a whole cache hit with the image on the daemon, as a process from
# start to outputs written, against a baseline measured in the same run:
# `docker image inspect` of the same image (a process and one API call, the
# least any tool must do to trust a local image).
#   bench/hit.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
runs=${1:-41}
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache
cp /bin/busybox "$work/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n' >"$work/Dockerfile"
cd "$work"
hit() { ./docker-ecr-cache --registry-provider local --ecr-name build-cache/bench-hit >"$work/out.env" 2>/dev/null; }
# With the platform given, the daemon is not asked for its own (GET /version).
platform=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
hit_platform_given() { ./docker-ecr-cache --registry-provider local --ecr-name build-cache/bench-hit --platform "$platform" >"$work/out.env" 2>/dev/null; }
hit # the miss that builds
grep -q '^CACHE_HIT=true$' <(hit; cat "$work/out.env") || { echo "second run is not a hit" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/out.env"

# Each round runs the three once, in turn, so that the machine's drift
# (other work, clock speed) falls on all three alike.
: >"$work/times"
for _ in $(seq "$runs"); do
  for side in base ours given; do
    case $side in
      base) cmd=(docker image inspect "$IMAGE_REF") ;;
      ours) cmd=(hit) ;;
      given) cmd=(hit_platform_given) ;;
    esac
    start=$(date +%s%N)
    "${cmd[@]}" >/dev/null 2>&1
    end=$(date +%s%N)
    echo "$side $(((end - start) / 1000))" >>"$work/times"
  done
done
# median_ms SIDE: the median of SIDE's times, in ms.
median_ms() {
  awk -v side="$1" '$1 == side {print $2}' "$work/times" | sort -n |
    awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}'
}
base=$(median_ms base)
ours=$(median_ms ours)
given=$(median_ms given)
ratio() { awk -v a="$1" -v b="$base" 'BEGIN {printf "%.2f", a/b}'; }
{
  echo "| whole hit, image local (median of $runs runs, taking turns) | median | ratio |"
  echo "|---|---:|---:|"
  echo "| baseline: \`docker image inspect\` of the same image (CLI process + one API call) | $base ms | 1.00× |"
  echo "| \`registry-provider: local\` | $ours ms | $(ratio "$ours")× |"
  echo "| \`registry-provider: local\` with \`platform\` given | $given ms | $(ratio "$given")× |"
} | tee "$work/table.md"
bench_report hit "bench/hit.sh $runs" <"$work/table.md"
