#!/bin/sh
# Instruction totals of each benchmark's run process under callgrind, from
# the profiles ../2026-12-02_ptmalloc_perf2/callgrind.sh writes (one
# smoke-scale run per configuration). The workload, its random sequence and
# the timer calibration are the same for every backend, so the difference
# between two totals is the difference in allocator work; ratios to sys
# understate it (the harness's share is in both).
# usage: callgrind_totals.sh BASE_DIR NEW_DIR   (each with BENCH.{compat,hardened,sys}/)
set -eu
BASE=$1; NEW=$2
tot() { # max PROGRAM TOTALS over the profiles in a directory (the run process)
  for f in "$1"/callgrind.out.*; do
    callgrind_annotate --threshold=1 "$f" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}'
  done | sort -n | tail -1
}
printf "%-15s %8s %12s %12s %12s %9s %8s %8s %9s %9s\n" bench ops base_compat new_compat sys diff/op base/sys new/sys base_hard new_hard
for d in "$NEW"/*.compat; do
  b=$(basename "$d" .compat)
  ops=$(awk -F, 'NR==2{print $9}' "$d/run/runs.csv")
  bc=$(tot "$BASE/$b.compat"); nc=$(tot "$NEW/$b.compat"); s=$(tot "$NEW/$b.sys")
  bh=$(tot "$BASE/$b.hardened"); nh=$(tot "$NEW/$b.hardened")
  awk -v b="$b" -v o="$ops" -v bc="$bc" -v nc="$nc" -v s="$s" -v bh="$bh" -v nh="$nh" 'BEGIN{
    printf "%-15s %8d %12d %12d %12d %9.1f %8.3f %8.3f %9.3f %9.3f\n", b, o, bc, nc, s, (nc-s)/o, bc/s, nc/s, bh/s, nh/s}'
done
