#!/usr/bin/env bash
# stab.sh BIN SECONDS LABEL [backends] — AFL++ ops stability per backend, pinned to CPU 1
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
root=/work/main; bin=$1; secs=$2; label=$3; bes=${4:-"nano scalable ptmalloc"}
for be in $bes; do
  d=$(mktemp -d)
  MALLET_FUZZ_BACKENDS=$be taskset -c 1 afl-fuzz -i $root/corpora/ops -o $d/out -V $secs -t 5000 -m none -x $root/fuzz/ops.dict -- $bin >$d/log 2>&1
  s=$d/out/default/fuzzer_stats
  echo "ops,$be,$label,$secs,$(sed -n 's/^execs_done *: *//p' $s),$(sed -n 's/^execs_per_sec *: *//p' $s),$(sed -n 's/^stability *: *//p' $s)"
  rm -rf $d
done
