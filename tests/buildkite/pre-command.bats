#!/usr/bin/env bats
# hooks/pre-command: where it finds the binary, and how it hands the
# binary's exports to the job. Run from the repository root: bats tests/buildkite

setup() {
  load helpers
  common_setup
}

teardown() {
  common_teardown
}

# --- exports ------------------------------------------------------------------

@test "runs DOCKER_ECR_CACHE_BINARY and exports what it wrote" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/bin/docker-ecr-cache"
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/bin/docker-ecr-cache")

  run_hook 'env | grep "^BUILDKITE_PLUGIN_DOCKER" | sort'

  assert_success
  assert_output - <<'EOF'
BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_CACHE_HIT=true
BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_DIGEST=sha256:0123
BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE=reg/cache
BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG=abc
BUILDKITE_PLUGIN_DOCKER_IMAGE=reg/cache:abc
EOF
  # It ran once, as `docker-ecr-cache buildkite --export-file FILE`, with
  # FILE in TMPDIR, and the file is gone afterwards.
  run cat "$BATS_TEST_TMPDIR/ran"
  assert_output --regexp "^$BATS_TEST_TMPDIR/bin/docker-ecr-cache buildkite --export-file $BATS_TEST_TMPDIR/tmp/docker-ecr-cache-export\.[A-Za-z0-9]+$"
  run ls -A "$BATS_TEST_TMPDIR/tmp"
  assert_output ""
}

@test "values with quotes, spaces, \$, backquotes and newlines arrive intact" {
  # The lines are quoted as the program quotes them: '...' with ' as '\''.
  fake_binary "$BATS_TEST_TMPDIR/bin/docker-ecr-cache" <<'EOF'
cat >"$f" <<'X'
export BUILDKITE_PLUGIN_DOCKER_IMAGE='reg/cache:abc'
export TRICKY='it'\''s "double" and '\''single'\'' $HOME ${PATH} $(echo no) `echo no` \n back\slash
second line
  indented third line'
export EMPTY=''
export QUOTES=''\'''\'''\'''\'''
X
EOF
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/bin/docker-ecr-cache")

  run_hook 'printf "%s" "$TRICKY" >"$TMPDIR/tricky"; printf "[%s][%s]" "$EMPTY" "$QUOTES"'

  assert_success
  assert_output "[]['''']"
  printf '%s' "it's \"double\" and 'single' \$HOME \${PATH} \$(echo no) \`echo no\` \\n back\\slash
second line
  indented third line" >"$BATS_TEST_TMPDIR/want"
  run cmp "$BATS_TEST_TMPDIR/tmp/tricky" "$BATS_TEST_TMPDIR/want"
  assert_success
}

@test "a failing program fails the hook with its status, and nothing is exported" {
  # Even a file full of exports is not sourced when the program failed.
  fake_binary "$BATS_TEST_TMPDIR/bin/docker-ecr-cache" <<'EOF'
cat >"$f" <<'X'
export BUILDKITE_PLUGIN_DOCKER_IMAGE='reg/cache:abc'
X
echo "^^^ +++" >&2
echo "+++ :x: max-age-days is -1: give a whole number of days, 1 or more" >&2
exit 2
EOF
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/bin/docker-ecr-cache")

  run_hook_checking_exports

  assert_failure 2
  assert_output --partial "max-age-days is -1"
  assert_line "exported: nothing"
  refute_line "hook succeeded"
  run ls -A "$BATS_TEST_TMPDIR/tmp"
  assert_output ""
}

@test "a program killed by a signal fails the hook" {
  fake_binary "$BATS_TEST_TMPDIR/bin/docker-ecr-cache" <<'EOF'
kill -TERM $$
EOF
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/bin/docker-ecr-cache")

  run_hook_checking_exports

  assert_failure 143
  assert_line "exported: nothing"
}

@test "the hook leaves only the program's exports in the environment" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/bin/docker-ecr-cache"
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/bin/docker-ecr-cache")

  run_hook 'set | grep -c "^dec_" || true; declare -F | grep -c " dec_" || true'

  assert_success
  assert_output $'0\n0'
}

