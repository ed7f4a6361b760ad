#!/bin/sh
# Hardened mode's cost with fresh-process runs: two runs of the default
# suite on sys, ptmalloc (compat) and ptmalloc:harden=1, repeats interleaved.
# usage: hardened.sh MALLET OUTDIR; then ../2026-12-02_ptmalloc_perf2/ratios.py on each run
set -eu
M=$1; OUT=$2
for i in 1 2; do
  "$M" bench --backends sys,ptmalloc,ptmalloc:harden=1 --repeats 3 --out "$OUT/hardened_run$i" >/dev/null
done
