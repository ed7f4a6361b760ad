#!/bin/sh
# Four runs of the default suite on sys and ptmalloc with each isolation
# mode, alternating exec/fork against drift (about 36 s per run on 2 vCPUs).
# usage: run.sh MALLET OUTDIR
set -eu
M=$1; OUT=$2
for i in 1 2 3 4; do
  for iso in exec fork; do
    "$M" bench --backends sys,ptmalloc --repeats 3 --isolation $iso --out "$OUT/${iso}_run$i" >/dev/null
  done
done
