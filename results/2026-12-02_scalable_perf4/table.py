"""Median-of-repeats table from a mallet bench runs.csv: CPU (user+sys) and wall
ratios of scalable to each other backend, inside one run."""
import csv, statistics as st, collections, sys, math
rows = list(csv.DictReader(open(sys.argv[1])))
backs = ['scalable', 'sys', 'je', 'mi', 'tc']
d = collections.defaultdict(list)
order = []
for r in rows:
    if r['status'] != 'ok':
        continue
    if r['benchmark'] not in order:
        order.append(r['benchmark'])
    d[(r['benchmark'], r['backend'])].append(r)
def med(b, k, f):
    v = [f(r) for r in d[(b, k)]]
    return st.median(v) if v else float('nan')
cpu = lambda r: float(r['user_s']) + float(r['sys_s'])
wall = lambda r: float(r['wall_s'])
print('| benchmark | scalable cpu s | sys cpu s | cpu ratio vs sys / je / mi / tc | wall ratio vs sys | scalable sys-time s | scalable maps / unmaps / madvises |')
print('|---|---|---|---|---|---|---|')
geo = collections.defaultdict(list)
for b in order:
    s = med(b, 'scalable', cpu)
    rs = []
    for k in backs[1:]:
        o = med(b, k, cpu)
        rr = s / o if o > 0 else float('nan')
        rs.append(rr)
        if rr == rr and rr > 0:
            geo[k].append(math.log(rr))
    w = med(b, 'scalable', wall) / med(b, 'sys', wall)
    geo['wall'].append(math.log(w))
    sc = d[(b, 'scalable')]
    ks = med(b, 'scalable', lambda r: float(r['sys_s']))
    mm = lambda f: int(st.median([int(r[f]) for r in sc])) if sc else -1
    print('| %s | %.3f | %.3f | %s | %.2fx | %.2f | %d / %d / %d |' % (b, s, med(b, 'sys', cpu), ' / '.join('%.2fx' % x for x in rs), w, ks, mm('vm_maps'), mm('vm_unmaps'), mm('vm_madvises')))
print('| **geomean** | | | %s | %.2fx | | |' % (' / '.join('%.2fx' % math.exp(st.mean(geo[k])) for k in backs[1:]), math.exp(st.mean(geo['wall']))))
