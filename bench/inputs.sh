#!/usr/bin/env bash
# bench/inputs.sh: the cost of a key and of a miss whose cache-on matches
# 100,000 files, and the size of the inputs label against the number of
# files.
#
#   floor   reading the same files and nothing else:
#           find src -name '*.txt' -print0 | xargs -0 cat
#   key     docker-ecr-cache key --cache-on 'src/**/*.txt' (stdout, one
#           line per input, to /dev/null)
#   miss    docker-ecr-cache run against the Docker daemon (registry-provider
#           local), a new cache-key each run so that each one builds
#
# Each is timed by /usr/bin/time -v (wall time and peak RSS), warm (after
# one untimed run), REPS times; the table gives the medians. The label
# table is bench/labelsize's. Needs a Docker daemon at DOCKER_HOST for
# the miss (eval "$(scripts/docker-up.sh)"); without one the miss is left
# out.
#
# Usage: bench/inputs.sh      Environment: REPS (default 5), FILES (default
# 100000), KEEP=1 keeps the temporary directory.
set -euo pipefail
export LC_ALL=C

reps=${REPS:-5}
files=${FILES:-100000}

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
. "$src/bench/report.sh"
bench_need inputs.sh go find xargs awk /usr/bin/time
bench_workdir inputs

echo "building..." >&2
(cd "$src" && go build -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache && go build -o "$work/labelsize" ./bench/labelsize)
bin=$work/docker-ecr-cache

echo "writing $files files..." >&2
repo=$work/repo
mkdir -p "$repo/image"
cd "$repo"
for ((d = 0; d < 10; d++)); do
	mkdir -p "$(printf 'src/d%02d/sub' "$d")"
done
awk -v n="$files" 'BEGIN {
	for (i = 0; i < n; i++) {
		f = sprintf("src/d%02d/sub/f%06d.txt", i % 10, i)
		printf "file %d\n", i > f
		close(f)
	}
}'
cp /bin/busybox image/busybox 2>/dev/null || true
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n' >image/Dockerfile

floor() {
	find src -name '*.txt' -print0 | xargs -0 cat >/dev/null
}
key() {
	env -i PATH="$PATH" HOME="$work" "$bin" key --platform linux/amd64 --dockerfile image/Dockerfile \
		--cache-on 'src/**/*.txt' >/dev/null
}
run=0
miss() {
	run=$((run + 1))
	env -i PATH="$PATH" HOME="$work" DOCKER_HOST="${DOCKER_HOST:-}" DOCKER_CONFIG="$work/docker" \
		DOCKER_ECR_CACHE_REGISTRY_PROVIDER=local DOCKER_ECR_CACHE_ECR_NAME=build-cache/bench-inputs \
		DOCKER_ECR_CACHE_LOCK_DIR="$work/locks" DOCKER_ECR_CACHE_DOCKERFILE=image/Dockerfile \
		DOCKER_ECR_CACHE_CONTEXT=image DOCKER_ECR_CACHE_CACHE_ON='src/**/*.txt' \
		DOCKER_ECR_CACHE_CACHE_KEY="bench-$$-$run" "$bin" >"$work/miss.out" 2>"$work/miss.err"
}

methods=(floor key)
if [[ -f image/busybox ]] && docker version >/dev/null 2>&1; then
	methods+=(miss)
else
	echo "note: no Docker daemon (or no /bin/busybox): the miss is left out" >&2
fi

# timed METHOD: runs METHOD under /usr/bin/time -v, appending "seconds KiB"
# to results[METHOD].
declare -A secs=() rss=()
timed() {
	local out
	out=$(
		export -f "${1?}"
		export bin work run
		/usr/bin/time -v bash -c "$1" 2>&1 >/dev/null
	) || {
		echo "$1 failed:" >&2
		echo "$out" >&2
		[[ $1 == miss ]] && cat "$work/miss.err" >&2
		exit 1
	}
	secs[$1]+="$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' <<<"$out") "
	rss[$1]+="$(awk -F': ' '/Maximum resident set size/ { print $2 }' <<<"$out") "
}

echo "warming up..." >&2
for m in "${methods[@]}"; do
	timed "$m"
	run=$((run + 1))
done
secs=() rss=()
for ((i = 1; i <= reps; i++)); do
	echo "round $i..." >&2
	for m in "${methods[@]}"; do
		timed "$m"
		run=$((run + 1))
	done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
floor_s=$(median <<<"${secs[floor]}")

{
	echo "$files cache-on files in 10 directories (src/dNN/sub/fNNNNNN.txt, 12 bytes each), warm page cache, medians of $reps runs:"
	echo
	echo "| what | wall time | peak RSS | vs floor |"
	echo "|---|---:|---:|---:|"
	declare -A label=([floor]="floor: find | xargs cat" [key]="docker-ecr-cache key" [miss]="docker-ecr-cache run, a miss (build, local provider)")
	for m in "${methods[@]}"; do
		s=$(median <<<"${secs[$m]}")
		r=$(median <<<"${rss[$m]}")
		awk -v l="${label[$m]}" -v s="$s" -v r="$r" -v f="$floor_s" 'BEGIN { printf "| %s | %.2f s | %.0f MB | %.2fx |\n", l, s, r / 1024, s / f }'
	done
	if [[ " ${methods[*]} " == *" miss "* ]]; then
		ref=$(grep -o 'build-cache/bench-inputs:[0-9a-f]*' "$work/miss.err" | tail -1)
		size=$(docker image inspect --format '{{index .Config.Labels "org.docker-ecr-cache.inputs"}}' "$ref" | tr -d '\n' | wc -c)
		lines=$(wc -l <"$work/miss.err")
		echo
		echo "The last miss: inputs label $size bytes; $lines lines of log, of which the key step:"
		echo
		echo '```'
		sed -n '/^==> Computing/,/^key /p; /cache miss: no image/p' "$work/miss.err" | sed 's/\x1b\[[0-9;]*m//g'
		echo '```'
		docker image ls --format '{{.Repository}}:{{.Tag}}' build-cache/bench-inputs | xargs -r docker image rm >/dev/null 2>&1 || true
	fi
	echo
	echo "The inputs label against the number of files (bench/labelsize):"
	echo
	"$work/labelsize" 10 50 51 1000 7004 10000 100000 "$files" | awk '!seen[$0]++'
} >"$work/table.md"
echo
cat "$work/table.md"
