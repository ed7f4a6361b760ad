#!/usr/bin/env python3
"""Geometric-mean ratios of median wall time between runs of this folder.

usage: ratios.py  (run from this folder)
Prints per benchmark the median wall time of ptmalloc compat (default zone,
compat_sys/), ptmalloc compat (created zone, compat_zone/), ptmalloc hardened
(hardened/) and sys (compat_sys/), and the geometric means of
hardened/compat_zone, compat/sys and hardened/sys.
"""
import csv, math, statistics, sys, os

def medians(path, backend):
    runs = {}
    with open(os.path.join(path, 'runs.csv')) as f:
        for row in csv.DictReader(f):
            if row['backend'] == backend and row['status'] == 'ok':
                runs.setdefault(row['benchmark'], []).append(float(row['wall_s']))
    return {b: statistics.median(v) for b, v in runs.items()}

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))

cdef = medians('compat_sys', 'ptmalloc')
sysm = medians('compat_sys', 'sys')
czone = medians('compat_zone', 'ptmalloc')
hard = medians('hardened', 'ptmalloc')
benches = [b for b in cdef if b in sysm and b in czone and b in hard]
print('| benchmark | compat (default zone) | compat (created zone) | hardened | sys | hardened/compat | compat/sys |')
print('|---|---|---|---|---|---|---|')
for b in benches:
    print(f'| {b} | {cdef[b]:.3g} s | {czone[b]:.3g} s | {hard[b]:.3g} s | {sysm[b]:.3g} s | '
          f'{hard[b]/czone[b]:.2f} | {cdef[b]/sysm[b]:.2f} |')
print()
print(f'geomean hardened/compat (created zones, same path): {geomean([hard[b]/czone[b] for b in benches]):.3f} ({len(benches)} benchmarks)')
print(f'geomean compat/sys (same run, interleaved):         {geomean([cdef[b]/sysm[b] for b in benches]):.3f}')
print(f'geomean compat created zone / compat default zone:  {geomean([czone[b]/cdef[b] for b in benches]):.3f}')
print(f'geomean hardened/sys (separate runs):               {geomean([hard[b]/sysm[b] for b in benches]):.3f}')
