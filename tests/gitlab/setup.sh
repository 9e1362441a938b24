#!/usr/bin/env bash
# Readies gitlab-ci-local for the GitLab tests, offline but for npm:
#   tests/gitlab/setup.sh gcl     installs gitlab-ci-local $GCL_VERSION (once,
#                                 into the cache directory) and prints a
#                                 command that runs it on this machine's node
#   tests/gitlab/setup.sh helper IMAGE
#                                 builds IMAGE, gitlab-ci-local's helper image
#                                 (sh, bash, rsync, mktemp, chown, chmod), from
#                                 this machine's files: nothing is pulled
# Progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${GCL_VERSION:-4.75.1}"

case "${1:-}" in
gcl)
  for tool in node npm rsync git; do
    if ! command -v "$tool" >/dev/null; then
      echo "no $tool here: apt-get install -y nodejs npm rsync git" >&2
      exit 3
    fi
  done
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/docker-ecr-cache/gitlab-ci-local-$version"
  main="$cache/lib/node_modules/gitlab-ci-local/dist/index.js"
  if [[ ! -f "$main" ]]; then
    echo "installing gitlab-ci-local $version into $cache" >&2
    npm install --global --no-audit --no-fund --prefix "$cache" "gitlab-ci-local@$version" >&2
  fi
  # node 22 has the Set methods; older ones get them preloaded.
  echo "node --import $here/set-methods.mjs $main"
  ;;
helper)
  image="${2:?give the image name}"
  root="$(mktemp -d "${TMPDIR:-/tmp}/gcl-helper.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  # bash and rsync with the shared libraries they load.
  for bin in /bin/bash /usr/bin/rsync; do
    cp --parents -L "$bin" "$root"
    for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      cp --parents -L "$lib" "$root"
    done
  done
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$image" >/dev/null
  echo "$image"
  ;;
*)
  echo "usage: $0 gcl | helper IMAGE" >&2
  exit 2
  ;;
esac
