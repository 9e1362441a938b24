#!/usr/bin/env bash
# Makes sure a Docker daemon answers, starting a private one when none does.
# Prints the DOCKER_HOST to use on stdout; progress goes to stderr.
#   eval "$(scripts/docker-up.sh)"
set -euo pipefail

state=${DOCKER_ECR_CACHE_DOCKERD_DIR:-/tmp/docker-ecr-cache-dockerd}
sock="unix://$state/docker.sock"

answers() { DOCKER_HOST=$1 timeout 5 docker version >/dev/null 2>&1; }
say() { echo "docker-up: $*" >&2; }

if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
  echo "export DOCKER_HOST=$DOCKER_HOST"; exit 0
fi
if answers "$sock"; then
  echo "export DOCKER_HOST=$sock"; exit 0
fi
if [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then
  echo "export DOCKER_HOST=unix:///var/run/docker.sock"; exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing docker.io and busybox-static"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq docker.io busybox-static >&2
  else
    say "no dockerd here: install it first, as root:"
    say "  apt-get update && apt-get install -y docker.io busybox-static"
    exit 1
  fi
fi
if [ "$(id -u)" != 0 ]; then
  say "no Docker daemon answers and starting one needs root: run 'sudo dockerd' or set DOCKER_HOST"
  exit 1
fi

mkdir -p "$state"
say "starting dockerd on $sock (data in $state, log in $state/dockerd.log)"
nohup dockerd \
  --host "$sock" \
  --data-root "$state/data" \
  --exec-root "$state/exec" \
  --pidfile "$state/dockerd.pid" \
  >"$state/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if answers "$sock"; then
    echo "export DOCKER_HOST=$sock"; exit 0
  fi
  sleep 0.5
done
say "dockerd did not answer within 30s; its log:"
tail -20 "$state/dockerd.log" >&2
exit 1
