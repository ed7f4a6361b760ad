#!/usr/bin/env bash
# test_cli.sh MALLET — bad command-line arguments print usage and exit 2;
# `mallet list` names every backend ID, available or not.
mallet=$1 pass=0 fail=0
expect() { # expect STATUS DESCRIPTION -- CMD...
  local want=$1 what=$2; shift 3
  "$@" >/tmp/mallet-cli-$$.out 2>&1; local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $what: exit $got, want $want"; cat /tmp/mallet-cli-$$.out; fi
}
expect 2 "no arguments" -- "$mallet"
expect 2 "unknown command" -- "$mallet" frobnicate
expect 0 "help" -- "$mallet" --help
expect 2 "list with a bad option" -- "$mallet" list --bogus
expect 0 "list" -- "$mallet" list
expect 2 "the runner's child command, by hand" -- "$mallet" __bench-child
expect 2 "the runner's child command with a bad descriptor" -- "$mallet" __bench-child x 1 larson sys 1 1 0x1p+0 10 0 - - -
for id in nano scalable ptmalloc sys je mi tc; do
  if "$mallet" list | grep -q "^$id "; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL list does not name $id"; fi
done
"$mallet" list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d)==7' \
  && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL list --json is not 7 entries of JSON"; }
rm -f /tmp/mallet-cli-$$.out
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
