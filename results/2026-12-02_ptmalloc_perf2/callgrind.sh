#!/bin/sh
# Instruction counts per allocator call under callgrind: one smoke-scale run of
# each benchmark per configuration; the inclusive cost of mallet's front-end
# entry points (every call the benchmark makes goes through them) divided by
# the run's operation count. CFGS picks the configurations (default: all three).
set -eu
M=$1; OUT=$2; shift 2
export MALLET_NO_REEXEC=1
mkdir -p "$OUT"
for bench in "$@"; do
  for cfg in ${CFGS:-compat hardened sys}; do
    case $cfg in
      compat) args="--backends ptmalloc --zone-options ptmalloc.harden=0:ptmalloc.brk_reserve=1G";;
      hardened) args="--backends ptmalloc --zone-options ptmalloc.harden=1:ptmalloc.brk_reserve=1G";;
      sys) args="--backends sys";;
    esac
    d="$OUT/$bench.$cfg"; rm -rf "$d"; mkdir -p "$d"
    valgrind --tool=callgrind --callgrind-out-file="$d/callgrind.out.%p" -q \
      "$M" bench --bench "$bench" $args --smoke --repeats 1 --out "$d/run" >/dev/null 2>&1
    ops=$(awk -F, 'NR==2{print $9}' "$d/run/runs.csv")
    # the benchmark's child (or children) made the calls: the profile with the most front-end cost
    ir=0
    for p in "$d"/callgrind.out.*; do
      v=$(callgrind_annotate --inclusive=yes --threshold=100 "$p" 2>/dev/null | \
          awk '/frontend.c:mallet_(malloc|free|calloc|realloc|memalign) \[/ {gsub(",","",$1); s+=$1} END{print s+0}')
      [ "$v" -gt "$ir" ] && ir=$v
    done
    echo "$bench $cfg ops=$ops frontend_Ir=$ir Ir_per_op=$(awk -v a="$ir" -v b="$ops" 'BEGIN{printf "%.1f", a/b}')"
  done
done
