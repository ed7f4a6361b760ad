#!/usr/bin/env python3
"""fuzz/make_seeds.py — writes the seed corpora corpora/<target>/<sha1>.

Seeds are built with an encoder mirroring fuzz/fuzz_ops.h (opcode byte,
slot byte, operands; sizes as tier byte + operand), so together they cover
every op and every size tier. Re-running is idempotent (names are content
hashes); old seeds are kept unless --clean. Keep seeds small.
"""
import hashlib, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = dict(malloc=0, calloc=1, realloc=2, memalign=3, free=4, fds=5, bmalloc=6, bfree=7,
           relief=8, handoff=9, write=10, check=11, dfree=12, ifree=13, uaf=14, overflow=15)

# Logical tiers -> tier byte of fuzz_ops.h: 0 tiny(u8) 1 small(u16) 2 medium(u16)
# 3 large(u32) 4 huge(u32) 5 2^k±1(u8) 6 impossible(u8) 7 literal(u32).
TIER_BYTE = {0: 0, 1: 4, 2: 7, 3: 11, 4: 12, 5: 9, 6: 13, 7: 14}

def size(tier, v=0):
    b = TIER_BYTE[tier]
    if tier in (0, 5, 6):
        return bytes([b, v & 0xFF])
    if tier in (1, 2):
        return bytes([b]) + struct.pack('<H', v & 0xFFFF)
    return bytes([b]) + struct.pack('<I', v & 0xFFFFFFFF)

def pow2(k, d=1):  # d: 0 = 2^k-1, 1 = 2^k, 2 = 2^k+1, 3 = 1008
    return size(5, (k << 2) | d)

def op(name, slot, *rest):
    out = bytes([OPS[name], slot])
    for r in rest:
        out += r if isinstance(r, bytes) else bytes([r])
    return out

def inj(name, slot, mode, off, data=b''):
    out = op(name, slot, mode) + struct.pack('<H', off)
    if name in ('uaf', 'overflow'):
        out += bytes([(len(data) - 1) % 8]) + data
    return out

def ops_seeds():
    seeds = []
    every = (op('malloc', 0, size(0, 24)) + op('calloc', 1, 3, size(1, 300)) +
             op('realloc', 0, size(1, 700)) + op('memalign', 2, 5, size(0, 40)) +
             op('write', 1, b'\x01\x02\x03\x04') + op('check', 0) + op('fds', 1) +
             op('bmalloc', 3, 4, size(0, 48)) + op('bfree', 3, 2) + op('handoff', 4, 2) +
             op('malloc', 5, size(2, 5000)) + op('relief', 0, 0) + op('free', 0) + op('free', 2) +
             op('dfree', 5, 0, b'\x00\x00') + op('uaf', 6, 0, b'\x00\x00\x00\x41') +
             op('overflow', 3, 0, b'\x00\x00\x00\x41') + op('ifree', 7, 0, b'\x00\x00'))
    for b in range(4):  # one per backend index (modulo the usable count)
        seeds.append(bytes([b]) + every)
    tiers = b''.join(op('malloc', t, size(t, 0x12345 * (t + 1))) for t in (0, 1, 2, 3, 4, 7))
    tiers += b''.join(op('realloc', t, size((t + 2) % 5, 999 * t)) for t in (0, 1, 2, 3, 4, 7))
    tiers += op('check', 0) + b''.join(op('free', t) for t in (0, 1, 2, 3, 4, 7))
    seeds.append(b'\x00' + tiers)
    seeds.append(b'\x01' + tiers)
    bounds = b''
    for i, k in enumerate((4, 8, 10, 12, 15, 20, 23)):
        for d in range(3):
            bounds += op('malloc', (i * 3 + d) % 64, pow2(k, d))
    bounds += op('malloc', 30, pow2(0, 3)) + op('realloc', 30, size(7, 32768)) + op('check', 0)
    seeds.append(b'\x02' + bounds)
    bad = (op('malloc', 0, size(6, 0)) + op('calloc', 1, 0x85, size(1, 10)) + op('calloc', 2, 3, size(6, 2)) +
           op('memalign', 3, 0xF9, size(0, 64)) + op('memalign', 4, 0xFE, size(0, 64)) +
           op('malloc', 5, size(0, 8)) + op('realloc', 5, size(6, 1)) + op('realloc', 5, size(0, 0)))
    seeds.append(b'\x03' + bad)
    align = b''.join(op('memalign', a % 64, a, size(1, 100 + a * 37)) for a in range(14))
    seeds.append(b'\x02' + align + op('check', 0))
    churn = b''
    for i in range(24):
        churn += op('bmalloc', i, 15, size(0, i * 10)) + op('handoff', i * 3, 3) + op('bfree', i * 5, 7)
    seeds.append(b'\x00' + churn)
    return seeds

