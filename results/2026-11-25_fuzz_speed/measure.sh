#!/usr/bin/env bash
# results/2026-11-25_fuzz_speed/measure.sh — exec/s of the zone-driving fuzz
# targets, two builds back to back (before / after), so both see the same
# machine load.
#
#   [TARGETS="ops trace"] measure.sh BEFORE_DIR AFTER_DIR ENGINE SECONDS [per-backend]  >> rows.csv
#
# *_DIR hold <target>_fuzzer binaries (build/fuzz/fuzz or build/fuzz-afl/fuzz
# of the two commits). ENGINE is libfuzzer or afl. Each run starts from an
# empty work dir plus corpora/<target> (read only), libFuzzer with -seed=1.
# Prints CSV: target,backends,engine,build,seconds,execs,exec_per_s,cpu_s,
# execs_per_cpu_s,stability. cpu_s is user+sys of the whole run: on a shared
# machine execs per CPU-second moves less with the load than exec/s does
# (libFuzzer only: for AFL++ /usr/bin/time misses most of the target's CPU).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
before=$1 after=$2 engine=$3 secs=$4 mode=${5:-targets}
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
work=${TMPDIR:-/tmp}/mallet-fuzz-speed.$$
mkdir -p "$work"

run() { # build_label bin target backends
  local label=$1 bin=$2 t=$3 be=$4
  local d="$work/$label-$t-$be" max_len
  max_len=$(sed -n 's/^max_len *= *//p' "$root/fuzz/$t.options"); max_len=${max_len:-4096}
  rm -rf "$d"; mkdir -p "$d/corpus"
  local envs=(); [ "$be" = all ] || envs=(MALLET_FUZZ_BACKENDS="$be")
  local execs stab=- t0 t1 cpu
  t0=$(date +%s.%N)
  if [ "$engine" = libfuzzer ]; then
    env "${envs[@]}" /usr/bin/time -f '%U %S' -o "$d/time" nice -n 10 "$bin" -seed=1 -max_total_time="$secs" \
      -max_len="$max_len" -timeout=25 -rss_limit_mb=4096 -dict="$root/fuzz/$t.dict" -print_final_stats=1 \
      -artifact_prefix="$d/" "$d/corpus" "$root/corpora/$t" >"$d/log" 2>&1
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$d/log" | grep -oE '[0-9]+$' | tail -1)
  else
    env "${envs[@]}" /usr/bin/time -f '%U %S' -o "$d/time" nice -n 10 afl-fuzz -i "$root/corpora/$t" -o "$d/out" \
      -V "$secs" -t 5000 -m none -x "$root/fuzz/$t.dict" -- "$bin" >"$d/log" 2>&1
    execs=$(sed -n 's/^execs_done *: *//p' "$d/out/default/fuzzer_stats" 2>/dev/null)
    stab=$(sed -n 's/^stability *: *//p' "$d/out/default/fuzzer_stats" 2>/dev/null)
  fi
  t1=$(date +%s.%N)
  cpu=$(awk '{print $1 + $2}' "$d/time" 2>/dev/null | tail -1)
  local wall; wall=$(echo "$t1 - $t0" | bc)
  printf '%s,%s,%s,%s,%.1f,%s,%.0f,%.1f,%.0f,%s\n' "$t" "$be" "$engine" "$label" "$wall" "${execs:-0}" \
    "$(echo "${execs:-0} / $wall" | bc -l)" "${cpu:-0}" "$(echo "${execs:-0} / (${cpu:-0} + 0.01)" | bc -l)" "$stab"
  grep -q 'mallet-fuzz: FAILED\|ERROR: AddressSanitizer' "$d/log" && echo "# $label $t $be: CRASH, see $d/log" >&2
}

if [ "$mode" = per-backend ]; then
  for be in sys nano scalable ptmalloc je mi tc; do
    run before "$before/ops_fuzzer" ops "$be"
    run after "$after/ops_fuzzer" ops "$be"
  done
else
  for t in ${TARGETS:-ops misuse diff trace}; do
    run before "$before/${t}_fuzzer" "$t" all
    run after "$after/${t}_fuzzer" "$t" all
  done
fi
rm -rf "$work"
