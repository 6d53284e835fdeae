#!/usr/bin/env python3
"""One-core replay against ndpiReader, each round on one pinned core.

usage: bench/onecore.py ROUNDS MIX BINARY...   (NDPI=0 to leave ndpiReader out)

Each round runs every binary (`GOMAXPROCS=1 BIN replay --workers 1 MIX`)
and ndpiReader (`-i MIX -n 1`) pinned to the same core, core 0 and core 1
in turn, a spinner holding the other; all at nice -19 in their own
autogroup. The ratios are taken within a round, so both sides of each
ratio ran on the same core at nearly the same time: this VM's cores
differ in speed for hours at a time (bench/scaling.py), which made
unpinned medians of separate runs drift by 20 %. Prints per binary the
median CPU-s, RSS and the median of the per-round ratios ndpiReader
CPU-s / binary CPU-s. BENCHMARKS.md, session 8.
"""
import sys, subprocess, statistics as st, os
R=int(sys.argv[1]); mix=sys.argv[2]; bins=sys.argv[3:]
ndpi=os.environ.get("NDPI","1")!="0"
def run(cmd, core):
    sh=(f'echo -19 > /proc/self/autogroup; taskset -c {1-core} nice -n -19 sh -c "while :; do :; done" & S=$!; '
        f'nice -n -19 /usr/bin/time -f "%e %U %S %M" taskset -c {core} {cmd} >/dev/null; kill $S')
    p=subprocess.run(['setsid','sh','-c',sh],capture_output=True,text=True)
    w,u,s,m=p.stderr.strip().split('\n')[-1].split()
    return float(u)+float(s), int(m)
res={b:[] for b in bins}; ref=[]; ratios={b:[] for b in bins}
for r in range(R):
    core=r%2
    n=run(f'ndpiReader -q -i {mix} -n 1', core)[0] if ndpi else None
    if ndpi: ref.append(n)
    for b in bins:
        c,m=run(f'env GOMAXPROCS=1 {b} replay -q -o /dev/null --workers 1 {mix}', core)
        res[b].append((c,m))
        if ndpi: ratios[b].append(n/c)
if ndpi: print(f"ndpiReader cpu {st.median(ref):.2f}  all {[round(x,2) for x in ref]}")
for b in bins:
    v=res[b]
    out=f"{b.split('/')[-1]:18} cpu {st.median(x[0] for x in v):.3f} rss {st.median(x[1] for x in v)/1024:.0f}M"
    if ndpi: out+=f" | ndpi/cpu per round: median {st.median(ratios[b]):.2f}x  {[round(x,2) for x in ratios[b]]}"
    print(out, f"n={R}")
