#!/usr/bin/env bash
# tests/run.sh — set up and run every mallet test. This is the README's
# test command and exactly what CI runs (.ci/run).
#
#   1. install missing Debian packages (cmake/setup.sh)
#   2. build and run ctest in three configurations:
#        release     every label (unit, preload, stress, fuzz-regress, bench-smoke)
#        asan-ubsan  all but preload, bench-smoke, no-asan
#        tsan        all but preload, bench-smoke, fuzz-regress, no-tsan
#   3. run every tests/stages/NN-*.sh (fuzz engine smoke runs, ...)
#   4. print one closing line "N passed, N failed, N skipped" and exit
#      non-zero if anything failed.
#
# Options: --only PRESET[,PRESET] limits step 2; --no-stages skips step 3.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
presets="release,asan-ubsan,tsan"
run_stages=1
while [ $# -gt 0 ]; do
  case "$1" in
    --only) presets="$2"; shift 2 ;;
    --no-stages) run_stages=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "tests/run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

bash "$root/cmake/setup.sh" || { echo "tests/run.sh: set-up failed" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
total_pass=0 total_fail=0 total_skip=0
failed_steps=()
logdir="$root/build/test-logs"
mkdir -p "$logdir"

# Adds the counts from a ctest log to the totals.
count_ctest() {
  local log=$1 line passed failed all skipped
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "tests/run.sh: no ctest summary in $log" >&2
    total_fail=$((total_fail + 1)); return
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
  all=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  skipped=$(grep -c '(Skipped)' "$log" || true)
  passed=$((all - failed - skipped))
  total_pass=$((total_pass + passed)); total_fail=$((total_fail + failed)); total_skip=$((total_skip + skipped))
}

IFS=',' read -r -a preset_list <<<"$presets"
for preset in "${preset_list[@]}"; do
  echo "=== [$preset] configure and build"
  if ! cmake --preset "$preset" -DMALLET_WERROR=ON >"$logdir/$preset-configure.log" 2>&1; then
    cat "$logdir/$preset-configure.log"; failed_steps+=("$preset:configure"); total_fail=$((total_fail + 1)); continue
  fi
  grep -E 'WARNING|mallet:' "$logdir/$preset-configure.log" || true
  if ! cmake --build --preset "$preset" -j "$jobs" >"$logdir/$preset-build.log" 2>&1; then
    tail -n 60 "$logdir/$preset-build.log"; failed_steps+=("$preset:build"); total_fail=$((total_fail + 1)); continue
  fi
  echo "=== [$preset] ctest"
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$logdir/$preset-ctest.log"
  rc=${PIPESTATUS[0]}
  count_ctest "$logdir/$preset-ctest.log"
  [ "$rc" -eq 0 ] || failed_steps+=("$preset:ctest")
done

if [ "$run_stages" -eq 1 ]; then
  export MALLET_ROOT="$root"
  export MALLET_BUILD_RELEASE="$root/build/release" MALLET_BUILD_ASAN="$root/build/asan-ubsan" MALLET_BUILD_TSAN="$root/build/tsan"
  for stage in "$root"/tests/stages/[0-9][0-9]-*.sh; do
    [ -e "$stage" ] || continue
    name=$(basename "$stage" .sh)
    echo "=== [stage $name]"
    bash "$stage" 2>&1 | tee "$logdir/stage-$name.log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$logdir/stage-$name.log" | tail -1)
    if [ -n "$line" ]; then
      p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
      f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
      s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
      total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
    fi
    if [ "$rc" -ne 0 ]; then
      failed_steps+=("stage:$name")
      [ -n "$line" ] && [ "$f" -gt 0 ] || total_fail=$((total_fail + 1))
    fi
  done
fi

echo
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed_steps[*]} (logs in $logdir)"
fi
echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
[ ${#failed_steps[@]} -eq 0 ] && [ "$total_fail" -eq 0 ]
