import sys,re
def parse(f):
    maps=[];cur=None
    for line in open(f):
        if re.match(r'^[0-9a-f]+-[0-9a-f]+ ',line):
            parts=line.split()
            cur={'range':parts[0],'name':parts[5] if len(parts)>5 else '['+parts[1]+' anon]','perm':parts[1]}
            maps.append(cur)
        elif line.startswith('Rss:'):
            cur['rss']=int(line.split()[1])
        elif line.startswith('Anonymous:'):
            cur['anon']=int(line.split()[1])
    return maps
def agg(maps):
    d={}
    for m in maps:
        k=(m['name'],m['perm'])
        d[k]=d.get(k,0)+m['rss']
    return d
if len(sys.argv)==2:
    a=agg(parse(sys.argv[1]))
    tot=0
    for k,v in sorted(a.items(),key=lambda x:-x[1]):
        if v: print(f"{v:8d} {k}")
        tot+=v
    print("total",tot)
else:
    a=agg(parse(sys.argv[1])); b=agg(parse(sys.argv[2]))
    for k in sorted(set(a)|set(b), key=lambda k: -(b.get(k,0)-a.get(k,0))):
        d=b.get(k,0)-a.get(k,0)
        if d: print(f"{d:+8d} {a.get(k,0):8d} {b.get(k,0):8d} {k}")
    print("total", sum(b.values())-sum(a.values()), sum(a.values()), sum(b.values()))
