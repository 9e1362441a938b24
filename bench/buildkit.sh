#!/usr/bin/env bash
# Times a miss on a fresh agent after a change to the last stage of a
# multi-stage build (a slow toolchain stage, a dependencies stage, a final
# stage copying a file from the checkout), and after a change to the
# dependencies stage's package.json, three ways:
#   - cold: no cache at all;
#   - the job's Docker daemon with inline cache (the previous image, as
#     docker-ecr-cache does without buildkit-host);
#   - a BuildKit daemon (buildkit-host) with the full registry cache
#     (type=registry, mode=max, at <image>:buildcache).
# Every leg is a run of the docker-ecr-cache binary.
# Each way first builds and pushes v1, then wipes all local state, changes
# the final-stage file and times the miss; then wipes again, changes
# package.json and times that miss. One run; the ratios are what to read.
#   bench/buildkit.sh            (BENCH_LOGS=DIR keeps every leg's log)
#
# Wiping the Docker daemon's state removes this benchmark's own images and
# runs `docker builder prune -af`, which clears the daemon's WHOLE build
# cache: do not run it while other builds on that daemon rely on theirs.
# The BuildKit daemon is the benchmark's own, on a loopback port, with its
# root in a temporary directory; the registry is an in-memory distribution
# registry on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
buildkitd=$(scripts/buildkitd-up.sh bin)
[ "$(id -u)" = 0 ] || { echo "bench/buildkit.sh: buildkitd needs root" >&2; exit 1; }

