#!/usr/bin/env python3
"""ptmalloc compat (and hardened) against sys from the runs in DIR.

Per benchmark: medians over all runs and repeats of wall, CPU (user+sys)
and peak RSS; the ratios to sys and their geometric means. Then each run's
own wall geomean (noise check). compat_runN/ hold sys,ptmalloc;
hardened_runN/ hold sys,ptmalloc,ptmalloc:harden=1 (its compat/sys ratios
are listed too, as more samples of the same question).

usage: compare.py DIR
"""
import csv, glob, math, os, statistics, sys

KEYS = {'wall': lambda r: float(r['wall_s']), 'cpu': lambda r: float(r['user_s']) + float(r['sys_s']),
        'rss': lambda r: float(r['peak_rss_kb'])}
g = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))


def load(paths):
    rows = []
    for p in paths:
        rows += [r for r in csv.DictReader(open(os.path.join(p, 'runs.csv'))) if r['status'] == 'ok']
    return rows


def med(rows, be, b, k):
    v = [KEYS[k](r) for r in rows if r['backend'] == be and r['benchmark'] == b]
    return statistics.median(v) if v else float('nan')


def table(rows, num, title):
    benches = sorted(set(r['benchmark'] for r in rows))
    print(f'\n### {title}\n')
    print('| benchmark | wall | CPU | peak RSS | sys wall (s) | sys peak RSS (MiB) |')
    print('|---|---|---|---|---|---|')
    acc = {k: [] for k in KEYS}
    for b in benches:
        r = {k: med(rows, num, b, k) / med(rows, 'sys', b, k) for k in KEYS}
        for k in KEYS:
            acc[k].append(r[k])
        print(f"| {b} | {r['wall']:.3f} | {r['cpu']:.3f} | {r['rss']:.3f} | {med(rows, 'sys', b, 'wall'):.3f} "
              f"| {med(rows, 'sys', b, 'rss') / 1024:.1f} |")
    print(f"| **geomean** | **{g(acc['wall']):.3f}** | **{g(acc['cpu']):.3f}** | **{g(acc['rss']):.3f}** | | |")


def per_run(paths, num):
    out = []
    for p in paths:
        rows = load([p])
        benches = sorted(set(r['benchmark'] for r in rows))
        out.append((os.path.basename(p), g([med(rows, num, b, 'wall') / med(rows, 'sys', b, 'wall') for b in benches]),
                    g([med(rows, num, b, 'cpu') / med(rows, 'sys', b, 'cpu') for b in benches])))
    return out


d = sys.argv[1]
compat = sorted(glob.glob(os.path.join(d, 'compat_run*')))
hard = sorted(glob.glob(os.path.join(d, 'hardened_run*')))
if compat:
    table(load(compat), 'ptmalloc', f'compat/sys, {len(compat)} runs x 3 repeats, fresh process per run (medians)')
if hard:
    table(load(hard), 'ptmalloc:harden=1', f'hardened/sys, {len(hard)} runs x 3 repeats (medians)')
    rows = load(hard)
    benches = sorted(set(r['benchmark'] for r in rows))
    hc = g([med(rows, 'ptmalloc:harden=1', b, 'wall') / med(rows, 'ptmalloc', b, 'wall') for b in benches])
    hr = g([med(rows, 'ptmalloc:harden=1', b, 'rss') / med(rows, 'ptmalloc', b, 'rss') for b in benches])
    print(f'\nhardened/compat in the same runs: wall geomean {hc:.3f}, peak RSS geomean {hr:.3f}')
print('\n### each run on its own: geomean over benchmarks of the per-benchmark median ratio\n')
print('| run | compat/sys wall | compat/sys CPU |')
print('|---|---|---|')
for name, w, c in per_run(compat + hard, 'ptmalloc'):
    print(f'| {name} | {w:.3f} | {c:.3f} |')