def misuse_seeds():
    base = op('malloc', 0, size(0, 32)) + op('malloc', 1, size(0, 32)) + op('malloc', 2, size(1, 300))
    s = []
    for mode in (0, 1, 2, 4, 5):  # immediate, delayed 1/2, realloc now / delayed
        s.append(b'\x00' + base + inj('dfree', 0, mode, 0) + op('malloc', 3, size(0, 32)) +
                 op('malloc', 4, size(0, 32)) + op('malloc', 5, size(0, 32)))
    for mode in range(4):
        s.append(b'\x00' + base + inj('ifree', 2, mode, 17))
    s.append(b'\x00' + base + op('free', 1) + inj('uaf', 0, 1, 0, b'\x41\x41\x41\x41') +
             op('malloc', 3, size(0, 32)) + op('malloc', 4, size(0, 32)))
    s.append(b'\x00' + base + op('free', 2) + inj('uaf', 0, 0, 100, b'\xff\xff'))
    s.append(b'\x00' + base + inj('overflow', 0, 0, 0, b'\x10\x00\x00\x00\x00\x00\x00\x01') + op('free', 1))
    s.append(b'\x00' + base + op('free', 1) + inj('overflow', 0, 0, 0, b'\x99\x99') + op('check', 0))
    return s

def options_seeds():
    return [s.encode() for s in (
        't.flag=yes:t.level=7', 'TFlag:t.count=-12,t.size=64K', 't.limit=1G:t.name=hello',
        'TSize=4KiB,TName=x', 't.level=101', 't.count=0x7fffffffffffffff', 't.size=18446744073709551615',
        't.size=17179869184G', 'nope=1', 't.flag=maybe', 'MallocTFlag=off::,', 't.limit=15', '4096', '8M')]

def trace(records):
    hdr = b'MALLETTR' + struct.pack('<IIQII', 1, 40, 0, 1234, 0) + b'prog'.ljust(32, b'\0')
    body = b''
    for ts, size, aux, id_, old, thr, opc, flags in records:
        body += struct.pack('<QQQIIHBBI', ts, size, aux, id_, old, thr, opc, flags, 0)
    return hdr + body

def trace_seeds():
    recs = [(1, 100, 0, 1, 0, 0, 1, 0), (2, 64, 4, 2, 0, 0, 2, 0), (3, 300, 0, 3, 1, 1, 3, 0),
            (4, 0, 0, 0, 2, 0, 4, 0), (5, 256, 64, 4, 0, 0, 5, 0), (6, 4096, 0, 5, 0, 0, 6, 0),
            (7, 4096, 0, 6, 0, 0, 7, 0), (8, 256, 0, 0, 4, 0, 8, 0), (9, 1 << 40, 0, 0, 0, 0, 1, 1),
            (10, 0, 0, 0, 0, 1, 9, 0)]
    full = trace(recs)
    return [full, trace(recs[:3]), b'R' + full[64:64 + 40 * 4], full[:80], trace([(5, 1, 0, 2, 0, 0, 1, 0)])]

def sizespec_seeds():
    return [s.encode() for s in (
        'const:64', 'uniform:16-1024', 'pow2:16-65536', 'geometric:64,4096', 'lognormal:128,1.5,1M',
        'pareto:16,1.2,8M', 'mix:9*uniform:16-64+1*const:4096', 'profile:server', 'profile:tier-walk',
        'uniform:9-3', 'const:1G', 'mix:1*mix:1*const:1')]

def main():
    targets = dict(ops=ops_seeds(), diff=ops_seeds(), misuse=misuse_seeds(), misuse_toy=misuse_seeds(),
                   options=options_seeds(), trace=trace_seeds(), sizespec=sizespec_seeds())
    for t, seeds in targets.items():
        d = os.path.join(ROOT, 'corpora', t)
        os.makedirs(d, exist_ok=True)
        if '--clean' in sys.argv and t not in ('options', 'trace', 'sizespec'):  # text seeds + regressions stay
            for f in os.listdir(d):
                os.remove(os.path.join(d, f))
        for s in seeds:
            with open(os.path.join(d, hashlib.sha1(s).hexdigest()), 'wb') as f:
                f.write(s)
        print(f'{t}: {len(seeds)} seeds')

if __name__ == '__main__':
    main()
