# shellcheck shell=bash
# Sourced by the bench scripts: they write their figures into
# docs/performance.md, and the chart's input into bench/results/.
#
#   bench_report NAME COMMAND   markdown on stdin replaces what lies between
#                               <!-- bench:NAME --> and <!-- /bench:NAME -->
#                               in docs/performance.md, after a line giving
#                               the date, the machine, its load and COMMAND
#   bench_need SCRIPT TOOL...  exits 2 naming the first TOOL not installed
#   bench_workdir SCRIPT        sets work to a new temporary directory,
#                               removed at exit unless KEEP=1
#   bench_result NAME GROUP LABEL MS
#                               one figure for bench/chart, in
#                               bench/results/NAME.tsv (the first call of a
#                               run starts the file afresh)

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_machine: the date, cores, CPU model and load average, on one line.
bench_machine() {
  local model
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  printf '%s on %s cores (%s), load average %s' "$(date -u +'%Y-%m-%d %H:%M UTC')" "$(nproc)" "${model:-unknown CPU}" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_report() {
  local name=$1 command=$2 doc="$bench_root/docs/performance.md" body
  # The backticks are markdown.
  # shellcheck disable=SC2016
  body="$(printf 'Measured %s, by `%s`:\n\n' "$(bench_machine)" "$command"; cat)"
  BODY="$body" NAME="$name" python3 - "$doc" <<'PY'
import os, re, sys
path = sys.argv[1]
name, body = os.environ["NAME"], os.environ["BODY"].strip("\n")
text = open(path).read()
begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
if begin not in text or end not in text:
    sys.exit(f"{path} has no {begin} … {end} section")
i, j = text.index(begin) + len(begin), text.index(end)
open(path, "w").write(text[:i] + "\n" + body + "\n" + text[j:])
PY
  echo "wrote the $name figures into docs/performance.md" >&2
}

declare -A bench_started=()
bench_result() {
  local name=$1 group=$2 label=$3 ms=$4 file="$bench_root/bench/results/$1.tsv"
  mkdir -p "$bench_root/bench/results"
  if [[ -z ${bench_started[$name]:-} ]]; then
    printf '# %s\n# group\tlabel\tmilliseconds\n' "$(bench_machine)" >"$file"
    bench_started[$name]=1
  fi
  printf '%s\t%s\t%s\n' "$group" "$label" "$ms" >>"$file"
}

bench_need() {
  local script=$1 tool
  shift
  for tool; do
    command -v "$tool" >/dev/null || {
      echo "$script: $tool is not installed" >&2
      exit 2
    }
  done
}

bench_workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1-bench.XXXXXX")
  trap bench_cleanup EXIT
}

bench_cleanup() {
  if [[ ${KEEP:-} == 1 ]]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
}
