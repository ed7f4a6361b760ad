#!/usr/bin/env bash
# fuzz/run.sh — run one fuzz target with libFuzzer or AFL++; what
# `mallet fuzz` execs (harness/cli/cmd_fuzz.c).
#
#   fuzz/run.sh TARGET [--engine libfuzzer|afl] [--seconds N] [--jobs N]
#                      [--reproduce FILE] [--minimize FILE] [--build]
#
# Binaries: build/fuzz/fuzz/TARGET_fuzzer (preset `fuzz`, libFuzzer+ASan/UBSan)
# and build/fuzz-afl/fuzz/TARGET_fuzzer (preset `fuzz-afl`); a missing one
# is built (or always with --build). Seeds come from corpora/TARGET/; new
# inputs and crashes go to build/fuzz-work/TARGET/ (never into corpora/:
# add a seed there only after minimizing it, named by its sha1).
# Exit status: 0 no crash, 1 crash found (the file is printed), 2 usage.
# Prints "TARGET ENGINE: N execs in S s (R exec/s)" at the end.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
target=$1; shift
engine=libfuzzer seconds=60 jobs=1 reproduce="" minimize="" build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --reproduce) reproduce=$2; shift 2 ;;
    --minimize) minimize=$2; shift 2 ;;
    --build) build=1; shift ;;
    -h|--help) usage ;;
    *) echo "fuzz/run.sh: unknown option '$1'" >&2; usage ;;
  esac
done
case "$target" in -*|"") usage ;; esac
[ -f "$root/fuzz/${target}_fuzzer.c" ] || { echo "fuzz/run.sh: no target '$target' (fuzz/${target}_fuzzer.c)" >&2; exit 2; }
case "$engine" in
  libfuzzer) preset=fuzz ;;
  afl) preset=fuzz-afl ;;
  *) echo "fuzz/run.sh: --engine must be libfuzzer or afl" >&2; exit 2 ;;
esac
bin="$root/build/$preset/fuzz/${target}_fuzzer"
if [ "$build" -eq 1 ] || [ ! -x "$bin" ]; then
  (cd "$root" && cmake --preset "$preset" >/dev/null && cmake --build "build/$preset" -j2 --target "${target}_fuzzer" >/dev/null) ||
    { echo "fuzz/run.sh: building $target for $engine failed" >&2; exit 2; }
fi

# jemalloc needs more static TLS than glibc keeps for dlopen(); setting it
# here avoids mallet's start-up re-exec, which fuzzing engines dislike.
export GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.rtld.optional_static_tls=16384
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
seeds="$root/corpora/$target"
dict="$root/fuzz/$target.dict"
max_len=$(sed -n 's/^max_len *= *//p' "$root/fuzz/$target.options" 2>/dev/null); max_len=${max_len:-4096}
work="$root/build/fuzz-work/$target"
mkdir -p "$work"

if [ -n "$reproduce" ]; then
  "$bin" "$reproduce"
  rc=$?
  [ $rc -eq 0 ] && echo "$target: $reproduce does not crash" || echo "$target: $reproduce crashes (exit $rc)"
  [ $rc -eq 0 ]; exit $?
fi
if [ -n "$minimize" ]; then
  out="$minimize.min"
  if [ "$engine" = libfuzzer ]; then
    "$bin" -minimize_crash=1 -max_total_time="$seconds" -exact_artifact_path="$out" "$minimize" >"$work/minimize.log" 2>&1
  else
    afl-tmin -i "$minimize" -o "$out" -- "$bin" >"$work/minimize.log" 2>&1
  fi
  [ -s "$out" ] || { echo "$target: minimizing failed (does $minimize crash?), see $work/minimize.log" >&2; exit 1; }
  echo "$target: minimized $(stat -c %s "$minimize") -> $(stat -c %s "$out") bytes: $out (sha1 $(sha1sum <"$out" | cut -c1-40))"
  exit 0
fi

start=$(date +%s)
if [ "$engine" = libfuzzer ]; then
  corpus="$work/corpus"; mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=25 -rss_limit_mb=4096
        -print_final_stats=1 -artifact_prefix="$work/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  [ "$jobs" -gt 1 ] && args+=(-fork="$jobs" -ignore_crashes=0)
  log="$work/libfuzzer.log"
  "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
else
  out="$work/afl"; rm -rf "$out"
  in="$seeds"; [ -n "$(ls -A "$in" 2>/dev/null)" ] || { in="$work/afl-in"; mkdir -p "$in"; printf '\0\0\0\0' >"$in/zero"; }
  args=(-i "$in" -o "$out" -V "$seconds" -t 5000 -m none)
  [ -f "$dict" ] && args+=(-x "$dict")
  log="$work/afl.log"
  pids=()
  for ((j = 1; j < jobs; j++)); do
    afl-fuzz "${args[@]}" -S "s$j" -- "$bin" >"$work/afl-s$j.log" 2>&1 &
    pids+=($!)
  done
  afl-fuzz "${args[@]}" -M main -- "$bin" >"$log" 2>&1
  rc=$?
  for p in "${pids[@]}"; do wait "$p"; done
  runs=0
  for s in "$out"/*/fuzzer_stats; do
    [ -f "$s" ] && runs=$((runs + $(sed -n 's/^execs_done *: *//p' "$s")))
  done
  crash=$(ls "$out"/*/crashes/id:* 2>/dev/null | head -1)
  if [ -z "$crash" ] && [ $rc -ne 0 ]; then
    tail -n 20 "$log" >&2
    echo "$target afl: afl-fuzz failed (exit $rc), log $log" >&2
    exit 1
  fi
  rc=0
fi
secs=$(( $(date +%s) - start )); [ "$secs" -gt 0 ] || secs=1
echo "$target $engine: ${runs:-0} execs in ${secs} s ($(( ${runs:-0} / secs )) exec/s)"
if [ -n "${crash:-}" ] || [ "$rc" -ne 0 ]; then
  grep -E 'mallet-fuzz: FAILED|ERROR: |SUMMARY' "$log" 2>/dev/null | head -5 >&2
  echo "$target $engine: CRASH ${crash:-(see $log)}; reproduce: fuzz/run.sh $target --engine $engine --reproduce ${crash:-FILE}" >&2
  exit 1
fi
exit 0
