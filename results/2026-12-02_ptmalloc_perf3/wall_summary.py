#!/usr/bin/env python3
"""Per-benchmark median of the compat/sys ratios (wall and CPU) over several
interleaved runs of one build, and the geometric mean of those medians.

usage: wall_summary.py RUN_DIR...   (each holds the runner's runs.csv)
"""
import csv, statistics, sys, os, math
runs = sys.argv[1:]
agg = {}
for d in runs:
    med = {}
    rows = list(csv.DictReader(open(os.path.join(d, 'runs.csv'))))
    for be in ('ptmalloc', 'sys'):
        for b in set(r['benchmark'] for r in rows):
            v = [float(r['wall_s']) for r in rows if r['backend'] == be and r['benchmark'] == b and r['status'] == 'ok']
            c = [float(r['user_s']) + float(r['sys_s']) for r in rows if r['backend'] == be and r['benchmark'] == b and r['status'] == 'ok']
            med[(be, b)] = (statistics.median(v), statistics.median(c))
    for b in set(k[1] for k in med):
        agg.setdefault(b, []).append((med[('ptmalloc', b)][0] / med[('sys', b)][0], med[('ptmalloc', b)][1] / med[('sys', b)][1]))
gw, gc = [], []
for b in sorted(agg):
    w = [x[0] for x in agg[b]]; c = [x[1] for x in agg[b]]
    gw.append(statistics.median(w)); gc.append(statistics.median(c))
    print(f"{b:15s} wall median {statistics.median(w):.2f} (range {min(w):.2f}-{max(w):.2f})  cpu median {statistics.median(c):.2f}")
g = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
print(f"geomean of per-benchmark medians over {len(runs)} runs: wall {g(gw):.3f}, cpu {g(gc):.3f}")
