#!/usr/bin/env bash
# tests/trace/test_record_replay.sh MALLET EXAMPLES — record a real program,
# replay it and the shipped examples on every backend, compare two result
# folders, and refuse bad traces and arguments.
set -uo pipefail
mallet=$1 examples=$2
pass=0 fail=0
ok()  { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d /tmp/mallet-trace-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
usable=$("$mallet" list --ids | paste -sd, -)

if "$mallet" record -o "$tmp/s.trace" -- sqlite3 :memory: "create table t(a); insert into t values(1),(2); select sum(a) from t;" \
     >"$tmp/rec.out" 2>"$tmp/rec.err" && grep -q '^3$' "$tmp/rec.out" && grep -q 'calls' "$tmp/rec.err"; then
  ok "record sqlite3"
else
  bad "record sqlite3"; cat "$tmp/rec.err"
fi
for t in "$tmp/s.trace" "$examples"/*.trace; do
  name=$(basename "$t")
  if "$mallet" replay "$t" --backends "$usable" --repeats 1 --out "$tmp/r-$name" >/dev/null 2>"$tmp/replay.err" &&
     [ "$(grep -c ',ok,' "$tmp/r-$name/runs.csv")" -eq "$(echo "$usable" | tr ',' '\n' | wc -l)" ]; then
    ok "replay $name on $usable"
  else
    bad "replay $name"; tail -5 "$tmp/replay.err"; cat "$tmp/r-$name/runs.csv" 2>/dev/null
  fi
done
# compare: a folder against itself is all "same"; against another run it works.
first=$(ls -d "$tmp"/r-* | head -1)
if out=$("$mallet" compare "$first" "$first" --fail-on-regression) && grep -q '0 regressions' <<<"$out"; then
  ok "compare self"
else bad "compare self: $out"; fi
# bad inputs
head -c 100 "$examples/sqlite3-index.trace" >"$tmp/trunc.trace"
printf 'not a trace at all, not at all, not at all, not at all, not at all, not at all' >"$tmp/junk.trace"
for t in "$tmp/trunc.trace" "$tmp/junk.trace" "$tmp/none.trace"; do
  "$mallet" replay "$t" --out "$tmp/x" >/dev/null 2>"$tmp/e"; rc=$?
  [ $rc -eq 2 ] && grep -q "mallet replay:" "$tmp/e" && ok "replay refuses $(basename "$t")" || { bad "replay $(basename "$t"): exit $rc"; cat "$tmp/e"; }
done
for args in "replay" "replay a b" "replay --repeats 0 x" "record" "record -- " "compare onlyone" "compare $tmp/nope $tmp/nope2"; do
  "$mallet" $args >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] && ok "refuses: mallet $args" || bad "mallet $args: exit $rc"
done
echo "trace: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
