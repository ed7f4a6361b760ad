#!/usr/bin/env python3
"""CPU (user+sys) ns per malloc/free pair from mallet bench runs.csv files.

usage: cpu_table.py DIR [DIR...]  — one row per (dir, backend): min and median
over the successful repeats, wall min, madvise calls and minor faults (median).
A pair is two allocator calls: pairs = ops / 2.
"""
import csv, statistics, sys

for d in sys.argv[1:]:
    rows = {}
    for r in csv.DictReader(open(f"{d}/runs.csv")):
        if r["status"] != "ok":
            continue
        pairs = int(r["ops"]) / 2
        cpu = (float(r["user_s"]) + float(r["sys_s"])) / pairs * 1e9
        sysns = float(r["sys_s"]) / pairs * 1e9
        wall = float(r["wall_s"]) / pairs * 1e9
        rows.setdefault(r["backend"], []).append((cpu, sysns, wall, int(r["vm_madvises"] or 0), int(r["minflt"] or 0)))
    for be, v in rows.items():
        cpu = [x[0] for x in v]
        print(f"{d.split('/')[-1]:10s} {be:6s} n={len(v)} cpu_min={min(cpu):6.1f} cpu_med={statistics.median(cpu):6.1f} "
              f"sys_med={statistics.median(x[1] for x in v):6.1f} wall_min={min(x[2] for x in v):6.1f} "
              f"madvise={statistics.median(x[3] for x in v):.0f} minflt={statistics.median(x[4] for x in v):.0f}")
