#!/usr/bin/env bats
# End to end: the release built by GoReleaser into dist/ (make test builds
# this machine's with scripts/release-snapshot.sh --host, the same flags; make
# release-snapshot builds them all) served from a loopback mirror to the
# real hook, in a plugin checkout that carries dist/checksums.txt as a
# release commit does.

setup() {
  load ../buildkite/helpers
  common_setup
  dist="$REPO_ROOT/dist"
  if [[ ! -f "$dist/checksums.txt" || ! -f "$dist/$asset" ]]; then
    skip "no release for $asset in dist/: run make release-snapshot"
  fi
  cp "$dist/checksums.txt" "$plugin/checksums.txt"
  mkdir -p "$BATS_TEST_TMPDIR/www/$VERSION_UNDER_TEST"
  cp "$dist"/docker-ecr-cache_*_* "$BATS_TEST_TMPDIR/www/$VERSION_UNDER_TEST/"
  expected_sum="$(grep " $asset\$" "$dist/checksums.txt" | cut -d' ' -f1)"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url")
}

teardown() {
  common_teardown
}

@test "the real hook downloads the release binary, checks it, caches it and runs it" {
  # A bad option: the real program, and only it, answers this way.
  hook_env+=('BUILDKITE_PLUGIN_CONFIGURATION={"cache_on": ["package.json"]}')

  run_hook_checking_exports

  assert_failure 2
  assert_output --partial "downloading $server_url/$VERSION_UNDER_TEST/$asset"
  assert_output --partial 'unknown option "cache_on" (did you mean "cache-on"?)'
  assert_line "exported: nothing"
  run cmp "$cache_dir/docker-ecr-cache" "$dist/$asset"
  assert_success

  # The next job runs the cached binary, checked again, with no mirror.
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  if ! docker version >/dev/null 2>&1; then
    skip "no Docker daemon for a whole run"
  fi
  echo 'data' >"$BATS_TEST_TMPDIR/checkout/input.txt"
  hook_env+=(
    "DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
    "BUILDKITE_PLUGIN_CONFIGURATION={\"registry-provider\": \"local\", \"ecr-name\": \"build-cache/test-release-hook\", \"dockerfile-inline\": \"FROM scratch\\nCOPY input.txt /input.txt\\n\", \"context\": \".\", \"cache-on\": [\"input.txt\"]}"
  )
  run_hook 'echo "image: $BUILDKITE_PLUGIN_DOCKER_IMAGE"'
  assert_success
  refute_output --partial "downloading"
  assert_line --regexp '^image: build-cache/test-release-hook:[0-9a-f]{40}$'
  docker image ls --format '{{.Repository}}:{{.Tag}}' build-cache/test-release-hook | xargs -r docker rmi >/dev/null
}

@test "a tampered binary on the mirror is refused and never run" {
  printf '#!/bin/sh\necho "the tampered binary ran" >"$TMPDIR/tampered"\n' >"$BATS_TEST_TMPDIR/www/$VERSION_UNDER_TEST/$asset"

  run_hook_checking_exports

  assert_failure 1
  assert_output --regexp "refused $cache_dir/\.download\.[A-Za-z0-9]+: $plugin/checksums\.txt gives sha256 $expected_sum for $asset, the file's is [0-9a-f]{64}"
  assert_line "exported: nothing"
  assert [ ! -e "$BATS_TEST_TMPDIR/tmp/tampered" ]
  run ls -A "$cache_dir"
  assert_output ""
}

@test "a binary planted in the cache is refused, and the release binary is fetched instead" {
  mkdir -p "$cache_dir"
  printf '#!/bin/sh\necho "the planted binary ran" >"$TMPDIR/planted"\n' >"$cache_dir/docker-ecr-cache"
  chmod +x "$cache_dir/docker-ecr-cache"
  hook_env+=('BUILDKITE_PLUGIN_CONFIGURATION={"cache_on": ["package.json"]}')

  run_hook_checking_exports

  assert_failure 2
  assert_output --partial "refused $cache_dir/docker-ecr-cache: $plugin/checksums.txt gives sha256 $expected_sum for $asset"
  assert_output --partial 'unknown option "cache_on"'
  assert [ ! -e "$BATS_TEST_TMPDIR/tmp/planted" ]
  run cmp "$cache_dir/docker-ecr-cache" "$dist/$asset"
  assert_success
}