work=$(mktemp -d)
registry_pid='' buildkitd_pid=''
cleanup() {
  if [ -n "${BENCH_LOGS:-}" ]; then mkdir -p "$BENCH_LOGS"; cp "$work"/*.log "$BENCH_LOGS"/ 2>/dev/null || true; fi
  [ -z "$buildkitd_pid" ] || { kill "$buildkitd_pid" 2>/dev/null; wait "$buildkitd_pid" 2>/dev/null || true; }
  [ -z "$registry_pid" ] || { kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "bench: $*" >&2; }

go build -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache
go build -o "$work/registry" ./bench/registry

"$work/registry" >"$work/registry.host" 2>"$work/registry.log" &
registry_pid=$!
for _ in $(seq 1 100); do [ -s "$work/registry.host" ] && break; sleep 0.1; done
reg=$(cat "$work/registry.host")
[ -n "$reg" ] || { say "the registry did not start"; cat "$work/registry.log" >&2; exit 1; }
id=$(date +%s)-$$

# The fixture: the final stage takes the earlier stages' results with
# COPY --from, as a toolchain → dependencies → app build does.
app=$work/app
mkdir -p "$app"
cp /bin/busybox "$app/busybox"
package_v1='{"name": "bench", "dependencies": {"left-pad": "1.3.0"}}'
package_v2='{"name": "bench", "dependencies": {"left-pad": "1.3.1"}}'
cat >"$app/Dockerfile" <<'EOF2'
FROM scratch AS toolchain
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sleep 6 && echo toolchain > /toolchain"]

FROM toolchain AS deps
COPY package.json /package.json
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sleep 2 && /bin/busybox cp /package.json /deps"]

FROM scratch
COPY busybox /bin/busybox
COPY --from=deps /toolchain /deps /opt/
COPY app.txt /app.txt
EOF2

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }

# miss NAME REPO [options]: one docker-ecr-cache run in $app, which must
# miss; every leg is a whole run: key, lookup, build, push, latest, and
# the image on the job's daemon at the end.
miss() {
  local name=$1 repo=$2; shift 2
  (cd "$app" && "$work/docker-ecr-cache" --registry-provider registry --registry "$reg/$repo" \
    --cache-on package.json --cache-on app.txt "$@") >"$work/$name.env" 2>"$work/$name.log" ||
    { say "$name failed:"; tail -30 "$work/$name.log" >&2; exit 1; }
  grep -q '^CACHE_HIT=false$' "$work/$name.env" || { say "$name was not a miss"; exit 1; }
}
cold='' bkcold='' docker_final='' docker_deps='' bk_final='' bk_deps=''
timed() { # timed VAR NAME REPO [options]: miss, and the seconds it took in VAR
  local var=$1 start; shift
  start=$(now); miss "$@"; printf -v "$var" '%s' "$(secs "$start" "$(now)")"
}
remove_images() { # only this benchmark's own
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^$reg/bench-[a-z-]*$id:" | xargs -r docker rmi -f >/dev/null
}
wipe_docker() { remove_images; docker builder prune -af >/dev/null 2>&1; }

# --- the job's Docker daemon, inline cache --------------------------------
say "docker daemon: v1, then the misses"
repo=bench-docker-$id
echo "app v1" >"$app/app.txt"; echo "$package_v1" >"$app/package.json"
miss docker-v1 "$repo"
wipe_docker
echo "app v2" >"$app/app.txt"
timed docker_final docker-final "$repo"
wipe_docker
echo "$package_v2" >"$app/package.json"
timed docker_deps docker-deps "$repo"
wipe_docker
echo "app v3" >"$app/app.txt"
timed cold docker-cold "bench-docker-cold-$id" --additional-build-args --no-cache
wipe_docker

# --- buildkit-host: a BuildKit daemon of the benchmark's own ---------------
port=$((20000 + RANDOM % 20000))
start_buildkitd() {
  mkdir -p "$work/buildkitd-root"
  "$buildkitd" --addr "tcp://127.0.0.1:$port" --root "$work/buildkitd-root" \
    --oci-worker=true --containerd-worker=false --otel-socket-path "$work/buildkitd-root/otel-grpc.sock" \
    >"$work/buildkitd.log" 2>&1 &
  buildkitd_pid=$!
  for _ in $(seq 1 300); do
    grep -q "running server" "$work/buildkitd.log" && return 0
    kill -0 "$buildkitd_pid" 2>/dev/null || break
    sleep 0.1
  done
  say "buildkitd did not start:"; tail -20 "$work/buildkitd.log" >&2; exit 1
}
wipe_all() { # a fresh agent: no BuildKit state, no images, no build cache
  kill "$buildkitd_pid"; wait "$buildkitd_pid" 2>/dev/null || true
  rm -rf "$work/buildkitd-root"
  start_buildkitd
  wipe_docker
}

say "buildkit-host: v1, then the misses"
start_buildkitd
bk=(--buildkit-host "tcp://127.0.0.1:$port")
repo=bench-buildkit-$id
echo "app v1" >"$app/app.txt"; echo "$package_v1" >"$app/package.json"
miss bk-v1 "$repo" "${bk[@]}"
wipe_all
echo "app v2" >"$app/app.txt"
timed bk_final bk-final "$repo" "${bk[@]}"
wipe_all
echo "$package_v2" >"$app/package.json"
timed bk_deps bk-deps "$repo" "${bk[@]}"
wipe_all
echo "app v3" >"$app/app.txt"
timed bkcold bk-cold "bench-buildkit-cold-$id" "${bk[@]}" --additional-build-args --no-cache
wipe_docker

ratio() { awk -v a="$cold" -v b="$1" 'BEGIN {printf "%.1f×", a / b}'; }
row() { printf '%-46s %7s %7s   %7s %7s\n' "$1" "$2" "$(ratio "$2")" "$3" "$(ratio "$3")"; }
{
echo "A miss on a fresh agent (all local state wiped), seconds and speed-up over cold:"
printf '%-46s %15s   %15s\n' "" "final stage" "dependencies"
row "cold: Docker daemon, --no-cache" "$cold" "$cold"
row "cold: buildkit-host, no cache" "$bkcold" "$bkcold"
row "Docker daemon, inline cache (previous image)" "$docker_final" "$docker_deps"
row "buildkit-host, registry cache (mode=max)" "$bk_final" "$bk_deps"
echo
echo "final stage: app.txt changed (copied by the last stage); dependencies: package.json"
echo "changed (copied by stage 2, after the 6 s toolchain stage). Every time is a whole"
echo "docker-ecr-cache run: key, lookup, build, push, latest, and the image on the job's daemon."
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# steps LOG: each RUN step with the time it took (a cached one that was
# pulled from the registry takes the pull's time, CACHED none).
steps() {
  awk '/^#[0-9]+ \[/ { n = $1; match($0, /\[[^]]*\]/); name[n] = substr($0, RSTART, RLENGTH); run[n] = ($0 ~ / RUN /) }
       /^#[0-9]+ (DONE|CACHED)/ && run[$1] { t[$1] = ($2 == "CACHED") ? "CACHED" : $3; if (!seen[$1]++) order[++k] = $1 }
       END { for (i = 1; i <= k; i++) printf "%s%s %s", (i > 1 ? ", " : ""), name[order[i]], t[order[i]] }' "$1"
}
for leg in docker-final bk-final docker-deps bk-deps; do
  printf '%-13s %s\n' "$leg:" "$(steps "$work/$leg.log")"
done
} | tee "$work/summary"
{ echo '```text'; cat "$work/summary"; echo '```'; } | bench_report buildkit "bench/buildkit.sh"
