#!/usr/bin/env bash
# The whole test suite: Go unit and integration tests against a real Docker
# daemon and in-process registries, then the Buildkite hook's bats tests and
# the release proofs (this machine's release binary, built with the
# release's flags into dist/, served to the real hook from a loopback
# mirror, and the action image made from it). Ends with one line: packages,
# tests, skips with their reasons, failures and the time taken.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
# The test binaries, the commands they build and the release proofs'
# binary share one compile of the dependencies: all static and -trimpath,
# as releases are built.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath"
# Images that earlier runs left under test registries' names: a registry
# of this run may get one of their ports, and find them.
docker images --format '{{.Repository}}:{{.Tag}}' | grep '^127\.0\.0\.1:[0-9]*/' | xargs -r docker image rm -f >/dev/null 2>&1 || true

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Built in the background while the tests compile and run, so that their
# waits on the daemons overlap the compiles: buildkitd, once per machine
# (the BuildKit tests that find it missing wait on the same lock, in
# scripts/buildkitd-up.sh bin, and share it), and the release proofs'
# binary, go build with .goreleaser.yaml's flags (the bats tests at the end
# wait for it). go vet runs in make lint; go test runs its main checks.
buildkitd_pid=
if [ -z "${DOCKER_ECR_CACHE_BUILDKITD:-}" ] && [ "$(id -u)" = 0 ]; then
  scripts/buildkitd-up.sh bin >/dev/null 2>"$tmp/buildkitd.log" &
  buildkitd_pid=$!
fi
scripts/release-snapshot.sh --host >/dev/null 2>"$tmp/release.log" &
release_pid=$!
go build -o "$tmp/testsummary" ./internal/testsummary

# missing WHAT says what is missing: CI (DOCKER_ECR_CACHE_REQUIRE_DOCKER=1)
# fails, elsewhere the bats tests are skipped.
bats=true
missing() {
  if [ "${DOCKER_ECR_CACHE_REQUIRE_DOCKER:-}" = 1 ]; then
    echo "$1 is missing: apt-get install -y bats bats-assert bats-support" >&2
    exit 1
  fi
  echo "skipping the hook's bats tests, $1 is missing: apt-get install -y bats bats-assert bats-support" >&2
  bats=false
}
if ! command -v bats >/dev/null 2>&1; then
  missing bats
fi
# The tests load bats-support and bats-assert from Debian's path. Root
# installs them; anyone else is told how.
if $bats && { [ ! -f /usr/lib/bats/bats-support/load.bash ] || [ ! -f /usr/lib/bats/bats-assert/load.bash ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing bats-support and bats-assert" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bats-support bats-assert >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bats-support bats-assert >/dev/null; }
  else
    missing "bats-support or bats-assert"
  fi
fi

# The Go tests, with progress as go test prints it without -v; meanwhile,
# once the release proofs' binary is built, the bats tests. The summary
# below decides the exit code from the events and the TAP lines. Four
# packages and six tests of each at a time: most of their time is waiting
# on the daemons.
go test -json -count=1 -p 4 -parallel 6 -timeout 20m ./... 2>&1 | tee "$tmp/go.json" | "$tmp/testsummary" -progress &
go_pid=$!
: >"$tmp/bats.tap"
if ! wait "$release_pid"; then
  cat "$tmp/release.log" >&2
  echo "building the release proofs' binary (scripts/release-snapshot.sh --host) failed" >&2
  exit 1
fi
if $bats; then
  bats --formatter tap tests/buildkite tests/release >"$tmp/bats.tap" 2>&1 || true
fi
wait "$go_pid" || true
if [ -n "$buildkitd_pid" ] && ! wait "$buildkitd_pid"; then
  cat "$tmp/buildkitd.log" >&2
  echo "building buildkitd (scripts/buildkitd-up.sh bin) failed" >&2
  exit 1
fi
grep -v '^ok ' "$tmp/bats.tap" || true
status=0
"$tmp/testsummary" -since "$start" -tap "$tmp/bats.tap" <"$tmp/go.json" || status=$?
exit "$status"
