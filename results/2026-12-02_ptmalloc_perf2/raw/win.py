import re,sys,subprocess,collections
def load(data):
    out=subprocess.run(['perf','script','-i',data,'--show-mmap-events','-F','pid,ip,sym,addr'],capture_output=True,text=True).stdout
    maps=collections.defaultdict(list) # pid -> list of (start,end,pgoff,file)
    faults=collections.defaultdict(list)
    for line in out.splitlines():
        if 'PERF_RECORD_MMAP' in line:
            m=re.search(r'(\d+)/\d+: \[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0) .*?\]: (\S+) (\S+)',line)
            if m:
                pid=int(m.group(1)); st=int(m.group(2),16); ln=int(m.group(3),16); off=int(m.group(4),16); f=m.group(6)
                maps[pid].append((st,st+ln,off,f,m.group(5)))
            continue
        parts=line.split()
        if len(parts)>=2 and parts[0].isdigit():
            faults[int(parts[0])].append((int(parts[1],16),line))
    return maps,faults
maps,faults=load(sys.argv[1])
# child: pid with most faults mentioning target symbol
target=sys.argv[2]
pids=[p for p in faults if any(target in l for _,l in faults[p])]
pid=max(pids,key=lambda p:len(faults[p]))
# maps are inherited: collect from all pids (same addresses after fork of the parent)
allmaps=[m for p in maps for m in maps[p]]
wins=[]
seen=set()
for a,l in faults[pid]:
    f=None
    for st,en,off,fn,prot in allmaps:
        if st<=a<en and fn.startswith('/'):
            f=(fn.split('/')[-1], (a-st+off)>>16); break
    if f and f not in seen:
        seen.add(f); wins.append((f,l.split()[2] if len(l.split())>2 else ''))
for w,s in wins: print(w[0],hex(w[1]<<16),s)
