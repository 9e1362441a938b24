#!/usr/bin/env bash
# make release-prepare VERSION=vX.Y.Z: the changes of the release commit,
# the commit that the tag vX.Y.Z points at (main keeps building the action
# from source):
#   - dist/: the release built for VERSION (skipped when DIST names a
#     directory that holds it already);
#   - checksums.txt: dist/checksums.txt, which the Buildkite hook checks
#     every binary against;
#   - VERSION: the version the hook downloads;
#   - action.yml: image: docker://ghcr.io/docker-ecr-cache/docker-ecr-cache:VERSION;
#   - templates/docker-ecr-cache.yml: the image input's default,
#     ghcr.io/docker-ecr-cache/docker-ecr-cache:VERSION-shell;
#   - README.md and docs/*.md: the version in the plugin and action examples.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-${VERSION:-}}"
image=ghcr.io/docker-ecr-cache/docker-ecr-cache
if [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "VERSION=\"$version\" is not a release version: give one like VERSION=v1.2.3" >&2
  exit 2
fi
dist="${DIST:-}"
if [[ -z "$dist" ]]; then
  DOCKER_ECR_CACHE_VERSION="$version" scripts/release-snapshot.sh >/dev/null
  dist=dist
fi
for os in linux darwin; do
  for arch in amd64 arm64; do
    if ! grep -Eq "^[0-9a-f]{64}  docker-ecr-cache_${os}_${arch}\$" "$dist/checksums.txt"; then
      echo "$dist/checksums.txt has no line for docker-ecr-cache_${os}_${arch}: build the release with make release-snapshot" >&2
      exit 1
    fi
  done
done

cp "$dist/checksums.txt" checksums.txt
echo "$version" >VERSION
sed -i -E "s#^  image: (Dockerfile|docker://.*)\$#  image: docker://$image:$version#" action.yml
sed -i -E "s#^      default: $image:[^ ]*-shell\$#      default: $image:$version-shell#" templates/docker-ecr-cache.yml
sed -i -E \
  -e "s|(github\\.com/docker-ecr-cache/docker-ecr-cache#)v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?|\\1$version|g" \
  -e "s|(docker-ecr-cache/docker-ecr-cache@)v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?|\\1$version|g" \
  -e "s|(cmd/docker-ecr-cache@)v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?|\\1$version|g" \
  -e "s|(docker-ecr-cache/releases/download/)v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?|\\1$version|g" \
  -e "s|($image:)v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?|\\1$version|g" \
  README.md docs/*.md
echo "release $version prepared: commit checksums.txt, VERSION, action.yml, templates/docker-ecr-cache.yml, README.md and docs/, tag the commit $version and push the tag" >&2
