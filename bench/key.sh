#!/usr/bin/env bash
# bench/key.sh: times the cache key of a synthetic monorepo three ways, in
# one run, and prints the medians.
#
#   original  the bash plugin's algorithm: shopt -s globstar, expand each
#             cache-on glob, run sha1sum once per file, sha1sum the lot
#   floor     reading the same files and nothing else:
#             find . -name package.json -not -path '*/.*' -print0 | xargs -0 cat yarn.lock
#   ours      engine.ComputeKey, through `docker-ecr-cache key` when the
#             command has it, and through bench/keytime (the engine alone)
#
# "vs floor" is the median time over the floor's (lower is better);
# "speed-up vs original" is the original's median time over this one's.
#
# The monorepo (bench/monorepo) has 45,000 files: 5,000 package.json of
# about 900 bytes, a 1 MiB yarn.lock, sources, and a .git directory;
# cache-on is **/package.json and yarn.lock. The floor and ours run once to warm
# the page cache, then the methods take turns, so that load from elsewhere
# falls on all of them alike. Expect about a minute on an idle 2-CPU machine,
# most of it the original's thousands of sha1sum processes.
#
# Usage: bench/key.sh            (from anywhere in the repository)
# Environment: REPS (default 7) runs of floor and ours, ORIG_REPS (default 3)
# runs of the original, KEEP=1 keeps the temporary directory.
set -euo pipefail
export LC_ALL=C

reps=${REPS:-7}
orig_reps=${ORIG_REPS:-3}

if ((BASH_VERSINFO[0] < 5)); then
	echo "key.sh: needs bash 5 or later (for EPOCHREALTIME)" >&2
	exit 2
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
. "$src/bench/report.sh"
bench_need key.sh go sha1sum find xargs awk
bench_workdir key

echo "building..." >&2
(
	cd "$src"
	go build -o "$work/genrepo" ./bench/genrepo
	go build -o "$work/keytime" ./bench/keytime
)
cli=""
if (cd "$src" && go build -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache) 2>/dev/null; then
	cli=$work/docker-ecr-cache
fi

echo "generating the monorepo..." >&2
repo=$work/repo
"$work/genrepo" "$repo" >&2
cd "$repo"

# The original plugin's compute_tag, for this cache-on list: a sha1sum
# process per file, the sums concatenated, then hashed.
original() {
	local sums file glob
	sums="$(sha1sum <Dockerfile)"
	sums+="$(echo "" | sha1sum)"
	sums+="$(uname -m | sha1sum)"
	shopt -s globstar
	for glob in '**/package.json' yarn.lock; do
		echo "$glob" >&2
		# The glob is meant to expand: that is the algorithm.
		# shellcheck disable=SC2086
		for file in $glob; do
			echo "+ ${file}" >&2
			sums+="$(sha1sum "${file}")"
		done
	done
	shopt -u globstar
	echo "${sums}" | sha1sum | cut -c-7
}

floor() {
	find . -name package.json -not -path '*/.*' -print0 | xargs -0 cat yarn.lock >/dev/null
}

keytime() {
	"$work/keytime" .
}

cli_key() {
	env -i PATH="$PATH" HOME="${HOME:-/}" "$cli" key --platform linux/amd64 --dockerfile Dockerfile \
		--cache-on '**/package.json' --cache-on yarn.lock
}

methods=(original floor keytime)
declare -A label=(
	[original]="original (bash, sha1sum per file)"
	[floor]="floor (find, xargs cat)"
	[keytime]="ours: engine.ComputeKey (keytime)"
	[cli_key]="ours: docker-ecr-cache key"
)

want=$(keytime)
if [[ -n $cli ]]; then
	out=$(cli_key 2>/dev/null) || true
	got=${out%%$'\n'*}
	if [[ $got == "$want" ]]; then
		methods+=(cli_key)
	else
		echo "note: docker-ecr-cache has no working key subcommand here (got '${got:-}'): timing keytime only" >&2
	fi
fi
nfiles=$( (
	shopt -s globstar
	# shellcheck disable=SC2206
	f=(**/package.json yarn.lock)
	echo "${#f[@]}"
))

# run METHOD: times one run of METHOD, appending milliseconds to times[METHOD].
declare -A times=()
run() {
	local start end
	start=${EPOCHREALTIME/./}
	"$1" >/dev/null 2>&1
	end=${EPOCHREALTIME/./}
	times[$1]+="$(((end - start) / 1000)) "
}

# The original is left out of the warm-up: it takes seconds, and reads the
# same files as the floor.
echo "warming up..." >&2
for m in "${methods[@]}"; do
	[[ $m == original ]] || "$m" >/dev/null 2>&1
done
times=()
for ((i = 1; i <= reps || i <= orig_reps; i++)); do
	echo "round $i..." >&2
	for m in "${methods[@]}"; do
		if [[ $m == original ]]; then
			((i <= orig_reps)) || continue
		elif ((i > reps)); then
			continue
		fi
		run "$m"
	done
done

# stats METHOD: prints "median min max runs" in milliseconds.
stats() {
	tr ' ' '\n' <<<"${times[$1]}" | grep . | sort -n | awk '{ v[NR] = $1 } END {
		n = NR
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print m, v[1], v[n], n
	}'
}

read -r floor_ms _ <<<"$(stats floor)"
read -r orig_ms _ <<<"$(stats original)"

# table: the figures as a markdown table.
table() {
echo "cache key of a synthetic monorepo: 45,000 files; cache-on \`**/package.json\` + \`yarn.lock\` = $nfiles files hashed;"
echo "medians of $reps runs ($orig_reps for the original):"
echo
printf '| %-36s | %4s | %9s | %18s | %8s | %20s |\n' method runs median "min - max" "vs floor" "speed-up vs original"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" ------ ----------: -------------------: ---------: ---------------------:
for m in "${methods[@]}"; do
	read -r med lo hi n <<<"$(stats "$m")"
	awk -v l="${label[$m]}" -v n="$n" -v med="$med" -v lo="$lo" -v hi="$hi" -v f="$floor_ms" -v o="$orig_ms" 'BEGIN {
		printf "| %-36s | %4d | %6.0f ms | %6.0f - %6.0f ms | %7.2fx | %19.1fx |\n", l, n, med, lo, hi, med / f, o / med
	}'
done
}
table >"$work/table.md"
echo
cat "$work/table.md"
bench_report key "REPS=$reps ORIG_REPS=$orig_reps bench/key.sh" <"$work/table.md"
ours=keytime
[[ " ${methods[*]} " == *" cli_key "* ]] && ours=cli_key
bench_result key key "bash plugin" "$orig_ms"
read -r ours_med _ <<<"$(stats "$ours")"
bench_result key key "docker-ecr-cache" "$ours_med"

read -r ours_ms _ <<<"$(stats keytime)"
echo
awk -v o="$ours_ms" -v f="$floor_ms" 'BEGIN {
	r = o / f
	printf "ours (engine) / floor = %.2fx: %s the 1.5x target\n", r, r <= 1.5 ? "within" : "OUTSIDE"
}'
