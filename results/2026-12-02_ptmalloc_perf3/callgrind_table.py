#!/usr/bin/env python3
"""Instructions per allocator call (results/2026-12-02_ptmalloc_perf2/callgrind.sh
output, one line per benchmark and configuration) for each step of this pass,
as a Markdown table with the geometric means of compat/sys and hardened/compat.

usage: callgrind_table.py DIR   (DIR/callgrind/{base,step1,step2,step3,final}.txt;
       base.txt and final.txt also hold the sys lines, final.txt the hardened ones)
"""
import math, os, sys

def load(path):
    d = {}
    for line in open(path):
        w = line.split()
        if len(w) >= 5 and w[4].startswith('Ir_per_op='):
            d.setdefault(w[1], {})[w[0]] = float(w[4].split('=')[1])
    return d

def gm(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))

d = os.path.join(sys.argv[1], 'callgrind')
steps = ['base', 'step1', 'step2', 'step3', 'final']
data = {s: load(os.path.join(d, s + '.txt')) for s in steps}
benches = list(data['base']['compat'])
print('| benchmark | ' + ' | '.join(f'compat {s}' for s in steps) +
      ' | sys (base) | sys (final) | compat/sys base | compat/sys final | hardened final | hardened/compat |')
print('|---' * (len(steps) + 7) + '|')
r0, r1, rh = [], [], []
for b in benches:
    c = [data[s]['compat'][b] for s in steps]
    s0, s1 = data['base']['sys'][b], data['final']['sys'][b]
    h = data['final']['hardened'][b]
    r0.append(c[0] / s0); r1.append(c[-1] / s1); rh.append(h / c[-1])
    print(f'| {b} | ' + ' | '.join(f'{x:.0f}' for x in c) +
          f' | {s0:.0f} | {s1:.0f} | {c[0]/s0:.2f} | {c[-1]/s1:.2f} | {h:.0f} | {h/c[-1]:.2f} |')
print(f'| **geometric mean** ({len(benches)}) |' + ' |' * len(steps) +
      f' | | **{gm(r0):.2f}** | **{gm(r1):.2f}** | | **{gm(rh):.2f}** |')
for s in steps[1:]:
    rs = [data[s]['compat'][b] / data['base']['compat'][b] for b in benches]
    print(f'\ncompat {s} / base: {gm(rs):.3f}', end='')
print()
