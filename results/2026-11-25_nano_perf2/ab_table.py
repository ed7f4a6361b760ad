#!/usr/bin/env python3
"""Before/after table from the alternating runs in ab/: for each (version,
binary), the CPU (user+sys) ns per pair of nano minus that of floor in the
same invocation (min over its repeats), and nano / sys, per round; then the
median over the rounds. usage: ab_table.py ab"""
import csv, statistics, sys, os, collections

def mins(path):
    m = collections.defaultdict(list)
    for r in csv.DictReader(open(path)):
        if r["status"] == "ok":
            m[r["backend"]].append((float(r["user_s"]) + float(r["sys_s"])) / (int(r["ops"]) / 2) * 1e9)
    return {b: min(v) for b, v in m.items()}

root = sys.argv[1]
res = collections.defaultdict(list)
for d in sorted(os.listdir(root)):
    ver, which, rnd = d.split("_")
    m = mins(f"{root}/{d}/runs.csv")
    res[(ver, which)].append((m["nano"], m["nano"] - m["floor"], m["sys"] - m["floor"], m["nano"] / m["sys"]))
for (ver, which), v in sorted(res.items()):
    med = [statistics.median(x[i] for x in v) for i in range(4)]
    print(f"{ver:4s} {which:6s} rounds={len(v)} nano={med[0]:6.1f} nano-floor={med[1]:6.1f} sys-floor={med[2]:5.1f} "
          f"nano/sys={med[3]:.2f}  per-round nano/sys: " + " ".join(f"{x[3]:.2f}" for x in v))
