#!/usr/bin/env python3
"""Tables from timing.sh's output. Per invocation and backend: the minimum
over its repeats of CPU (user+sys) ns per malloc/free pair, of wall ns per
pair and of sys ns per pair, and the minimum's madvise count; then per
(configuration, backend) the median over rounds of those minimums, of
"above floor" (minus floor's CPU minimum in the same invocation) and of
the ratio to sys (glibc) in the same invocation.
usage: table.py DIR"""
import collections, csv, os, statistics, sys

root = sys.argv[1]
acc = collections.defaultdict(lambda: collections.defaultdict(list))
rounds = collections.defaultdict(set)
for d in sorted(os.listdir(root)):
    p = os.path.join(root, d, "runs.csv")
    if not os.path.exists(p):
        continue
    cfg, rnd = d.rsplit("_", 1)
    rows = collections.defaultdict(list)
    for r in csv.DictReader(open(p)):
        if r["status"] != "ok":
            continue
        pairs = int(r["ops"]) / 2
        cpu = (float(r["user_s"]) + float(r["sys_s"])) / pairs * 1e9
        rows[r["backend"]].append((cpu, float(r["wall_s"]) / pairs * 1e9, float(r["sys_s"]) / pairs * 1e9,
                                   int(r["vm_madvises"]), r["note"]))
    best = {b: min(v) for b, v in rows.items()}
    rounds[cfg].add(rnd)
    for b, (cpu, wall, sy, madv, note) in best.items():
        a = acc[(cfg, b)]
        a["cpu"].append(cpu); a["wall"].append(wall); a["sys"].append(sy); a["madv"].append(madv)
        a["floor"].append(cpu - best["floor"][0])
        a["vs_sys"].append(cpu / best["sys"][0])
        if note:
            a["notes"].append(note)
med = statistics.median
print("| configuration | backend | rounds | CPU ns/pair | wall ns/pair | sys ns/pair | above floor | / glibc (same run) | per-round / glibc | madvise calls |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
for (cfg, b), a in sorted(acc.items()):
    print(f"| {cfg} | {b} | {len(a['cpu'])} | {med(a['cpu']):.1f} | {med(a['wall']):.1f} | {med(a['sys']):.1f} | "
          f"{med(a['floor']):.1f} | {med(a['vs_sys']):.2f} | {' '.join(f'{x:.2f}' for x in a['vs_sys'])} | "
          f"{int(med(a['madv']))} |" + (f" notes: {set(a['notes'])}" if a["notes"] else ""))

# The table: one row per allocator and nano configuration; peers
# from the --main-thread peers run, nano from its own invocations.
rows = [("floor", "peers_main", "floor"), ("tc (gperftools 2.10)", "peers_main", "tc"),
        ("mi (mimalloc 2.0.9)", "peers_main", "mi"), ("je (jemalloc 5.3.0)", "peers_main", "je"),
        ("sys (glibc 2.36)", "peers_main", "sys")]
for v, label in (("v1", "nano v1"), ("v2w", "nano v2 `warning`"), ("v2", "nano v2 default (`immediate`)")):
    rows += [(f"{label}, fast path", f"{v}_main-fast", "nano"),
             (f"{label}, `single_thread_fast=0`", f"{v}_main-atomics", "nano"),
             (f"{label}, worker thread", f"{v}_worker", "nano"),
             (f"{label}, before (`82c62dc`, worker)", f"{v}_before", "nano"),
             (f"{label}, fast path (pair run)", f"{v}_pair", "nano"),
             (f"{label}, `single_thread_fast=0` (pair run)", f"{v}_pair", "nano:single_thread_fast=0")]
print()
print("| backend | CPU ns/pair | wall ns/pair | sys ns/pair | above floor | × glibc, same run (median; per round) | madvise |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, cfg, b in rows:
    a = acc.get((cfg, b))
    if not a:
        continue
    print(f"| {label} | {med(a['cpu']):.1f} | {med(a['wall']):.1f} | {med(a['sys']):.1f} | {med(a['floor']):.1f} | "
          f"{med(a['vs_sys']):.2f} ({' '.join(f'{x:.2f}' for x in a['vs_sys'])}) | {int(med(a['madv'])) if med(a['madv']) >= 0 else '—'} |")
