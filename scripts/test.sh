#!/usr/bin/env bash
# The whole test suite: Go unit and integration tests against a real Docker
# daemon and in-process registries, then the Buildkite hook's bats tests.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST

go vet ./...
go test -count=1 -timeout 20m ./...

if command -v bats >/dev/null 2>&1; then
  bats tests/buildkite
elif [ "${DOCKER_ECR_CACHE_REQUIRE_DOCKER:-}" = 1 ]; then
  echo "bats is missing: apt-get install -y bats bats-assert bats-support" >&2
  exit 1
else
  echo "skipping the hook's bats tests: apt-get install -y bats bats-assert bats-support" >&2
fi
