#!/usr/bin/env bash
# tests/preload/test_preload_errors.sh LIBMALLET WORKLOAD — a wrong
# MALLET_BACKEND must stop the program at once with a clear message, never
# fall back silently to another allocator.
set -uo pipefail
lib=$1 workload=$2
pass=0 fail=0
expect() { # name backend pattern
  out=$(MALLET_BACKEND=$2 LD_PRELOAD="$lib" "$workload" 2>&1); rc=$?
  if [ "$rc" -eq 127 ] && grep -q "$3" <<<"$out"; then echo "ok   $1"; pass=$((pass + 1))
  else echo "FAIL $1: exit $rc, output: $out"; fail=$((fail + 1)); fi
}
expect "unknown backend" bogus "MALLET_BACKEND=bogus is not a mallet backend"
expect "upper-case ID is not an ID" JE "MALLET_BACKEND=JE is not a mallet backend"
out=$(MALLET_BACKEND= LD_PRELOAD="$lib" "$workload" 2>&1)
if grep -q "served by sys" <<<"$out"; then echo "ok   empty MALLET_BACKEND means sys"; pass=$((pass + 1))
else echo "FAIL empty MALLET_BACKEND: $out"; fail=$((fail + 1)); fi
echo "preload-errors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
