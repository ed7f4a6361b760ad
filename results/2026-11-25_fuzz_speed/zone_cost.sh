#!/usr/bin/env bash
# results/2026-11-25_fuzz_speed/zone_cost.sh BIN_DIR LABEL — per backend, the
# wall time of one ops input that is only the backend byte (so: zone create +
# check + destroy, nothing else), as (time of -runs=401 - time of -runs=1) / 400,
# in microseconds. Prints CSV: label,backend,empty,us_per_input.
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
bin=$1/ops_fuzzer; label=$2
tmp=$(mktemp); printf '\0' >"$tmp"
for b in sys nano scalable ptmalloc je mi tc; do
  for n in 1 401; do
    s=$(date +%s%N); MALLET_FUZZ_BACKENDS=$b nice -n 10 "$bin" -runs=$n "$tmp" >/dev/null 2>&1; e=$(date +%s%N)
    eval t$n=$(( (e-s)/1000 ))
  done
  echo "$label,$b,empty,$(( (t401-t1)/400 ))"
done
rm -f "$tmp"
