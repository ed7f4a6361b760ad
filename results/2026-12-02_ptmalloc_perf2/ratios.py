#!/usr/bin/env python3
"""ptmalloc compat vs sys inside one interleaved run: per-benchmark medians
of wall time, CPU time (user + sys) and peak RSS, their ratios, and the
geometric means of the ratios; then the same geometric means for the
hardened entry (label ptmalloc:harden=1) against compat and against sys.

usage: ratios.py RUN_DIR   (RUN_DIR holds the runner's runs.csv)
"""
import csv, math, statistics, sys, os

def medians(path, backend, key):
    runs = {}
    with open(os.path.join(path, 'runs.csv')) as f:
        for row in csv.DictReader(f):
            if row['backend'] == backend and row['status'] == 'ok':
                runs.setdefault(row['benchmark'], []).append(key(row))
    return {b: statistics.median(v) for b, v in runs.items()}

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))

d = sys.argv[1]
wall = lambda r: float(r['wall_s'])
cpu = lambda r: float(r['user_s']) + float(r['sys_s'])
rss = lambda r: float(r['peak_rss_kb']) - float(r['baseline_rss_kb'])
prss = lambda r: float(r['peak_rss_kb'])
m = {k: (medians(d, 'ptmalloc', f), medians(d, 'sys', f)) for k, f in
     (('wall', wall), ('cpu', cpu), ('rss', prss), ('rss_net', rss))}
benches = [b for b in m['wall'][0] if b in m['wall'][1]]
print('| benchmark | wall pt / sys (s) | wall ratio | CPU pt / sys (s) | CPU ratio | peak RSS pt / sys (KiB) | RSS ratio |')
print('|---|---|---|---|---|---|---|')
ratios = {k: [] for k in m}
for b in benches:
    row = [b]
    for k in ('wall', 'cpu', 'rss'):
        p, s = m[k][0][b], m[k][1][b]
        ratios[k].append(p / s)
        fmt = '{:.0f}' if k == 'rss' else '{:.3g}'
        row += [fmt.format(p) + ' / ' + fmt.format(s), f'{p / s:.2f}']
    p, s = m['rss_net'][0][b], m['rss_net'][1][b]
    if p > 0 and s > 0:
        ratios['rss_net'].append(p / s)
    print('| ' + ' | '.join(row) + ' |')
print()
for k, label in (('wall', 'wall'), ('cpu', 'CPU (user+sys)'), ('rss', 'peak RSS'),
                 ('rss_net', 'peak RSS above the baseline (benchmarks where both are > 0)')):
    xs = ratios[k]
    print(f'geomean compat/sys {label}: {geomean(xs):.3f} over {len(xs)} benchmarks '
          f'(min {min(xs):.2f}, max {max(xs):.2f})')

hard = 'ptmalloc:harden=1'
print()
for k, label in (('wall', 'wall'), ('cpu', 'CPU (user+sys)'), ('rss', 'peak RSS')):
    f = {'wall': wall, 'cpu': cpu, 'rss': prss}[k]
    h = medians(d, hard, f)
    if not h:
        break
    hb = [b for b in benches if b in h]
    print(f'geomean hardened/compat {label}: {geomean([h[b] / m[k][0][b] for b in hb]):.3f}; '
          f'hardened/sys: {geomean([h[b] / m[k][1][b] for b in hb]):.3f} ({len(hb)} benchmarks)')