# --- where the binary comes from ----------------------------------------------

@test "DOCKER_ECR_CACHE_BINARY wins over a cached binary" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/bin/docker-ecr-cache"
  simple_exports | fake_binary "$cache_dir/docker-ecr-cache"
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/bin/docker-ecr-cache")

  run_hook

  assert_success
  run cat "$BATS_TEST_TMPDIR/ran"
  assert_output --partial "$BATS_TEST_TMPDIR/bin/docker-ecr-cache buildkite"
}

@test "a DOCKER_ECR_CACHE_BINARY that is not executable is reported, and the next source is used" {
  simple_exports | fake_binary "$cache_dir/docker-ecr-cache"
  trust "$cache_dir/docker-ecr-cache"
  hook_env+=("DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/missing/docker-ecr-cache")

  run_hook

  assert_success
  assert_output --partial "DOCKER_ECR_CACHE_BINARY=$BATS_TEST_TMPDIR/missing/docker-ecr-cache is not an executable file"
  run cat "$BATS_TEST_TMPDIR/ran"
  assert_output --partial "$cache_dir/docker-ecr-cache buildkite"
}

@test "uses the binary cached for this plugin version when checksums.txt vouches for it" {
  simple_exports | fake_binary "$cache_dir/docker-ecr-cache"
  trust "$cache_dir/docker-ecr-cache"

  run_hook 'echo "$BUILDKITE_PLUGIN_DOCKER_IMAGE"'

  assert_success
  assert_output "reg/cache:abc"
}

@test "the cache falls back to HOME without BUILDKITE_PLUGINS_PATH" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/home/.cache/docker-ecr-cache/$VERSION_UNDER_TEST/docker-ecr-cache"
  trust "$BATS_TEST_TMPDIR/home/.cache/docker-ecr-cache/$VERSION_UNDER_TEST/docker-ecr-cache"
  hook_env=("${hook_env[@]/BUILDKITE_PLUGINS_PATH=*/BUILDKITE=true}")

  run_hook 'echo "$BUILDKITE_PLUGIN_DOCKER_IMAGE"'

  assert_success
  assert_output "reg/cache:abc"
}

@test "without BUILDKITE_PLUGINS_PATH and HOME there is no cache, and no /tmp fallback" {
  hook_env=("${hook_env[@]/BUILDKITE_PLUGINS_PATH=*/BUILDKITE=true}")
  hook_env=("${hook_env[@]/HOME=*/BUILDKITE=true}")
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  trust "$BATS_TEST_TMPDIR/asset"

  run_hook_checking_exports

  assert_failure 1
  assert_line "  - cache: neither BUILDKITE_PLUGINS_PATH nor HOME is set"
  refute_output --partial "downloading"
  run ls -A "$BATS_TEST_TMPDIR/tmp"
  assert_output ""
}

