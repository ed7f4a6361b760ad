#!/usr/bin/env bash
# results/2026-11-25_fuzz_speed/afl_per_backend.sh BIN SECONDS — AFL++ ops per
# backend (MALLET_FUZZ_BACKENDS), exec/s and stability, AFL_NO_AFFINITY=1 (unpinned).
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); bin=$1; secs=$2
for be in sys nano scalable ptmalloc je mi tc; do
  d=$(mktemp -d)
  MALLET_FUZZ_BACKENDS=$be nice -n 10 afl-fuzz -i $root/corpora/ops -o $d/out -V $secs -t 5000 -m none -x $root/fuzz/ops.dict -- $bin >$d/log 2>&1
  s=$d/out/default/fuzzer_stats
  echo "ops,$be,afl,after,$secs,$(sed -n 's/^execs_done *: *//p' $s),$(sed -n 's/^execs_per_sec *: *//p' $s),$(sed -n 's/^stability *: *//p' $s)"
  rm -rf $d
done
