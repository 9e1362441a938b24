#!/usr/bin/env bash
# The quick start: runs docker-ecr-cache twice on example/Dockerfile with the
# local provider (the daemon's image store, no registry, no cloud account).
# The first run is a miss that builds; the second is a hit.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/docker-up.sh)"
export DOCKER_HOST
cp /bin/busybox example/busybox
go build -o bin/docker-ecr-cache ./cmd/docker-ecr-cache

# Start from a miss: remove the keyed images, keep latest so that the miss
# can say which inputs changed since it.
# (A daemon that has never seen the example has nothing to remove.)
docker image ls --format '{{.Repository}}:{{.Tag}}' build-cache/example |
  { grep -v ':latest$' || true; } | xargs -r docker rmi >/dev/null

# The test bed's own variables share the tool's prefix: the tool would take
# them for options it does not know.
for run in first second; do
  echo "### $run run" >&2
  env -u DOCKER_ECR_CACHE_REQUIRE_DOCKER -u DOCKER_ECR_CACHE_DOCKERD_DIR -u DOCKER_ECR_CACHE_BUILDKITD_DIR \
    bin/docker-ecr-cache \
    --registry-provider local \
    --ecr-name build-cache/example \
    --dockerfile example/Dockerfile \
    --cache-on example/package.json
done
