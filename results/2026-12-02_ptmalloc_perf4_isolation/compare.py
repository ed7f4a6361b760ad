#!/usr/bin/env python3
"""Per isolation mode (exec, fork): the per-benchmark medians over all runs
of wall, CPU (user+sys), peak RSS and minor faults for sys and ptmalloc,
the compat/sys ratios and their geometric means; then what the mode does
to each backend on its own (exec/fork medians).

usage: compare.py DIR   (DIR holds exec_runN/ and fork_runN/, each a runs.csv)
"""
import csv, glob, math, os, statistics, sys

def load(d, iso):
    rows = []
    for p in sorted(glob.glob(os.path.join(d, f'{iso}_run*', 'runs.csv'))):
        rows += [r for r in csv.DictReader(open(p)) if r['status'] == 'ok']
    return rows

KEYS = {'wall': lambda r: float(r['wall_s']), 'cpu': lambda r: float(r['user_s']) + float(r['sys_s']),
        'rss': lambda r: float(r['peak_rss_kb']), 'minflt': lambda r: float(r['minflt'])}

def med(rows, be, b, k):
    v = [KEYS[k](r) for r in rows if r['backend'] == be and r['benchmark'] == b]
    return statistics.median(v) if v else float('nan')

g = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
d = sys.argv[1]
data = {iso: load(d, iso) for iso in ('exec', 'fork')}
benches = sorted(set(r['benchmark'] for r in data['exec']))
for iso in ('exec', 'fork'):
    rows = data[iso]
    print(f'\n### compat/sys, --isolation {iso} ({len(glob.glob(os.path.join(d, iso + "_run*")))} runs x 3 repeats; medians)\n')
    print('| benchmark | wall | CPU | peak RSS | sys peak RSS (MiB) | minor faults |')
    print('|---|---|---|---|---|---|')
    acc = {k: [] for k in KEYS}
    for b in benches:
        r = {k: med(rows, 'ptmalloc', b, k) / med(rows, 'sys', b, k) for k in KEYS}
        for k in KEYS:
            acc[k].append(r[k])
        print(f"| {b} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.2f} | {med(rows, 'sys', b, 'rss') / 1024:.1f} | {r['minflt']:.2f} |")
    print(f"| **geomean** | **{g(acc['wall']):.3f}** | **{g(acc['cpu']):.3f}** | **{g(acc['rss']):.3f}** | | **{g(acc['minflt']):.3f}** |")
print('\n### each backend, exec / fork (medians)\n')
print('| benchmark | sys wall | sys peak RSS | sys faults | ptmalloc wall | ptmalloc peak RSS | ptmalloc faults |')
print('|---|---|---|---|---|---|---|')
acc = {}
for b in benches:
    cells = []
    for be in ('sys', 'ptmalloc'):
        for k in ('wall', 'rss', 'minflt'):
            x = med(data['exec'], be, b, k) / med(data['fork'], be, b, k)
            acc.setdefault((be, k), []).append(x)
            cells.append(f'{x:.2f}')
    print(f'| {b} | ' + ' | '.join(cells) + ' |')
print('| **geomean** | ' + ' | '.join(f"**{g(acc[(be, k)]):.3f}**" for be in ('sys', 'ptmalloc')
                                       for k in ('wall', 'rss', 'minflt')) + ' |')

print('\n### per run: geometric mean over the benchmarks of that run\'s compat/sys median ratios\n')
print('| run | wall | CPU | peak RSS |')
print('|---|---|---|---|')
for iso in ('exec', 'fork'):
    for p in sorted(glob.glob(os.path.join(d, f'{iso}_run*', 'runs.csv'))):
        rows = [r for r in csv.DictReader(open(p)) if r['status'] == 'ok']
        bs = sorted(set(r['benchmark'] for r in rows))
        cells = [g([med(rows, 'ptmalloc', b, k) / med(rows, 'sys', b, k) for b in bs]) for k in ('wall', 'cpu', 'rss')]
        print(f'| {os.path.basename(os.path.dirname(p))} | ' + ' | '.join(f'{x:.3f}' for x in cells) + ' |')
