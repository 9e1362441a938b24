#!/usr/bin/env bash
# Makes sure a BuildKit daemon answers on loopback, starting a private one
# when none does. Prints the BUILDKIT_HOST to use on stdout; progress goes
# to stderr.
#   eval "$(scripts/buildkitd-up.sh)"
#
# buildkitd is built once from github.com/moby/buildkit/cmd/buildkitd at the
# version go.mod requires, through the Go module proxy, into the state
# directory. It runs as root with Debian's runc (OCI worker), its state in a
# fresh temporary --root. `scripts/buildkitd-up.sh stop` stops it and
# removes that root; `scripts/buildkitd-up.sh bin` only builds the binary
# and prints its path (internal/testenv starts private daemons with it).
# `scripts/buildkitd-up.sh image NAME` makes NAME, an image that runs that
# buildkitd (as root, privileged) with buildctl beside it for the
# docker-container:// and kube-pod:// connection helpers, from this
# machine's files with the libraries they load: nothing is pulled.
set -euo pipefail

state=${DOCKER_ECR_CACHE_BUILDKITD_DIR:-/tmp/docker-ecr-cache-buildkitd}
port=${DOCKER_ECR_CACHE_BUILDKITD_PORT:-18234}
addr="tcp://127.0.0.1:$port"
repo=$(cd "$(dirname "$0")/.." && pwd)

say() { echo "buildkitd-up: $*" >&2; }
# answers: buildkitd serves gRPC; a TCP connect is all that bash can check.
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  if [ -f "$state/buildkitd.pid" ]; then
    pid=$(cat "$state/buildkitd.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -f "$state/buildkitd.pid"
  fi
  if [ -f "$state/root.path" ]; then
    rm -rf "$(cat "$state/root.path")" "$state/root.path"
  fi
  exit 0
fi

if [ "${1:-}" != bin ] && [ "${1:-}" != image ] && answers "$port"; then
  echo "export BUILDKIT_HOST=$addr"; exit 0
fi

mkdir -p "$state"
version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
bin="$state/bin/$version/buildkitd"
if [ ! -x "$bin" ]; then
  # One build per machine: test packages run at once, and each may ask for
  # the binary; the others wait on the lock, then find it built.
  mkdir -p "$(dirname "$bin")"
  exec 9>"$state/build.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    say "building buildkitd $version (once, into $bin)"
    # Built in buildkit's own module (its go.mod has exclude directives, so
    # `go install pkg@version` refuses it), with its own go.sum: the module
    # proxy serves the dependencies, nothing here changes this repository.
    src=$(cd "$repo" && go mod download -json "github.com/moby/buildkit@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    # Built under another name and renamed: a binary is there whole or not at all.
    GOFLAGS=-mod=mod go -C "$src" build -o "$bin.tmp" ./cmd/buildkitd >&2
    mv "$bin.tmp" "$bin"
  fi
  exec 9>&-
fi
if [ "${1:-}" = bin ]; then
  echo "$bin"; exit 0
fi
if [ "${1:-}" = image ]; then
  image="${2:?give the image name}"
  buildctl="$state/bin/$version/buildctl"
  if [ ! -x "$buildctl" ]; then
    say "building buildctl $version (once, into $buildctl)"
    src=$(cd "$repo" && go mod download -json "github.com/moby/buildkit@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    GOFLAGS=-mod=mod go -C "$src" build -o "$buildctl" ./cmd/buildctl >&2
  fi
  runc=$(command -v runc || true)
  if [ -z "$runc" ]; then
    say "no runc here: apt-get install -y runc"; exit 1
  fi
  img=$(mktemp -d "${TMPDIR:-/tmp}/buildkitd-image.XXXXXX")
  trap 'rm -rf "$img"' EXIT
  mkdir -p "$img/usr/bin" "$img/tmp" "$img/var/lib/buildkit" "$img/run"
  chmod 1777 "$img/tmp"
  cp "$bin" "$buildctl" "$runc" "$img/usr/bin/"
  for b in "$bin" "$buildctl" "$runc"; do
    for lib in $(ldd "$b" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      cp --parents -L "$lib" "$img"
    done
  done
  tar -C "$img" -c . | docker import \
    -c 'ENV PATH=/usr/bin' \
    -c 'ENTRYPOINT ["/usr/bin/buildkitd", "--oci-worker=true", "--containerd-worker=false", "--oci-worker-snapshotter=native"]' \
    - "$image" >/dev/null
  echo "$image"; exit 0
fi
if ! command -v runc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing runc"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >&2
  else
    say "no runc here: apt-get install -y runc"; exit 1
  fi
fi
if [ "$(id -u)" != 0 ]; then
  say "starting buildkitd needs root: run this script as root, or set BUILDKIT_HOST"
  exit 1
fi

root=$(mktemp -d /tmp/docker-ecr-cache-buildkitd-root.XXXXXX)
echo "$root" >"$state/root.path"
say "starting buildkitd on $addr (root $root, log $state/buildkitd.log)"
nohup "$bin" \
  --addr "$addr" \
  --root "$root" \
  --oci-worker=true --containerd-worker=false \
  --otel-socket-path "$root/otel-grpc.sock" \
  >"$state/buildkitd.log" 2>&1 </dev/null &
echo $! >"$state/buildkitd.pid"
for _ in $(seq 1 120); do
  if grep -q "running server" "$state/buildkitd.log" 2>/dev/null; then
    echo "export BUILDKIT_HOST=$addr"; exit 0
  fi
  kill -0 "$(cat "$state/buildkitd.pid")" 2>/dev/null || break
  sleep 0.25
done
say "buildkitd did not start within 30s; its log:"
tail -20 "$state/buildkitd.log" >&2
exit 1
