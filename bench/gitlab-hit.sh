#!/usr/bin/env bash
# Times a GitLab cache hit under gitlab-ci-local: the tool's own time in
# the component's job (the engine's, from its summary line) against the
# job's whole time (container, script, artifacts: gitlab-ci-local's
# "finished in") and the pipeline's, as gitlab-ci-local runs it here.
#   bench/gitlab-hit.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck disable=SC1091
. bench/report.sh
runs=${1:-5}
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
gcl=$(tests/gitlab/setup.sh gcl)

work=$(mktemp -d)
suffix=$$
helper=docker-ecr-cache-test/gcl-helper:bench-$suffix
image=docker-ecr-cache-test/gitlab:bench-$suffix-shell
reg_pid=
cleanup() {
  [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null
  docker rmi -f "$helper" "$image" "$image-amd64" "$image-arm64" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/registry" ./bench/registry
"$work/registry" >"$work/registry.addr" &
reg_pid=$!
for _ in $(seq 50); do [[ -s "$work/registry.addr" ]] && break; sleep 0.1; done
reg=$(cat "$work/registry.addr")

tests/gitlab/setup.sh helper "$helper" >/dev/null
case "$(uname -m)" in aarch64 | arm64) arch=arm64 ;; *) arch=amd64 ;; esac
mkdir -p "$work/dist"
CGO_ENABLED=0 go build -trimpath -o "$work/dist/docker-ecr-cache_linux_$arch" ./cmd/docker-ecr-cache
DIST="$work/dist" VARIANT=shell ARCHES=$arch IMAGE=$image scripts/action-image.sh >/dev/null 2>&1

p="$work/project"
mkdir -p "$p/templates"
cp templates/docker-ecr-cache.yml "$p/templates/"
cp /bin/busybox "$p/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n' >"$p/Dockerfile"
cat >"$p/.gitlab-ci.yml" <<YAML
include:
  - component: \$CI_SERVER_FQDN/\$CI_PROJECT_PATH/docker-ecr-cache@\$CI_COMMIT_SHA
    inputs:
      job-name: build-image
      image: $image
YAML
(
  cd "$p"
  git init -q
  git remote add origin https://gitlab.example.com/bench/project.git
  git add -A
  git -c user.name=b -c user.email=b@example.com commit -qm bench
)

pipeline() {
  local sock=${DOCKER_HOST#unix://}
  # shellcheck disable=SC2086 # $gcl is a command line
  (cd "$p" && env -i PATH="$PATH" HOME="$HOME" DOCKER_HOST="$DOCKER_HOST" $gcl \
    --helper-image "$helper" --pull-policy if-not-present \
    --volume "$sock:/var/run/docker.sock" --network host \
    --variable "CI_REGISTRY=$reg" --variable "CI_REGISTRY_IMAGE=$reg/bench/project" \
    --variable CI_REGISTRY_USER=bench --variable CI_REGISTRY_PASSWORD=bench-pass \
    --variable DOCKER_HOST=unix:///var/run/docker.sock)
}

pipeline >"$work/miss.log" 2>&1 || { cat "$work/miss.log" >&2; exit 1; }
tool=() job=() whole=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  pipeline >"$work/hit.log" 2>&1 || { cat "$work/hit.log" >&2; exit 1; }
  end=$(date +%s%N)
  # "cache hit: REF in 23ms[, saving …]" and "build-image finished in 2.1 s"
  t=$(sed -n 's/.*cache hit: [^ ]* in \([0-9.]*\)\(ms\|s\)\(,.*\)\{0,1\}$/\1 \2/p' "$work/hit.log" | awk '{ print ($2 == "s") ? $1 * 1000 : $1 }')
  j=$(sed -n 's/.*build-image finished in \([0-9.]*\) \(ms\|s\).*/\1 \2/p' "$work/hit.log" | awk '{ print ($2 == "s") ? $1 * 1000 : $1 }')
  [[ -n "$t" && -n "$j" ]] || { echo "not a hit:" >&2; cat "$work/hit.log" >&2; exit 1; }
  tool+=("$t") job+=("$j") whole+=($(((end - start) / 1000000)))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=$(median "${tool[@]}") j=$(median "${job[@]}") w=$(median "${whole[@]}")
printf '%-48s %10s %8s\n' "GitLab hit under gitlab-ci-local ($runs runs)" "median" "share"
printf '%-48s %7s ms %8s\n' "the tool (engine time, its summary line)" "$t" "$(awk -v a="$t" -v b="$j" 'BEGIN {printf "%.1f%%", 100*a/b}')"
printf '%-48s %7s ms %8s\n' "the component's job (gitlab-ci-local)" "$j" "100%"
printf '%-48s %7s ms\n' "the whole pipeline, gitlab-ci-local's process" "$w"
cd "$root"
bench_report gitlab-hit "bench/gitlab-hit.sh $runs" <<EOF
| | median | share of the job |
|---|---|---|
| the tool (the engine's time, from its summary line) | $t ms | $(awk -v a="$t" -v b="$j" 'BEGIN {printf "%.1f%%", 100*a/b}') |
| the component's job, as gitlab-ci-local times it | $j ms | 100% |
| the whole pipeline, gitlab-ci-local's process | $w ms | |
EOF
