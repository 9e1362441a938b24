#!/usr/bin/env bash
# Times the process start: `docker-ecr-cache version` against baselines
# measured in the same run (/bin/true, a Go program that prints one line,
# and the docker CLI's own `docker --version`), then the package
# initialisation that GODEBUG=inittrace=1 reports: the sum, the standard
# library's share, and the heaviest packages.
#   bench/startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-41}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache
mkdir "$work/hello"
printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("dev\\n") }\n' >"$work/hello/main.go"
printf 'module hello\n\ngo 1.22\n' >"$work/hello/go.mod"
(cd "$work/hello" && GOFLAGS='' GOWORK=off go build -o "$work/hello-go" .)

# median_ms CMD...: runs CMD $runs times and prints the median in ms.
median_ms() {
  local times=() start end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

true_ms=$(median_ms /bin/true)
hello_ms=$(median_ms "$work/hello-go")
ours_ms=$(median_ms "$work/docker-ecr-cache" version)
printf '%-44s %10s %8s\n' "process start ($runs runs)" "median" "ratio"
printf '%-44s %8s ms %8s\n' "/bin/true (baseline)" "$true_ms" "1.00"
printf '%-44s %8s ms %8s\n' "a Go program printing one line" "$hello_ms" "$(ratio "$hello_ms" "$true_ms")"
if command -v docker >/dev/null; then
  cli_ms=$(median_ms docker --version)
  printf '%-44s %8s ms %8s\n' "docker --version (the CLI's start)" "$cli_ms" "$(ratio "$cli_ms" "$true_ms")"
fi
printf '%-44s %8s ms %8s\n' "docker-ecr-cache version" "$ours_ms" "$(ratio "$ours_ms" "$true_ms")"

# Package initialisation: per run, the sum of the clock times; per
# package, the mean over the runs.
for i in $(seq "$runs"); do
  GODEBUG=inittrace=1 "$work/docker-ecr-cache" version 2>&1 >/dev/null | awk -v run="$i" '$1 == "init" {print run, $2, $5, $8}'
done >"$work/inits"
echo
echo "package initialisation (GODEBUG=inittrace=1, $runs runs, $(awk '$1 == 1' "$work/inits" | wc -l) packages)"
awk '
  { sum[$1] += $3; std = ($2 !~ /^[^\/]*\./); if (std) stdsum[$1] += $3 }
  END { for (r in sum) print sum[r], stdsum[r] + 0 }' "$work/inits" | sort -n |
  awk '{s[NR]=$1; t[NR]=$2} END {m=int((NR+1)/2); printf "  summed, median of the runs: %.1f ms (standard library: %.1f ms)\n", s[m], t[m]}'
awk -v runs="$runs" '{ms[$2] += $3; bytes[$2] = $4} END {for (p in ms) printf "%.2f %d %s\n", ms[p]/runs, bytes[p], p}' "$work/inits" |
  sort -rn | head -15 | awk '{printf "  %6.2f ms %9d B  %s\n", $1, $2, $3}'
