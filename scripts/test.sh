#!/usr/bin/env bash
# The whole test suite: Go unit and integration tests against a real Docker
# daemon and in-process registries, then the Buildkite hook's bats tests and
# the release proofs (this machine's release binary, built once into dist/,
# served to the real hook from a loopback mirror, and the action image made
# from it).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST

go vet ./...
go test -count=1 -timeout 20m ./...

# missing WHAT says what is missing: CI (DOCKER_ECR_CACHE_REQUIRE_DOCKER=1)
# fails, elsewhere the bats tests are skipped.
missing() {
  if [ "${DOCKER_ECR_CACHE_REQUIRE_DOCKER:-}" = 1 ]; then
    echo "$1 is missing: apt-get install -y bats bats-assert bats-support" >&2
    exit 1
  fi
  echo "skipping the hook's bats tests, $1 is missing: apt-get install -y bats bats-assert bats-support" >&2
  exit 0
}
if ! command -v bats >/dev/null 2>&1; then
  missing bats
fi
# The tests load bats-support and bats-assert from Debian's path. Root
# installs them; anyone else is told how.
if [ ! -f /usr/lib/bats/bats-support/load.bash ] || [ ! -f /usr/lib/bats/bats-assert/load.bash ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing bats-support and bats-assert" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bats-support bats-assert >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bats-support bats-assert >/dev/null; }
  else
    missing "bats-support or bats-assert"
  fi
fi

scripts/release-snapshot.sh --single-target >/dev/null
bats tests/buildkite tests/release
