#!/usr/bin/env bash
# An ECR hit, the original bash plugin's against this tool's, with the image
# already on the daemon: BenchmarkSeedECRHit and BenchmarkECRHit
# (cmd/docker-ecr-cache) against the same ECR test server and daemon. The
# original's needs the aws CLI (apt-get install awscli).
#   bench/ecr-hit.sh [runs, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
runs=${1:-10}
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
command -v aws >/dev/null || { echo "ecr-hit: no aws CLI: apt-get install awscli" >&2; exit 2; }
out=$(DOCKER_ECR_CACHE_REQUIRE_DOCKER=1 go test -count=1 -run '^$' -bench '^(BenchmarkSeedECRHit|BenchmarkECRHit)$' \
  -benchtime "${runs}x" ./cmd/docker-ecr-cache)
echo "$out" >&2
# ms NAME: the benchmark's time per run, in milliseconds.
ms() { awk -v n="$1" '$1 ~ "^"n"(-[0-9]+)?$" {printf "%.0f", $3 / 1e6}' <<<"$out"; }
seed=$(ms BenchmarkSeedECRHit) ours=$(ms BenchmarkECRHit)
[[ -n $seed && -n $ours ]] || { echo "ecr-hit: a benchmark gave no time" >&2; exit 1; }
{
  echo "| ECR hit, image local ($runs runs each) | per run | speed-up |"
  echo "|---|---:|---:|"
  echo "| the bash plugin: 5 \`aws\` CLI calls, \`docker login\`, \`docker pull\` | $seed ms | 1.0× |"
  echo "| docker-ecr-cache: one token, one manifest \`HEAD\` | $ours ms | $(awk -v a="$seed" -v b="$ours" 'BEGIN {printf "%.1f", a / b}')× |"
} | tee /dev/stderr | bench_report ecr-hit "bench/ecr-hit.sh $runs"
bench_result ecr-hit ecr-hit "bash plugin" "$seed"
bench_result ecr-hit ecr-hit "docker-ecr-cache" "$ours"
