#!/usr/bin/env python3
"""1-core against 2-core replay on a machine other people use too.

usage: bench/scaling.py ROUNDS MIX BINARY...   (MODES=2 for two-core runs only)

Interleaved rounds of `GOMAXPROCS=1 BIN replay --workers 1 MIX` and
`GOMAXPROCS=2 BIN replay --workers 2 MIX`, each in its own autogroup at
nice -19 (root), so other sessions' load takes ~1.5 % of the CPU instead of
half of it; a one-core run also gets a spinner (no memory traffic) on the
other core, so it shares no cache or memory bandwidth with other work.
Prints medians: wall, CPU (user + sys), peak RSS, and the ratio the issue
asks for (1-core CPU-s / 2-core wall). BENCHMARKS.md, par5.
"""
import sys, subprocess, time, statistics as st, os, resource
R=int(sys.argv[1]); mix=sys.argv[2]; bins=sys.argv[3:]
modes=os.environ.get("MODES","1,2").split(",")
res={}
def run(b,c):
    # 1c: a spinner (no memory traffic) holds the other core at the same priority, so the
    # one-core run shares no cache or memory bandwidth with other sessions' work either.
    spin = 'nice -n -19 sh -c "while :; do :; done" & S=$!; ' if c == '1' else ''
    cmd=f'echo -19 > /proc/self/autogroup; {spin}GOMAXPROCS={c} nice -n -19 /usr/bin/time -f "%e %U %S %M" {b} replay -q -o /dev/null --workers {c} {mix}; [ -n "$S" ] && kill $S; true'
    p=subprocess.run(['setsid','sh','-c',cmd],capture_output=True,text=True)
    w,u,s,m=p.stderr.strip().split('\n')[-1].split()
    res.setdefault((b,c),[]).append((float(w),float(u)+float(s),int(m)))
for r in range(R):
    for b in bins:
        for c in modes: run(b,c)
for b in bins:
    out=b.ljust(22)
    for c in modes:
        v=res.get((b,c),[])
        out+=f" | {c}c wall {st.median([x[0] for x in v]):.3f} cpu {st.median([x[1] for x in v]):.3f} rss {st.median([x[2] for x in v])/1024:.0f}M"
    if '1' in modes and '2' in modes:
        c1=st.median([x[1] for x in res[(b,'1')]]); w2=st.median([x[0] for x in res[(b,'2')]])
        out+=f" | ratio {c1/w2:.2f}"
    print(out, f"n={R}")
print("raw:", {f"{k[0].split('/')[-1]}:{k[1]}":[round(x[0],2) for x in v] for k,v in res.items()})
