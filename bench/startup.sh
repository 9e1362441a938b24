#!/usr/bin/env bash
# Times the process start (wall and CPU time): `docker-ecr-cache version` against baselines
# measured in the same run (/bin/true, a Go program that prints one line,
# and the docker CLI's own `docker --version`), then the package
# initialisation that GODEBUG=inittrace=1 reports: the sum, the standard
# library's share, and the heaviest packages.
#   bench/startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. bench/report.sh
runs=${1:-41}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/docker-ecr-cache" ./cmd/docker-ecr-cache
mkdir "$work/hello"
printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("dev\\n") }\n' >"$work/hello/main.go"
printf 'module hello\n\ngo 1.22\n' >"$work/hello/go.mod"
(cd "$work/hello" && GOFLAGS='' GOWORK=off go build -o "$work/hello-go" .)

# measure CMD...: runs CMD $runs times and prints the medians of its wall
# time and of its CPU time (user + system) in ms. The CPU time moves less
# when other work shares the machine.
measure() {
  local start end
  : >"$work/wall"
  : >"$work/cpu"
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>&1; } 2>>"$work/cpu"
    end=$(date +%s%N)
    echo $(((end - start) / 1000)) >>"$work/wall"
  done
  printf '%s %s\n' "$(sort -n "$work/wall" | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}')" \
    "$(awk '{print ($1 + $2) * 1000}' "$work/cpu" | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}')"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
base=
row() { # row LABEL CMD...: one line of the table, the ratio against the first row's wall time
  local label=$1 wall cpu
  shift
  read -r wall cpu < <(measure "$@")
  base=${base:-$wall}
  printf '%-40s %8s ms %5s ms %8s\n' "$label" "$wall" "$cpu" "$(ratio "$wall" "$base")"
}

{
  printf '%-40s %11s %8s %8s\n' "process start ($runs runs, medians)" "wall" "cpu" "ratio"
  row "/bin/true (baseline)" /bin/true
  row "a Go program printing one line" "$work/hello-go"
  if command -v docker >/dev/null; then
    row "docker --version (the CLI's start)" docker --version
  fi
  row "docker-ecr-cache version" "$work/docker-ecr-cache" version

  # Package initialisation: per run, the sum of the clock times; per
  # package, the median over the runs (a busy machine makes means noisy).
  for i in $(seq "$runs"); do
    GODEBUG=inittrace=1 "$work/docker-ecr-cache" version 2>&1 >/dev/null | awk -v run="$i" '$1 == "init" {print run, $2, $5, $8}'
  done >"$work/inits"
  echo
  echo "package initialisation (GODEBUG=inittrace=1, $runs runs, $(awk '$1 == 1' "$work/inits" | wc -l) packages)"
  awk '
    { sum[$1] += $3; if ($2 !~ /^[^\/]*\./) stdsum[$1] += $3 }
    END { for (r in sum) print sum[r], stdsum[r] + 0 }' "$work/inits" | sort -n |
    awk '{s[NR]=$1; t[NR]=$2} END {m=int((NR+1)/2); printf "  summed, median of the runs: %.1f ms (standard library: %.1f ms)\n", s[m], t[m]}'
  awk '{print $2, $3, $4}' "$work/inits" | sort -k1,1 -k2,2n |
    awk '
      $1 != p { if (p != "") print v[int((n+1)/2)], b, p; p = $1; n = 0 }
      { v[++n] = $2; b = $3 }
      END { print v[int((n+1)/2)], b, p }' | sort -rn >"$work/medians"
  awk '{s += $1; if ($3 !~ /^[^\/]*\./) t += $1} END {printf "  sum of the packages'"'"' medians: %.1f ms (standard library: %.1f ms), less sensitive to a busy machine\n", s, t}' "$work/medians"
  echo "  the heaviest, median ms and bytes allocated:"
  head -15 "$work/medians" | awk '{printf "  %6.2f ms %9d B  %s\n", $1, $2, $3}'
} >"$work/report"
cat "$work/report"
fence='```'
printf '%stext\n%s\n%s\n' "$fence" "$(cat "$work/report")" "$fence" | bench_report startup "bench/startup.sh $runs"
