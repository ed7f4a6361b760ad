#!/usr/bin/env python3
"""Baseline and peak RSS of the four small benchmarks, before (82c62dc) and
after (e2aa71b) the zone-creation cut: medians over raw/rss_small_{before,after}/runs_*.csv
(each file: mallet bench --backends sys,ptmalloc --bench cache-thrash,lifo-small,
small-churn,cache-scratch --repeats 3; the two binaries alternated, old new old new).
usage: rss_small.py (run from this folder)"""
import csv, glob, statistics, collections
def load(tag):
    d = collections.defaultdict(list)
    for f in glob.glob(f'raw/rss_small_{tag}/runs_*.csv'):
        for r in csv.DictReader(open(f)):
            d[(r['benchmark'], r['backend'])].append((int(r['baseline_rss_kb']), int(r['peak_rss_kb'])))
    return d
b, a = load('before'), load('after')
med = lambda L, i: statistics.median(x[i] for x in L)
print('| benchmark | baseline sys | baseline pt before | baseline pt after | peak sys (before / after run) | peak pt before | peak pt after | peak ratio before | peak ratio after |')
print('|---|---|---|---|---|---|---|---|---|')
for n in sorted(set(k[0] for k in b)):
    sb, pb, sa, pa = b[(n, 'sys')], b[(n, 'ptmalloc')], a[(n, 'sys')], a[(n, 'ptmalloc')]
    print(f'| {n} | {med(sb,0):.0f} | {med(pb,0):.0f} | {med(pa,0):.0f} | {med(sb,1):.0f} / {med(sa,1):.0f} | '
          f'{med(pb,1):.0f} | {med(pa,1):.0f} | {med(pb,1)/med(sb,1):.3f} | {med(pa,1)/med(sa,1):.3f} |')
