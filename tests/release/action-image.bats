#!/usr/bin/env bats
# The GitHub Action's prebuilt image, made by scripts/action-image.sh from
# the release binary in dist/, run as the runner runs a container action:
# the daemon's socket, the workspace and the file-command files mounted,
# INPUT_* variables, GITHUB_OUTPUT.

setup_file() {
  REPO_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
  case "$(uname -m)" in
  aarch64 | arm64) export ARCH=arm64 ;;
  *) export ARCH=amd64 ;;
  esac
  export IMAGE=docker-ecr-cache-test/action-release:e2e
  if [[ -f "$REPO_ROOT/dist/docker-ecr-cache_linux_$ARCH" ]] && docker version >/dev/null 2>&1; then
    ARCHES="$ARCH" "$REPO_ROOT/scripts/action-image.sh" >/dev/null
  fi
}

teardown_file() {
  docker rmi "$IMAGE" "$IMAGE-$ARCH" >/dev/null 2>&1 || true
}

setup() {
  load ../buildkite/helpers
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    skip "no dist/docker-ecr-cache_linux_$ARCH or no Docker daemon: run make release-snapshot"
  fi
}

@test "the image is FROM scratch with the binary and CA certificates, pulls under 25 MB, and runs version" {
  run docker run --rm "$IMAGE" version
  assert_success
  assert_output --regexp '^v[0-9]+\.[0-9]+\.[0-9]+'
  # What a job pulls: the image's layers, gzip-compressed as a registry
  # stores them.
  pull="$(docker save "$IMAGE" | gzip -6 | wc -c)"
  echo "# compressed: $pull bytes, unpacked: $(docker image inspect --format '{{.Size}}' "$IMAGE") bytes" >&3
  assert [ "$pull" -lt 25000000 ]
  run docker image inspect --format '{{len .RootFS.Layers}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE"
  assert_output '1 ["/docker-ecr-cache"] ["github"]'
}

@test "the image runs the action's whole flow under a runner's environment" {
  ws="$BATS_TEST_TMPDIR/workspace"
  fc="$BATS_TEST_TMPDIR/file_commands"
  mkdir -p "$ws/.ci" "$fc" "$BATS_TEST_TMPDIR/home"
  printf 'FROM scratch\nCOPY input.txt /input.txt\n' >"$ws/.ci/Dockerfile"
  echo "one" >"$ws/input.txt"
  touch "$fc/output" "$fc/env" "$fc/summary"
  sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"
  sock="${sock#unix://}"
  step() {
    : >"$fc/output"
    run docker run --rm \
      -v "$sock:/var/run/docker.sock" \
      -v "$ws:/github/workspace" -v "$fc:/github/file_commands" -v "$BATS_TEST_TMPDIR/home:/github/home" \
      -w /github/workspace \
      -e HOME=/github/home -e GITHUB_ACTIONS=true -e CI=true \
      -e GITHUB_WORKSPACE=/github/workspace -e GITHUB_REPOSITORY=Test-Org/Release.E2E \
      -e GITHUB_OUTPUT=/github/file_commands/output -e GITHUB_ENV=/github/file_commands/env \
      -e GITHUB_STEP_SUMMARY=/github/file_commands/summary \
      -e INPUT_DOCKERFILE=.ci/Dockerfile -e INPUT_CONTEXT=. -e "INPUT_CACHE-ON=input.txt" \
      -e "INPUT_REGISTRY-PROVIDER=local" -e "INPUT_ECR-NAME=build-cache/test-release-action" \
      -e "INPUT_MAX-AGE-DAYS=30" -e "INPUT_PUSH-LATEST=true" -e "INPUT_SKIP-PULL-FROM-CACHE=false" \
      -e "INPUT_ALLOW-EMPTY-CACHE-ON=false" -e "INPUT_EXPORT-ENV-VARIABLE=BUILDKITE_PLUGIN_DOCKER_IMAGE" \
      "$IMAGE" github
  }

  # output NAME reads a value the step wrote as NAME<<DELIMITER lines.
  output() { awk -v n="$1<<" 'f { print; exit } index($0, n) == 1 { f = 1 }' "$fc/output"; }

  step
  assert_success
  run output cache-hit
  assert_output "false"
  run output image-ref
  assert_output --regexp '^build-cache/test-release-action:[0-9a-f]{40}$'
  ref="$output"
  run docker image inspect "$ref"
  assert_success

  step
  assert_success
  run output cache-hit
  assert_output "true"
  run output image-ref
  assert_output "$ref"
  run cat "$fc/env"
  assert_output --partial "BUILDKITE_PLUGIN_DOCKER_IMAGE"

  docker image ls --format '{{.Repository}}:{{.Tag}}' build-cache/test-release-action | xargs -r docker rmi >/dev/null
}
