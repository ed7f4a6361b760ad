#!/usr/bin/env bash
# test_stress_cli.sh MALLET — `mallet stress` / `mallet security` usage
# errors exit 2 with the usage; the corruption detector fires end to end
# (a deliberately flipped byte fails the run and names backend, block,
# offset); a one-case security run writes Markdown, CSV and valid JSON; a
# short soak writes its CSV and (with gnuplot) the RSS plot.
mallet=$1 pass=0 fail=0 out=$(mktemp -d)
expect() { # expect STATUS DESCRIPTION -- CMD...
  local want=$1 what=$2; shift 3
  "$@" >"$out/log" 2>&1; local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $what: exit $got, want $want"; cat "$out/log"; fi
}
expect 2 "stress: unknown option" -- "$mallet" stress --bogus
grep -q "usage: mallet stress" "$out/log" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL stress: no usage"; }
expect 2 "stress: --threads 0" -- "$mallet" stress --threads 0
expect 2 "stress: --seconds x" -- "$mallet" stress --seconds x
expect 2 "stress: --only bogus" -- "$mallet" stress --only mt,bogus
expect 2 "stress: unknown backend" -- "$mallet" stress --backends sys,zz
expect 2 "stress: --soak --smoke" -- "$mallet" stress --soak --smoke
expect 0 "stress: --help" -- "$mallet" stress --help
expect 2 "security: unknown option" -- "$mallet" security --bogus
grep -q "usage: mallet security" "$out/log" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL security: no usage"; }
expect 2 "security: unknown case" -- "$mallet" security --cases nope
expect 2 "security: --timeout 0" -- "$mallet" security --timeout 0
expect 0 "security: --list" -- "$mallet" security --list
expect 1 "stress: a flipped byte fails the run" -- "$mallet" stress --backends sys --only mt --ops 3000 --threads 2 --selftest-corrupt
grep -q "CORRUPTION sys: .*block #[0-9]* .* at offset [0-9]*: expected \[" "$out/log" && pass=$((pass + 1)) \
  || { fail=$((fail + 1)); echo "FAIL corruption report does not name backend/block/offset/bytes"; cat "$out/log"; }
expect 0 "security: one case" -- "$mallet" security --backends sys --cases calloc-overflow,malloc-size-max --out "$out/sec"
for f in security.md security.csv security.json; do
  [ -s "$out/sec/$f" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL security: no $f"; }
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); b=[x for x in d["backends"] if x["id"]=="sys"][0]; assert len(b["cases"])==2' "$out/sec/security.json" \
  && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL security.json"; }
expect 0 "stress: a short soak" -- "$mallet" stress --soak --seconds 3 --interval 1 --threads 2 --backends sys --out "$out/soak"
[ "$(wc -l <"$out/soak/soak_sys.csv")" -ge 3 ] && head -1 "$out/soak/soak_sys.csv" | grep -q '^backend,t_s,rss_kb,live_kb,ops$' \
  && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL soak: soak_sys.csv missing or short"; }
if command -v gnuplot >/dev/null; then
  grep -q "<svg" "$out/soak/soak_rss.svg" 2>/dev/null && pass=$((pass + 1)) \
    || { fail=$((fail + 1)); echo "FAIL soak: no soak_rss.svg although gnuplot is installed"; }
fi
rm -rf "$out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
