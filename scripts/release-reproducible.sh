#!/usr/bin/env bash
# Proves that release builds are reproducible: builds the committed HEAD
# twice, from two clones at different paths, the second with an empty Go
# build cache, and compares the binaries byte for byte. Arguments go to
# goreleaser (--single-target: this machine's binary only).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
go build -C tools -o "$root/bin/goreleaser" github.com/goreleaser/goreleaser/v2
work="$(mktemp -d "${TMPDIR:-/tmp}/docker-ecr-cache-repro.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
for n in 1 2; do
  git clone -q . "$work/src$n"
  echo "### build $n in $work/src$n" >&2
  cache="$(go env GOCACHE)"
  if [[ $n == 2 ]]; then cache="$work/gocache"; fi
  GORELEASER="$root/bin/goreleaser" GOCACHE="$cache" "$work/src$n/scripts/release-snapshot.sh" "$@" >/dev/null
done
if ! diff "$work/src1/dist/checksums.txt" "$work/src2/dist/checksums.txt" >&2; then
  echo "not reproducible: the two builds differ" >&2
  exit 1
fi
for f in "$work"/src1/dist/docker-ecr-cache_*; do
  cmp "$f" "$work/src2/dist/${f##*/}"
done
echo "reproducible: $(wc -l <"$work/src1/dist/checksums.txt") binaries byte-identical" >&2
cat "$work/src1/dist/checksums.txt"
