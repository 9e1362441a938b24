# Helpers for the hooks/pre-command tests. The hook runs as the agent runs
# it: sourced by bash, in the checkout, with a clean environment holding only
# what each test puts in hook_env.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

REPO_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
VERSION_UNDER_TEST=v0.0.0-test

# common_setup makes a plugin checkout holding the hook and a VERSION file,
# an empty plugins cache, a checkout to run in, and a PATH of the tools an
# agent has, without go.
common_setup() {
  plugin="$BATS_TEST_TMPDIR/plugin"
  mkdir -p "$plugin/hooks" "$BATS_TEST_TMPDIR/checkout" "$BATS_TEST_TMPDIR/tmp"
  cp "$REPO_ROOT/hooks/pre-command" "$plugin/hooks/pre-command"
  echo "$VERSION_UNDER_TEST" >"$plugin/VERSION"
  hook="$plugin/hooks/pre-command"
  plugins_path="$BATS_TEST_TMPDIR/plugins"
  cache_dir="$plugins_path/.cache/docker-ecr-cache/$VERSION_UNDER_TEST"
  tools="$BATS_TEST_TMPDIR/tools"
  link_tools bash cat dirname tr uname mktemp rm mv chmod mkdir sha256sum curl env grep sort
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
  esac
  asset="docker-ecr-cache_${os}_${arch}"
  hook_env=(
    "HOME=$BATS_TEST_TMPDIR/home"
    "PATH=$tools"
    "TMPDIR=$BATS_TEST_TMPDIR/tmp"
    "BUILDKITE=true"
    "BUILDKITE_PLUGINS_PATH=$plugins_path"
    # No network: the download fails at once.
    "DOCKER_ECR_CACHE_DOWNLOAD_URL=http://127.0.0.1:1"
  )
  cd "$BATS_TEST_TMPDIR/checkout" || return 1
}

common_teardown() {
  if [[ -n "${server_pid:-}" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}

# link_tools NAME... puts the named commands in the hook's PATH.
link_tools() {
  mkdir -p "$tools"
  local t
  for t in "$@"; do
    if command -v "$t" >/dev/null 2>&1; then
      ln -sf "$(command -v "$t")" "$tools/$t"
    fi
  done
}

# run_hook SCRIPT sources the hook as the agent does, then runs SCRIPT in the
# same shell: what the hook exported is what the job's command would see.
run_hook() {
  run env -i "${hook_env[@]}" bash -c 'source "$1"; eval "$2"' bash "$hook" "${1:-:}"
}

# run_hook_checking_exports sources the hook and, however it ends, prints
# the exported image variable, so a test can see that nothing was exported.
run_hook_checking_exports() {
  run env -i "${hook_env[@]}" bash -c \
    'trap '\''echo "exported: ${BUILDKITE_PLUGIN_DOCKER_IMAGE:-nothing}"'\'' EXIT; source "$1"; echo "hook succeeded"' \
    bash "$hook"
}

# fake_binary PATH writes a stand-in for docker-ecr-cache that checks its
# arguments, records that it ran, and runs the shell code on stdin with the
# export file in $f.
fake_binary() {
  mkdir -p "$(dirname "$1")"
  {
    echo '#!/bin/bash'
    echo 'set -eu'
    echo 'if [ "$#" -ne 3 ] || [ "$1" != buildkite ] || [ "$2" != --export-file ]; then echo "fake: unexpected arguments: $*" >&2; exit 64; fi'
    echo 'f=$3'
    echo "echo \"\$0 \$*\" >>\"$BATS_TEST_TMPDIR/ran\""
    cat
  } >"$1"
  chmod +x "$1"
}

# simple_exports is fake_binary's body for a run that succeeds.
simple_exports() {
  cat <<'EOF'
cat >"$f" <<'X'
export BUILDKITE_PLUGIN_DOCKER_IMAGE='reg/cache:abc'
export BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE='reg/cache'
export BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG='abc'
export BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_CACHE_HIT='true'
export BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_DIGEST='sha256:0123'
X
EOF
}

# start_server DIR serves DIR over HTTP on 127.0.0.1 and sets $server_url.
start_server() {
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$1" >"$BATS_TEST_TMPDIR/http.log" 2>&1 3>&- &
  server_pid=$!
  server_url="http://127.0.0.1:$port"
  local _
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "$server_url/"; then
      return 0
    fi
    sleep 0.1
  done
  fail "the HTTP server did not start: $(cat "$BATS_TEST_TMPDIR/http.log")"
}

# trust BINARY writes the plugin checkout's checksums.txt, as a release
# commit carries it: BINARY's digest for this machine's asset, and another.
trust() {
  local sum _
  read -r sum _ < <(sha256sum "$1")
  {
    printf 'another asset' | sha256sum | sed 's/-$/docker-ecr-cache_plan9_mips/'
    echo "$sum  $asset"
  } >"$plugin/checksums.txt"
  expected_sum="$sum"
}

# release DIR BINARY puts BINARY on a mirror in DIR as this version's asset
# for this machine, and makes the plugin checkout trust it.
release() {
  local dir="$1/$VERSION_UNDER_TEST"
  mkdir -p "$dir"
  cp "$2" "$dir/$asset"
  trust "$2"
}