@test "does not use a binary cached for another version" {
  simple_exports | fake_binary "$plugins_path/.cache/docker-ecr-cache/v0.0.0-other/docker-ecr-cache"
  trust "$plugins_path/.cache/docker-ecr-cache/v0.0.0-other/docker-ecr-cache"

  run_hook

  assert_failure 1
  assert_output --partial "$cache_dir/docker-ecr-cache: not there"
  assert [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "takes the version from git describe when there is no VERSION file" {
  link_tools git
  rm "$plugin/VERSION"
  simple_exports | fake_binary "$plugins_path/.cache/docker-ecr-cache/v1.2.3/docker-ecr-cache"
  trust "$plugins_path/.cache/docker-ecr-cache/v1.2.3/docker-ecr-cache"
  git -C "$plugin" init -q
  git -C "$plugin" add -A
  git -C "$plugin" -c user.name=t -c user.email=t@example.com commit -qm plugin
  git -C "$plugin" tag v1.2.3

  run_hook 'echo "$BUILDKITE_PLUGIN_DOCKER_IMAGE"'

  assert_success
  assert_output "reg/cache:abc"
}

@test "a version that is not vX.Y.Z names no cache directory and no download" {
  echo "../../../escape" >"$plugin/VERSION"
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url")

  run_hook_checking_exports

  assert_failure 1
  assert_line '  - download: skipped, the plugin version "../../../escape" is not a release version (vX.Y.Z)'
  refute_output --partial "downloading"
  assert [ ! -e "$plugins_path/.cache" ]
  assert [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "downloads the release for this OS and CPU, checks it, and caches it" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url/")

  run_hook 'echo "image: $BUILDKITE_PLUGIN_DOCKER_IMAGE"'

  assert_success
  assert_output --partial "downloading $server_url/$VERSION_UNDER_TEST/$asset"
  assert_line "image: reg/cache:abc"
  run cmp "$cache_dir/docker-ecr-cache" "$BATS_TEST_TMPDIR/asset"
  assert_success
  run ls -A "$cache_dir"
  assert_output "docker-ecr-cache"

  # The next job on this agent does not download it again.
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  run_hook 'echo "image: $BUILDKITE_PLUGIN_DOCKER_IMAGE"'
  assert_success
  refute_output --partial "downloading"
  assert_line "image: reg/cache:abc"
}

@test "a binary planted in the cache is refused, never run, and fetched again" {
  fake_binary "$cache_dir/docker-ecr-cache" <<<'echo "the planted binary ran" >"$TMPDIR/planted"'
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url")

  run_hook 'echo "image: $BUILDKITE_PLUGIN_DOCKER_IMAGE"'

  assert_success
  assert_output --partial "refused $cache_dir/docker-ecr-cache: $plugin/checksums.txt gives sha256 $expected_sum for $asset"
  assert_output --partial "downloading $server_url/$VERSION_UNDER_TEST/$asset"
  assert_line "image: reg/cache:abc"
  assert [ ! -e "$BATS_TEST_TMPDIR/tmp/planted" ]
  run cmp "$cache_dir/docker-ecr-cache" "$BATS_TEST_TMPDIR/asset"
  assert_success
}

@test "a binary planted in the cache with no mirror to fetch from is refused and removed" {
  fake_binary "$cache_dir/docker-ecr-cache" <<<'echo "the planted binary ran" >"$TMPDIR/planted"'
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  trust "$BATS_TEST_TMPDIR/asset"

  run_hook_checking_exports

  assert_failure 1
  assert_output --partial "refused $cache_dir/docker-ecr-cache: $plugin/checksums.txt gives sha256 $expected_sum for $asset"
  assert_line "exported: nothing"
  assert [ ! -e "$BATS_TEST_TMPDIR/tmp/planted" ]
  assert [ ! -e "$cache_dir/docker-ecr-cache" ]
}

@test "without curl, says so" {
  rm "$tools/curl"
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  trust "$BATS_TEST_TMPDIR/asset"

  run_hook

  assert_failure 1
  assert_output --partial "curl is not installed"
  assert [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a plain-http mirror that is not loopback is refused by curl" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  trust "$BATS_TEST_TMPDIR/asset"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=http://mirror.invalid/releases")

  run_hook

  assert_failure 1
  assert_output --partial "Protocol \"http\" not supported"
  assert_line --regexp "^  - download http://mirror\.invalid/releases/$VERSION_UNDER_TEST/$asset: failed \(exit status 1\)$"
}

@test "a mirror URL with credentials in it is never echoed" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  echo "# tampered" >>"$BATS_TEST_TMPDIR/www/$VERSION_UNDER_TEST/$asset"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=${server_url/http:\/\//http://agent:s3cr3t-pw@}")

  run_hook

  assert_failure 1
  assert_output --partial "downloading http://***@127.0.0.1:"
  refute_output --partial "s3cr3t-pw"
  refute_output --partial "agent:"
}

@test "a download whose checksum does not match is refused and never run" {
  fake_binary "$BATS_TEST_TMPDIR/asset" <<<'echo "the tampered binary ran" >"$TMPDIR/tampered"'
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  echo "# tampered after the checksums were made" >>"$BATS_TEST_TMPDIR/www/$VERSION_UNDER_TEST/$asset"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url")

  run_hook_checking_exports

  assert_failure 1
  assert_output --regexp "refused $cache_dir/\.download\.[A-Za-z0-9]+: $plugin/checksums\.txt gives sha256 $expected_sum for $asset, the file's is [0-9a-f]{64}"
  assert_line "exported: nothing"
  assert [ ! -e "$BATS_TEST_TMPDIR/tmp/tampered" ]
  assert [ ! -e "$BATS_TEST_TMPDIR/ran" ]
  run ls -A "$cache_dir"
  assert_output ""
}

@test "a checksums.txt with no line for this machine means no download" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  printf 'another asset' | sha256sum >"$plugin/checksums.txt"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url")

  run_hook

  assert_failure 1
  assert_line "  - download: skipped, $plugin/checksums.txt has no sha256 for $asset"
  refute_output --partial "downloading"
  assert [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a checkout without checksums.txt downloads nothing and trusts no cached binary" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  release "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/asset"
  simple_exports | fake_binary "$cache_dir/docker-ecr-cache"
  rm "$plugin/checksums.txt"
  start_server "$BATS_TEST_TMPDIR/www"
  hook_env+=("DOCKER_ECR_CACHE_DOWNLOAD_URL=$server_url")

  run_hook

  assert_failure 1
  assert_line "  - download: skipped, this checkout has no $plugin/checksums.txt to check a binary against"
  refute_output --partial "downloading"
  assert [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "with no binary, no network and no Go, fails listing what it tried" {
  simple_exports | fake_binary "$BATS_TEST_TMPDIR/asset"
  trust "$BATS_TEST_TMPDIR/asset"

  run_hook_checking_exports

  assert_failure 1
  assert_line "^^^ +++"
  assert_line "+++ :x: docker-ecr-cache: no docker-ecr-cache binary for version $VERSION_UNDER_TEST ($os/$arch). Tried:"
  assert_line "  - DOCKER_ECR_CACHE_BINARY: not set"
  assert_line "  - $cache_dir/docker-ecr-cache: not there"
  assert_line --regexp "^  - download http://127\.0\.0\.1:1/$VERSION_UNDER_TEST/$asset: failed \(exit status [0-9]+\)$"
  assert_line "  - go build in $plugin: go is not on PATH"
  assert_output --partial "set DOCKER_ECR_CACHE_BINARY"
  assert_line "exported: nothing"
}

@test "builds the binary with go from the plugin checkout, and the real binary reports a bad option" {
  if ! command -v go >/dev/null 2>&1; then
    skip "no go"
  fi
  # The repository itself is the plugin checkout here.
  hook="$REPO_ROOT/hooks/pre-command"
  link_tools git
  hook_env+=(
    "PATH=$tools:$(dirname "$(command -v go)")"
    "GOCACHE=$(go env GOCACHE)" "GOMODCACHE=$(go env GOMODCACHE)" "GOFLAGS=$(go env GOFLAGS)"
    "GOPROXY=off" "GOTOOLCHAIN=local"
    'BUILDKITE_PLUGIN_CONFIGURATION={"cache_on": ["package.json"]}'
  )
  version="$(git -C "$REPO_ROOT" describe --tags --always)"

  run_hook_checking_exports

  assert_failure 2
  assert_output --partial "Building docker-ecr-cache $version from $REPO_ROOT"
  assert_line "^^^ +++"
  assert_output --partial 'unknown option "cache_on" (did you mean "cache-on"?)'
  assert_line "exported: nothing"
  # A binary built from source cannot be checked, so it is not cached, and
  # its temporary directory is gone.
  assert [ ! -e "$plugins_path/.cache" ]
  run ls -A "$BATS_TEST_TMPDIR/tmp"
  assert_output ""
}
