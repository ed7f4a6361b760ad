#!/usr/bin/env bash
# fuzz/build.sh — OSS-Fuzz / ClusterFuzzLite style build of every target.
#
# Honours $CC $CXX $CFLAGS $CXXFLAGS $LIB_FUZZING_ENGINE $OUT (defaults:
# clang, ASan+UBSan+fuzzer-no-link, -fsanitize=fuzzer, build/oss-fuzz/out).
# With LIB_FUZZING_ENGINE=afl-driver (or CC=afl-clang-fast and no engine)
# fuzz/afl_driver.c is linked instead. For each target writes
#   $OUT/<target>  $OUT/<target>.dict  $OUT/<target>.options
#   $OUT/<target>_seed_corpus.zip
# The mallet libraries are built with CMake into $WORK/mallet (default
# build/oss-fuzz/work). misuse_toy (test-only toy zone) is not shipped.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${CC:=clang}" "${CXX:=clang++}"
: "${CFLAGS:=-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link}"
: "${CXXFLAGS:=$CFLAGS}"
: "${OUT:=$root/build/oss-fuzz/out}"
: "${WORK:=$root/build/oss-fuzz/work}"
if [ -z "${LIB_FUZZING_ENGINE:-}" ]; then
  case "$(basename "$CC")" in afl-clang*) LIB_FUZZING_ENGINE=afl-driver ;; *) LIB_FUZZING_ENGINE=-fsanitize=fuzzer ;; esac
fi
targets=(ops misuse diff options trace sizespec)
mkdir -p "$OUT" "$WORK/mallet"

cmake -S "$root" -B "$WORK/mallet" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DMALLET_FUZZ_ENGINE=replay -DMALLET_BUILD_TESTS=OFF -DMALLET_BUILD_PRELOAD=OFF >/dev/null
cmake --build "$WORK/mallet" -j"${JOBS:-2}" --target mallet_fuzz_common mallet_alloc mallet_workload >/dev/null

extra=()
if [[ "$CFLAGS" == *sanitize=*address* ]]; then
  # allocator_may_return_null etc. (what MALLET_SANITIZE builds link in)
  extra+=(-DMALLET_SANITIZER_BUILD=1 "$root/alloc/core/sanitizer_defaults.c")
fi
engine=("$LIB_FUZZING_ENGINE")
[ "$LIB_FUZZING_ENGINE" = afl-driver ] && engine=("$root/fuzz/afl_driver.c")
libs=("$WORK/mallet/fuzz/libmallet_fuzz_common.a" "$WORK/mallet/alloc/libmallet_alloc.a"
      "$WORK/mallet/harness/workload/libmallet_workload.a")
for t in "${targets[@]}"; do
  # CXX links: LIB_FUZZING_ENGINE may be a C++ library (libFuzzer, AFL driver)
  $CXX $CFLAGS -x c -std=gnu11 -I"$root/fuzz" -I"$root/alloc/include" -I"$root/harness" \
    "$root/fuzz/${t}_fuzzer.c" "${extra[@]}" -x none "${engine[@]}" "${libs[@]}" \
    -lpthread -ldl -lm -o "$OUT/$t"
  cp "$root/fuzz/$t.dict" "$OUT/$t.dict"
  cp "$root/fuzz/$t.options" "$OUT/$t.options"
  rm -f "$OUT/${t}_seed_corpus.zip"
  (cd "$root/corpora/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
  echo "fuzz/build.sh: $OUT/$t"
done
