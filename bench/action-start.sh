#!/usr/bin/env bash
# How long a GitHub Action step takes from its start to the program's first
# log line, two ways, on the same machine and daemon:
#   (a) prebuilt: the release image (make action-image, from dist/) pulled
#       from a loopback registry (Debian's docker-registry, distribution),
#       then run;
#   (b) source: today's `image: Dockerfile`, built with --no-cache (a runner
#       with no layer cache) from a vendored copy of the repository, with a
#       Go image made from this machine's GOROOT (Docker Hub's golang image
#       cannot be pulled here; pulling it would only add to (b)), then run.
# Both runs are the action's flow on example/Dockerfile with the local
# provider, under runner-style env; the clock stops at the program's first
# line (what the pull and the build print is not counted as one). Prints both
# times, the ratio and the prebuilt image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
# shellcheck disable=SC1091
. bench/report.sh
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
sock="${DOCKER_HOST#unix://}"
case "$(uname -m)" in
aarch64 | arm64) arch=arm64 ;;
*) arch=amd64 ;;
esac
if ! command -v docker-registry >/dev/null 2>&1; then
  echo "docker-registry is missing: apt-get install -y docker-registry" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-bench.XXXXXX")"
registry_pid=
cleanup() {
  if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; fi
  docker rmi -f docker-ecr-cache-bench/prebuilt:latest "docker-ecr-cache-bench/prebuilt:latest-$arch" \
    docker-ecr-cache-bench/source:latest "${pulled:-none}" >/dev/null 2>&1 || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

# first_line_after START CMD... runs CMD and prints the seconds from START to
# its first line of output.
first_line_after() {
  local start="$1" t
  shift
  t="$("$@" 2>&1 | { IFS= read -r line; now; echo "first line: $line" >&2; cat >/dev/null; })"
  awk -v a="$start" -v b="$t" 'BEGIN { printf "%.2f", b - a }'
}

# run_action IMAGE runs the image as the runner runs the action.
ws="$work/workspace"
mkdir -p "$ws" "$work/fc" "$work/home"
cp example/Dockerfile example/package.json "$ws/"
cp /bin/busybox "$ws/busybox"
run_action() {
  : >"$work/fc/output"
  docker run --rm -v "$sock:/var/run/docker.sock" -v "$ws:/github/workspace" \
    -v "$work/fc:/github/file_commands" -v "$work/home:/github/home" -w /github/workspace \
    -e HOME=/github/home -e GITHUB_ACTIONS=true -e GITHUB_WORKSPACE=/github/workspace \
    -e GITHUB_REPOSITORY=bench/action-start -e GITHUB_OUTPUT=/github/file_commands/output \
    -e GITHUB_ENV=/github/file_commands/env -e INPUT_DOCKERFILE=Dockerfile \
    -e "INPUT_CACHE-ON=package.json" -e "INPUT_REGISTRY-PROVIDER=local" \
    -e "INPUT_ECR-NAME=build-cache/bench-action-example" "$1" github
}

# (a) the prebuilt image, pushed to a loopback registry and removed locally.
if [[ ! -f "dist/docker-ecr-cache_linux_$arch" ]]; then
  scripts/release-snapshot.sh --host >/dev/null
fi
ARCHES="$arch" IMAGE=docker-ecr-cache-bench/prebuilt:latest scripts/action-image.sh >/dev/null
size="$(docker image inspect --format '{{.Size}}' docker-ecr-cache-bench/prebuilt:latest)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 50); do
  if curl -fs "http://127.0.0.1:$port/v2/" >/dev/null; then break; fi
  sleep 0.1
done
pulled="127.0.0.1:$port/docker-ecr-cache:bench"
docker tag docker-ecr-cache-bench/prebuilt:latest "$pulled"
docker push -q "$pulled" >/dev/null
docker rmi -f docker-ecr-cache-bench/prebuilt:latest "docker-ecr-cache-bench/prebuilt:latest-$arch" "$pulled" >/dev/null
start="$(now)"
prebuilt="$(first_line_after "$start" bash -c "docker pull -q '$pulled' >/dev/null 2>'$work/pull.log' && $(declare -f run_action); ws='$ws' work='$work' sock='$sock' run_action '$pulled'")"
echo "prebuilt: ${prebuilt}s to the first log line" >&2

# (b) today's image: Dockerfile, built with no layer cache.
goimage="docker-ecr-cache-test/go:$(go env GOVERSION)"
if ! docker image inspect "$goimage" >/dev/null 2>&1; then
  rootfs="$work/goroot"
  mkdir -p "$rootfs/bin" "$rootfs/etc/ssl/certs" "$rootfs/root" "$rootfs/usr/local" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in sh mkdir chmod ls cat; do ln -s busybox "$rootfs/bin/$a"; done
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  cp -a "$(go env GOROOT)" "$rootfs/usr/local/go"
  tar -C "$rootfs" -c . | docker import --change "ENV PATH=/usr/local/go/bin:/bin" --change "ENV HOME=/root" \
    --change "ENV GOTOOLCHAIN=local" - "$goimage" >/dev/null
fi
src="$work/src"
mkdir -p "$src"
git ls-files -z | xargs -0 cp --parents -t "$src"
(cd "$src" && GOFLAGS=-mod=mod GOWORK=off go mod vendor)
start="$(now)"
source_time="$(first_line_after "$start" bash -c "DOCKER_BUILDKIT=0 docker build -q --no-cache --build-arg GO_IMAGE='$goimage' --build-arg GOPROXY=off -t docker-ecr-cache-bench/source:latest '$src' >/dev/null 2>'$work/build.log' && $(declare -f run_action); ws='$ws' work='$work' sock='$sock' run_action docker-ecr-cache-bench/source:latest")"
echo "source: ${source_time}s to the first log line" >&2

docker image ls --format '{{.Repository}}:{{.Tag}}' build-cache/bench-action-example | xargs -r docker rmi >/dev/null
cd "$root"
awk -v a="$prebuilt" -v b="$source_time" -v s="$size" 'BEGIN {
  printf "| action image | start to first log line |\n|---|---:|\n"
  printf "| prebuilt (`make action-image` from `dist/`, %.1f MB unpacked), pulled from a loopback registry | %.2f s |\n", s / 1e6, a
  printf "| `image: Dockerfile`, built with `--no-cache`, Go image already local | %.2f s |\n", b
  printf "| ratio | %.0f× |\n", b / a
}' | tee /dev/stderr | bench_report action-start "bench/action-start.sh"
bench_result action-start action-start "image: Dockerfile" "$(awk -v b="$source_time" 'BEGIN {printf "%.0f", b * 1000}')"
bench_result action-start action-start "prebuilt image" "$(awk -v a="$prebuilt" 'BEGIN {printf "%.0f", a * 1000}')"
