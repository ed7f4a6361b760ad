#!/usr/bin/env bash
# tests/preload/test_preload.sh ID LIBMALLET WORKLOAD MALLET
#
# Runs unmodified programs with LD_PRELOAD=libmallet.so MALLET_BACKEND=ID and
# checks that they work and that ID really served them:
#   preload_workload (threads, fork, the whole malloc family, content checks),
#   python3 with PYTHONMALLOC=malloc, sqlite3, git init/add/commit, cc,
#   MALLET_TRACE producing a well-formed trace.
# Exit 77 (skipped, with the reason) if this build or machine lacks ID.
set -uo pipefail
id=$1 lib=$2 workload=$3 mallet=$4
pass=0 fail=0 skip=0
ok()   { echo "ok   $*"; pass=$((pass + 1)); }
bad()  { echo "FAIL $*"; fail=$((fail + 1)); }
skp()  { echo "skip $*"; skip=$((skip + 1)); }

status=$("$mallet" list --json | python3 -c "
import json,sys
for b in json.load(sys.stdin):
    if b['id']=='$id': print(b['status'] + ('|' + b['note'] if b['note'] else ''))")
case "$status" in
  ok*) ;;
  *) echo "preload-$id: SKIPPED: backend $id: $status"; exit 77 ;;
esac

tmp=$(mktemp -d /tmp/mallet-preload-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export MALLET_BACKEND=$id
run() { LD_PRELOAD="$lib" "$@"; }

# 1. The workload, and proof of who served it.
if out=$(run "$workload" 2>&1) && grep -q "served by $id\$" <<<"$out"; then
  ok "workload under $id"
else
  bad "workload under $id:"; echo "$out" | tail -20
fi

# For peers, the peer library must be mapped; for sys, none may be.
peerlib=""
case $id in je) peerlib=libjemalloc ;; mi) peerlib=libmimalloc ;; tc) peerlib=libtcmalloc ;; esac
maps=$(run python3 -c 'print(open("/proc/self/maps").read())' 2>&1)
if [ -n "$peerlib" ]; then
  grep -q "$peerlib" <<<"$maps" && ok "$peerlib mapped" || bad "$peerlib not mapped under MALLET_BACKEND=$id"
else
  grep -qE 'libjemalloc|libmimalloc|libtcmalloc' <<<"$maps" && bad "a peer library is mapped under $id" || ok "no peer library mapped"
fi

# 2. python3 with its allocator routed to malloc; output must equal a plain run's.
pyprog='
import json, hashlib, threading
d = {str(i): list(range(i % 97)) for i in range(20000)}
s = json.dumps(d); assert json.loads(s) == d
out = []
def w(k): out.append(sorted(hashlib.sha256(bytes(range(256)) * (i % 50 + k)).hexdigest() for i in range(3000))[0])
ts = [threading.Thread(target=w, args=(k,)) for k in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]
print("py-ok", len(s), hashlib.sha256(s.encode()).hexdigest(), sorted(out))'
plain=$(PYTHONMALLOC=malloc python3 -c "$pyprog" 2>&1)
if out=$(PYTHONMALLOC=malloc run python3 -c "$pyprog" 2>&1) && [ "$out" = "$plain" ] && grep -q py-ok <<<"$out"; then
  ok "python3 (same output as a plain run)"
else
  bad "python3:"; echo "plain: $plain"; echo "$out" | tail -20
fi

# 3. sqlite3
if command -v sqlite3 >/dev/null; then
  out=$(run sqlite3 "$tmp/db" "create table t(a integer, b text);
    with recursive c(x) as (select 1 union all select x+1 from c where x < 50000)
    insert into t select x, hex(randomblob(x % 200)) from c;
    create index ti on t(b); select count(*), sum(a) from t;" 2>&1)
  plain=$(sqlite3 "$tmp/db-plain" "create table t(a integer, b text);
    with recursive c(x) as (select 1 union all select x+1 from c where x < 50000)
    insert into t select x, hex(randomblob(x % 200)) from c;
    create index ti on t(b); select count(*), sum(a) from t;" 2>&1)
  [ "$out" = "50000|1250025000" ] && [ "$out" = "$plain" ] && ok "sqlite3 (same output as a plain run)" || { bad "sqlite3: $out vs plain $plain"; }
else
  skp "sqlite3 not installed"
fi

# 4. git
(
  cd "$tmp" && mkdir repo && cd repo &&
  run git init -q && for i in $(seq 1 50); do echo "$i" > "f$i"; done &&
  run git add . && run git -c user.name=t -c user.email=t@t commit -qm one &&
  [ "$(run git rev-list --count HEAD)" = 1 ] && run git fsck --no-progress
) >"$tmp/git.log" 2>&1 && ok "git" || { bad "git:"; tail -20 "$tmp/git.log"; }

# 5. a C compiler (cc1 is a big allocating program)
printf '#include <stdio.h>\nint main(void){puts("cc-ok");return 0;}\n' >"$tmp/h.c"
if run cc -O2 -o "$tmp/h" "$tmp/h.c" >"$tmp/cc.log" 2>&1 && [ "$("$tmp/h")" = cc-ok ]; then ok "cc"; else bad "cc:"; tail -20 "$tmp/cc.log"; fi

# 6. MALLET_TRACE writes a well-formed trace.
if MALLET_TRACE="$tmp/t.trace" run "$workload" >/dev/null 2>&1 &&
   python3 - "$tmp/t.trace" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
magic, ver, rsz = struct.unpack_from('<8sII', data, 0)
assert magic == b'MALLETTR' and ver == 1 and rsz == 40, (magic, ver, rsz)
n = (len(data) - 64) // 40
assert (len(data) - 64) % 40 == 0 and n > 10000, n
live, ops = set(), set()
for i in range(n):
    ts, size, aux, bid, old, th, op, fl, _ = struct.unpack_from('<QQQIIHBBI', data, 64 + 40 * i)
    ops.add(op)
    if old:
        assert old in live, ('release of unknown id', i, old)
        live.discard(old)
    if bid:
        assert bid not in live, ('id reused', i, bid)
        live.add(bid)
assert {1, 2, 3, 4, 5, 6, 7} <= ops, ops
print('trace-ok', n)
PY
then ok "MALLET_TRACE"; else bad "MALLET_TRACE"; fi

echo "preload-$id: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
