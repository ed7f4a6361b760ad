#!/usr/bin/env bash
# tests/bench/test_bench_smoke.sh MALLET — runs `mallet bench --smoke` on all
# backends and checks the result folder: every (benchmark, backend) has a
# row, every usable backend completed every benchmark, missing ones are
# marked missing (never dropped), the summary and plots exist, and bad
# arguments are refused with exit 2.
set -uo pipefail
mallet=$1
pass=0 fail=0
ok()  { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
out=$(mktemp -d /tmp/mallet-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT

"$mallet" bench --smoke --backends all --out "$out/r" >"$out/log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "bench --smoke exits 0" || { bad "bench --smoke exit $rc"; tail -30 "$out/log"; }
for f in runs.csv runs.json meta.json summary.md plots/time_ratio.svg plots/time_ratio.png plots/rss_ratio.svg plots/latency_p99.svg plots/latency_cdf.svg; do
  [ -s "$out/r/$f" ] && ok "$f written" || bad "$f missing"
done
python3 - "$out/r" "$mallet" <<'PY' && ok "result rows complete and consistent" || bad "result rows"
import json, subprocess, sys
d, mallet = sys.argv[1], sys.argv[2]
runs = json.load(open(d + '/runs.json'))
meta = json.load(open(d + '/meta.json'))
usable = set(subprocess.run([mallet, 'list', '--ids'], capture_output=True, text=True).stdout.split())
benches = subprocess.run([mallet, 'bench', '--list'], capture_output=True, text=True).stdout
benches = [l.split()[0] for l in benches.split('\n\n')[0].splitlines()[1:]]
assert len(benches) >= 16, benches
ids = ['nano', 'scalable', 'ptmalloc', 'sys', 'je', 'mi', 'tc']
seen = {(r['benchmark'], r['backend']): r for r in runs}
for b in benches:
    for i in ids:
        r = seen.get((b, i))
        assert r, ('no row', b, i)
        if i in usable:
            assert r['status'] == 'ok', (b, i, r['status'], r['note'])
            assert r['ops'] > 0 and r['wall_s'] > 0 and r['peak_rss_kb'] > 0, r
        else:
            assert r['status'] == 'missing' and r['note'], r
assert meta['host']['logical_cpus'] >= 1 and meta['commit'] and len(meta['backends']) == 7
assert meta['run_isolation'] == 'exec', meta['run_isolation']  # the default: a fresh image per run
summary = open(d + '/summary.md').read()
for i in ids:
    assert i in summary
assert 'geometric mean vs sys' in summary
print('rows', len(runs))
PY
# A size override reaches the generator benchmarks.
"$mallet" bench --smoke --backends sys --bench app-objects --sizes const:24 --out "$out/s" >/dev/null 2>&1 &&
  grep -q '^app-objects,sys,1,1,ok' "$out/s/runs.csv" && ok "--sizes override runs" || bad "--sizes override"
# A run that does not finish is recorded as such, the suite goes on, exit 1.
# (--scale 20: at scale 1 an idle machine finished sys's run inside the 1 s.)
"$mallet" bench --backends sys,je --bench malloc-large --scale 20 --timeout 1 --repeats 1 --out "$out/t" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ "$(grep -c ',timeout,' "$out/t/runs.csv")" -eq 2 ] && grep -q '\*\*timeout\*\*' "$out/t/summary.md" &&
  ok "timeouts recorded, run continues, exit 1" || bad "timeout handling: exit $rc"
# Options a backend does not take: its runs fail with the reason, others run.
"$mallet" bench --smoke --backends sys --bench lifo-small --zone-options Bogus=1 --out "$out/z" >/dev/null 2>&1
grep -q ',failed,.*takes no options' "$out/z/runs.csv" && ok "zone options refused by a backend are reported" || bad "zone options"
# Per-backend zone options: each entry runs under its own label, in one run,
# its options (prefixed with the backend's name) reach that backend only.
"$mallet" bench --smoke --backends sys,ptmalloc,ptmalloc:harden=1 --bench lifo-small --out "$out/p" >/dev/null 2>&1 &&
  grep -q '^lifo-small,sys,1,1,ok' "$out/p/runs.csv" && grep -q '^lifo-small,ptmalloc,1,1,ok' "$out/p/runs.csv" &&
  grep -q '^lifo-small,ptmalloc:harden=1,1,1,ok' "$out/p/runs.csv" && grep -q 'ptmalloc:harden=1' "$out/p/summary.md" &&
  ok "per-backend zone options run under their own label" || bad "per-backend zone options"
"$mallet" bench --smoke --backends sys,ptmalloc:bogus=1 --bench lifo-small --out "$out/q" >/dev/null 2>&1
grep -q '^lifo-small,sys,1,1,ok' "$out/q/runs.csv" && grep -q "^lifo-small,ptmalloc:bogus=1,1,1,failed,.*ptmalloc.bogus" "$out/q/runs.csv" &&
  ok "per-backend zone options reach only that backend's zone" || bad "per-backend options routing"
# Bad arguments: usage, exit 2, nothing run.
for args in "--backends bogus" "--bench nosuch" "--threads -1" "--threads 0" "--repeats x" "--scale -2" \
            "--sizes weird:1" "--sizes hist:/nonexistent" "--frobnicate" "--threads" "--backends nosuch:x=1" \
            "--isolation spawn" "--isolation"; do
  "$mallet" bench $args --out "$out/bad" >"$out/badlog" 2>&1
  rc=$?
  if [ "$rc" -eq 2 ] && grep -q "mallet bench:" "$out/badlog" && [ ! -e "$out/bad/runs.csv" ]; then ok "refuses $args"
  else bad "bench $args: exit $rc"; cat "$out/badlog"; fi
done
echo "bench-smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
