#!/usr/bin/env python3
"""Per-benchmark instructions per call, before and after, from the lines
callgrind.sh prints: callgrind_before.txt is results/2026-11-25_ptmalloc_perf's
callgrind_after.txt (ptmalloc at a83501d; its code is unchanged up to main's
82c62dc, where this work starts); callgrind_after.txt is compat, sys and
hardened at 2fafc36. Geometric means. usage: table.py (run from this folder)"""
import math, re

def load(path):
    d = {}
    for line in open(path):
        m = re.match(r'(\S+) (\S+) ops=\d+ frontend_Ir=\d+ Ir_per_op=([\d.]+)', line)
        if m:
            d[(m.group(1), m.group(2))] = float(m.group(3))
    return d

def gm(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))

b, a = load('callgrind_before.txt'), load('callgrind_after.txt')
benches = [k[0] for k in a if k[1] == 'compat' and (k[0], 'compat') in b and (k[0], 'sys') in a]
cols = {'before/sys': [], 'after/sys': [], 'after/before': [], 'hard/compat': [], 'hard before/after': []}
print('| benchmark | compat before | compat after | sys | hardened before | hardened after '
      '| compat/sys before | compat/sys after | hardened/compat after |')
print('|---|---|---|---|---|---|---|---|---|')
for n in benches:
    cb, ca, s = b[(n, 'compat')], a[(n, 'compat')], a[(n, 'sys')]
    hb, ha = b[(n, 'hardened')], a[(n, 'hardened')]
    cols['before/sys'].append(cb / s); cols['after/sys'].append(ca / s); cols['after/before'].append(ca / cb)
    cols['hard/compat'].append(ha / ca); cols['hard before/after'].append(ha / hb)
    print(f'| {n} | {cb:.0f} | {ca:.0f} | {s:.0f} | {hb:.0f} | {ha:.0f} | {cb / s:.2f} | {ca / s:.2f} | {ha / ca:.2f} |')
print(f'| **geometric mean** ({len(benches)}) | | | | | | **{gm(cols["before/sys"]):.2f}** | '
      f'**{gm(cols["after/sys"]):.2f}** | **{gm(cols["hard/compat"]):.2f}** |')
print()
print(f'compat after/before: {gm(cols["after/before"]):.3f}; hardened after/before: {gm(cols["hard before/after"]):.3f}')
print(f'benchmarks with compat <= 1.00x sys: {sum(x <= 1.0 for x in cols["after/sys"])} of {len(benches)}; '
      f'<= 1.10x: {sum(x <= 1.1 for x in cols["after/sys"])}')
