#!/bin/sh
# Wall-clock check of the instruction-count work: four fresh-process runs
# of the default suite on sys and ptmalloc (compat), then two runs with
# hardened mode as a third backend. Run on an idle machine.
# usage: run.sh MALLET OUTDIR; then compare.py OUTDIR
set -eu
M=$1; OUT=$2
for i in 1 2 3 4; do
  "$M" bench --backends sys,ptmalloc --repeats 3 --out "$OUT/compat_run$i" >/dev/null
done
for i in 1 2; do
  "$M" bench --backends sys,ptmalloc,ptmalloc:harden=1 --repeats 3 --out "$OUT/hardened_run$i" >/dev/null
done
