#!/bin/bash
# callgrind instructions per malloc/free pair on small-churn (scale 0.05),
# as ../2026-11-25_nano_churn/callgrind_pair.sh, with the build directory
# and extra `mallet bench` arguments (e.g. --main-thread) as parameters.
# usage: callgrind_pair.sh NAME BACKEND [ZONE_OPTIONS [BENCH_ARGS...]]
# environment: BUILD (default build/release of this checkout), and any
# MALLET_* / Malloc* variable the backend should see.
here=$(cd "$(dirname "$0")" && pwd)
cd "${BUILD:-$here/../../build/release}" || exit 1
export MALLET_NO_REEXEC=1
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
name=$1 be=$2 zo=$3
shift 3 2>/dev/null || shift $#
rm -f /tmp/nano_cg.$name.*
args=(bench --bench small-churn --backends $be --repeats 1 --scale 0.05 --out /tmp/nano_cgb_$name "$@")
[ -n "$zo" ] && args+=(--zone-options "$zo")
valgrind --tool=callgrind --callgrind-out-file=/tmp/nano_cg.$name.%p --toggle-collect='worker' ./mallet "${args[@]}" > /tmp/nano_cg_$name.log 2>&1
f=$(ls -S /tmp/nano_cg.$name.* | head -1)
callgrind_annotate --inclusive=yes $f 2>/dev/null > /tmp/nano_cg_$name.txt
tot=$(grep -E "PROGRAM TOTALS" /tmp/nano_cg_$name.txt | awk '{gsub(",","",$1); print $1}')
m=$(grep -E "frontend.c:mallet_malloc \[" /tmp/nano_cg_$name.txt | head -1 | awk '{gsub(",","",$1); print $1}')
fr=$(grep -E "frontend.c:mallet_free \[" /tmp/nano_cg_$name.txt | head -1 | awk '{gsub(",","",$1); print $1}')
n=$(grep -E "=> .*frontend.c:mallet_malloc \(" /tmp/nano_cg_$name.txt | head -1 | sed -E 's/.*\(([0-9,]+)x\).*/\1/' | tr -d ,)
echo "$name total_Ir=$tot malloc_incl=$m free_incl=$fr pairs=$n per_pair=$(( (m + fr) / n )) malloc_per=$(( m / n )) free_per=$(( fr / n )) run_total_per_pair=$(( tot / n ))"
