#!/usr/bin/env bash
# tests/stages/50-fuzz.sh — fuzzing smoke stage (run by tests/run.sh).
#
#   1. configure + build the `fuzz` (libFuzzer, ASan/UBSan) and `fuzz-afl`
#      (afl-clang-fast) presets, fuzz targets only (-j2);
#   2. replay every corpus with the libFuzzer binaries (ctest -L fuzz-regress);
#   3. run each target ~12 s with libFuzzer and ~8 s with AFL++;
#   4. seeded-bug demos: the misuse checker on the toy zone with its
#      double-free check removed (MALLET_TOY_WEAK=1), and on a real backend
#      built with one check compiled out (MALLET_SEEDED_BUG, default
#      pt_tcache_df, a separate small build of misuse_fuzzer only), must
#      crash within 60 s; the real one's crash input must pass on the
#      normal build.
# Prints "fuzz: N passed, N failed" and exits non-zero on any crash or
# build failure. Env: FUZZ_SECONDS, AFL_SECONDS, FUZZ_SKIP_AFL=1,
# FUZZ_SEEDED_BUG (a name from cmake/MalletSeededBug.cmake, or "none").
set -uo pipefail

root=${MALLET_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root" || exit 1
lf_secs=${FUZZ_SECONDS:-12}
afl_secs=${AFL_SECONDS:-8}
targets=(ops misuse diff options trace sizespec)
pass=0 fail=0
logdir="$root/build/test-logs"; mkdir -p "$logdir"
ok() { pass=$((pass + 1)); echo "  ok    $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL  $*"; }
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1

build() { # preset
  local p=$1 tg=()
  for t in "${targets[@]}" misuse_toy; do tg+=("${t}_fuzzer"); done
  if cmake --preset "$p" >"$logdir/fuzz-$p-configure.log" 2>&1 &&
     cmake --build "build/$p" -j2 --target "${tg[@]}" >"$logdir/fuzz-$p-build.log" 2>&1; then
    ok "build $p"; return 0
  fi
  tail -n 30 "$logdir/fuzz-$p-build.log" "$logdir/fuzz-$p-configure.log" 2>/dev/null
  bad "build $p (logs in $logdir)"; return 1
}

# A seeded bug in a real backend (fuzz/seeded_bugs.sh does all of them).
# It has to be compiled in (never a run-time switch for real backends), so
# this is its own build dir with only misuse_fuzzer.
seeded_real_backend() {
  local bug=${FUZZ_SEEDED_BUG:-pt_tcache_df} be
  case "$bug" in
    none) echo "  skip  seeded bug in a real backend (FUZZ_SEEDED_BUG=none)"; return ;;
    pt_*) be=ptmalloc ;; sz_*) be=scalable ;; nano_*) be=nano ;;
    *) bad "FUZZ_SEEDED_BUG=$bug: unknown"; return ;;
  esac
  local dir="build/fuzz-seeded-$bug" demo="build/fuzz-work/seeded-ci" start secs crash
  start=$(date +%s)
  if ! { cmake --preset fuzz -B "$dir" -DMALLET_SEEDED_BUG="$bug" -DMALLET_BUILD_TESTS=OFF &&
         cmake --build "$dir" -j2 --target misuse_fuzzer; } >"$logdir/fuzz-seeded-$bug-build.log" 2>&1; then
    tail -n 20 "$logdir/fuzz-seeded-$bug-build.log"; bad "build with seeded bug $bug"; return
  fi
  rm -rf "$demo"; mkdir -p "$demo/corpus"
  MALLET_FUZZ_BACKENDS=$be "$dir/fuzz/misuse_fuzzer" -max_total_time=60 -max_len=2048 -dict=fuzz/misuse.dict \
    -artifact_prefix="$demo/" "$demo/corpus" >"$demo/log" 2>&1
  secs=$(( $(date +%s) - start ))
  crash=$(ls "$demo"/crash-* 2>/dev/null | head -1)
  if ! grep -q "seeded bug '$bug'" "$demo/log"; then
    bad "seeded bug $bug: the binary does not announce it"
  elif [ -z "$crash" ] || ! grep -q 'mallet-fuzz: FAILED' "$demo/log"; then
    bad "seeded bug $bug in $be NOT found in 60 s (log $demo/log)"
  elif ! MALLET_FUZZ_BACKENDS=$be build/fuzz/fuzz/misuse_fuzzer "$crash" >"$demo/replay.log" 2>&1; then
    bad "seeded bug $bug: the crash input also crashes the normal build ($demo/replay.log)"
  else
    ok "seeded bug $bug in $be found, ${secs} s with the build: $(grep -m1 'mallet-fuzz: FAILED' "$demo/log" | cut -c1-90)"
  fi
}

echo "=== fuzz: libFuzzer"
if build fuzz; then
  for t in "${targets[@]}" misuse_toy; do
    if build/fuzz/fuzz/${t}_fuzzer -runs=0 "corpora/$t" >"$logdir/fuzz-regress-$t.log" 2>&1; then
      ok "replay corpora/$t ($(ls "corpora/$t" | wc -l) seeds)"
    else
      grep -E 'mallet-fuzz: FAILED|ERROR:' "$logdir/fuzz-regress-$t.log" | head -3; bad "replay corpora/$t"
    fi
  done
  for t in "${targets[@]}"; do
    if line=$(bash fuzz/run.sh "$t" --engine libfuzzer --seconds "$lf_secs" 2>&1); then
      ok "$(tail -1 <<<"$line")"
    else
      echo "$line" | tail -6; bad "libFuzzer $t"
    fi
  done
  # Seeded bug: must be found (a crash) quickly, from no seeds at all.
  demo="build/fuzz-work/toy-demo"; rm -rf "$demo"; mkdir -p "$demo/corpus"
  start=$(date +%s)
  MALLET_TOY_WEAK=1 build/fuzz/fuzz/misuse_toy_fuzzer -max_total_time=60 -max_len=2048 \
    -dict=fuzz/misuse_toy.dict -artifact_prefix="$demo/" "$demo/corpus" >"$demo/log" 2>&1
  secs=$(( $(date +%s) - start ))
  if grep -q 'mallet-fuzz: FAILED' "$demo/log"; then
    ok "seeded double-free bug in the toy zone found in ${secs} s: $(grep -m1 'mallet-fuzz: FAILED' "$demo/log" | cut -c1-100)"
  else
    bad "seeded double-free bug in the toy zone NOT found in 60 s"
  fi
  seeded_real_backend
fi

echo "=== fuzz: AFL++"
if [ "${FUZZ_SKIP_AFL:-0}" = 1 ]; then
  echo "  skip  AFL++ (FUZZ_SKIP_AFL=1)"
elif ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
  bad "AFL++ not installed (afl-fuzz, afl-clang-fast)"
elif build fuzz-afl; then
  for t in "${targets[@]}"; do
    if line=$(bash fuzz/run.sh "$t" --engine afl --seconds "$afl_secs" 2>&1); then
      ok "$(tail -1 <<<"$line")"
    else
      echo "$line" | tail -6; bad "AFL++ $t"
    fi
  done
fi

echo "fuzz: ${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ]
