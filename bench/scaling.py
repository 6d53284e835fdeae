#!/usr/bin/env python3
"""1-core against 2-core replay on a machine other people use too.

usage: bench/scaling.py ROUNDS MIX BINARY...   (MODES=1,2 by default; 2 alone; 1,2,pair,split)

Interleaved rounds of `GOMAXPROCS=1 BIN replay --workers 1 MIX` and
`GOMAXPROCS=2 BIN replay --workers 2 MIX`, each in its own autogroup at
nice -19 (root), so other sessions' load takes ~1.5 % of the CPU instead of
half of it. A one-core run is pinned (taskset), to core 0 and to core 1 in
turn, and a spinner (no memory traffic) holds the other core, so it shares
no cache or memory bandwidth with other work.

Why pinned: on this VM the two cores are not always equally fast. For
hours at a time one of them runs this workload up to 1.8x slower than the
other (a spin loop runs equally fast on both: it is the memory side), and
which one changes. An unpinned one-core run lands on either, so its median
is a coin toss, while a two-core run always gets one fast and one slow core.

MODES=1,2,pair adds a pair: two one-core runs at once, pinned to core 0
and core 1, the most two cores can do with this work when nothing is
shared; `of pair` is the pair's capacity (the wall of one run's work
split between the two at their pair speeds) over the two-core wall, 1.00
meaning the two-core run loses nothing to sharing, serial start-up or
hand-offs.

MODES=...,split adds a split: the one-core run's flows divided between
two one-core runs at once, pinned to core 0 and core 1, each keeping half
the flows with a filter on the parity of the port sum (symmetric, so a
flow's two directions stay together; TCP and UDP only). Nothing is shared
and no packet crosses between the cores, and each run reads the whole
file: the best case of a design in which every worker reads the input
itself (its filter skips the other half before decoding). `2c at x of
split` is the split's wall (the slower of the two) over the two-core
wall: above 1.00 the pipeline beats it. BENCHMARKS.md, session 12.

Prints medians: wall, CPU (user + sys), peak RSS, and two ratios:
  ratio       one-core CPU-s (median over both cores) / two-core wall
  normalized  2 * ideal / two-core wall, where ideal = 1/(1/c0 + 1/c1) is
              the wall a perfectly parallel run would take on these two
              cores (c0, c1: one-core CPU-s on each); on two equal cores it
              is the plain ratio. BENCHMARKS.md, sessions 5 and 8.
  per round   the normalized ratio within each round, whose runs are
              seconds apart: its median and quartiles, and how many rounds
              reach 1.8 (session 9: the host's speed changes from minute
              to minute, and medians over a series mix its phases).
and the same two for the replay phase alone, from the `elapsed` of the
replay's summary line (pipeline start to last record: what a running
sensor's throughput sees, without the ~30 ms of process start-up).

C2C=PATH (a build of bench/cmd/c2c) measures, before each round, how
long a cache line takes to move between the two cores, and prints each
round's normalized ratio beside it: on this VM the host moves the two
virtual CPUs between cores that share a cache and cores that do not, and
the two-core ratio follows (BENCHMARKS.md, session 10).
"""
import sys, subprocess, statistics as st, os, re
R=int(sys.argv[1]); mix=sys.argv[2]; bins=sys.argv[3:]
modes=os.environ.get("MODES","1,2").split(",")
res={}
def at_once(b, extra):
    """Two one-core runs at once, pinned to core 0 and core 1, with
    extra(core) added to each command line; returns both (wall, CPU, RSS)."""
    one=lambda core: f'GOMAXPROCS=1 nice -n -19 /usr/bin/time -f "%e %U %S %M" taskset -c {core} {b} replay -q -o /dev/null --workers 1 {extra(core)} {mix}'
    cmd=f'echo -19 > /proc/self/autogroup; ( {one(0)} ) 2>/tmp/scaling-pair0 & ( {one(1)} ) 2>/tmp/scaling-pair1; wait; cat /tmp/scaling-pair0 /tmp/scaling-pair1 >&2'
    p=subprocess.run(['setsid','sh','-c',cmd],capture_output=True,text=True)
    lines=[l.split() for l in p.stderr.strip().split('\n') if len(l.split())==4]
    return [(float(w),float(u)+float(s_),int(m)) for w,u,s_,m in lines[-2:]]
def pair(b):
    for core,r in enumerate(at_once(b, lambda core: '')):
        res.setdefault((b,'pair',core),[]).append(r)
SPLIT=["(tcp and (tcp[0:2]+tcp[2:2]) & 1 = %d) or (udp and (udp[0:2]+udp[2:2]) & 1 = %d)" % (k,k) for k in (0,1)]
def split(b):
    rs=at_once(b, lambda core: f'-f "{SPLIT[core]}"')
    res.setdefault((b,'split',None),[]).append((max(r[0] for r in rs),sum(r[1] for r in rs),max(r[2] for r in rs)))
def run(b,c,core):
    pin=f'taskset -c {core} ' if core is not None else ''
    spin=f'taskset -c {1-core} nice -n -19 sh -c "while :; do :; done" & S=$!; ' if core is not None else ''
    cmd=f'echo -19 > /proc/self/autogroup; {spin}GOMAXPROCS={c} nice -n -19 /usr/bin/time -f "%e %U %S %M" {pin}{b} replay -o /dev/null --workers {c} {mix}; [ -n "$S" ] && kill $S; true'
    p=subprocess.run(['setsid','sh','-c',cmd],capture_output=True,text=True)
    w,u,s,m=p.stderr.strip().split('\n')[-1].split()
    res.setdefault((b,c,core),[]).append((float(w),float(u)+float(s),int(m),elapsed(p.stderr)))
def elapsed(stderr):
    # the replay summary's own elapsed: from the pipeline's start to its
    # last record, without process start-up and exit
    m=re.search(r'elapsed ([0-9.]+)(ms|s)\b', stderr)
    return float(m.group(1))/(1000 if m.group(2)=='ms' else 1) if m else float('nan')
c2c=[]
def measure_c2c():
    p=subprocess.run([os.environ['C2C']],capture_output=True,text=True)
    m=re.search(r'pingpong (\d+) ns\s+stream (-?[0-9.]+)',p.stdout)
    c2c.append((int(m.group(1)),float(m.group(2))) if m else (0,0.0))
for r in range(R):
    if os.environ.get('C2C'): measure_c2c()
    for b in bins:
        for c in modes:
            if c=='1':
                for core in ((0,1) if r%2==0 else (1,0)): run(b,c,core)
            elif c=='pair': pair(b)
            elif c=='split': split(b)
            else: run(b,c,None)
med=lambda v,i: st.median([x[i] for x in v])
for b in bins:
    out=b.ljust(22)
    if '1' in modes:
        v=res[(b,'1',0)]+res[(b,'1',1)]
        c0,c1=med(res[(b,'1',0)],1),med(res[(b,'1',1)],1)
        out+=f" | 1c wall {med(v,0):.3f} cpu {med(v,1):.3f} (core0 {c0:.3f} core1 {c1:.3f}) rss {med(v,2)/1024:.0f}M"
    if '2' in modes:
        v=res[(b,'2',None)]
        out+=f" | 2c wall {med(v,0):.3f} cpu {med(v,1):.3f} rss {med(v,2)/1024:.0f}M"
    if '1' in modes and '2' in modes:
        w2=med(res[(b,'2',None)],0)
        ideal=1/(1/c0+1/c1)
        out+=f" | ratio {med(res[(b,'1',0)]+res[(b,'1',1)],1)/w2:.2f} normalized {2*ideal/w2:.2f}"
        e0,e1,e2=med(res[(b,'1',0)],3),med(res[(b,'1',1)],3),med(res[(b,'2',None)],3)
        out+=f" | replay phase (summary elapsed) 1c {e0:.3f}/{e1:.3f} 2c {e2:.3f}: ratio {med(res[(b,'1',0)]+res[(b,'1',1)],3)/e2:.2f} normalized {2/(1/e0+1/e1)/e2:.2f}"
    if '1' in modes and '2' in modes:
        # The same ratio round by round: the runs of one round are seconds
        # apart, so on a host whose speed changes from minute to minute
        # (BENCHMARKS.md, session 9) they see the same machine, while the
        # medians above may each come from another phase.
        rr=sorted(2/(1/a[1]+1/b[1])/c[0] for a,b,c in zip(res[(b,'1',0)],res[(b,'1',1)],res[(b,'2',None)]))
        q=lambda f: rr[min(len(rr)-1,int(f*len(rr)))]
        out+=f" | per round normalized median {st.median(rr):.2f} (quartiles {q(0.25):.2f}-{q(0.75):.2f}, {sum(x>=1.8 for x in rr)}/{len(rr)} rounds >= 1.8)"
        # and for the replay phase alone (summary elapsed): a running
        # sensor's steady state, without process start-up and exit
        re_=sorted(2/(1/a[3]+1/b[3])/c[3] for a,b,c in zip(res[(b,'1',0)],res[(b,'1',1)],res[(b,'2',None)]))
        qe=lambda f: re_[min(len(re_)-1,int(f*len(re_)))]
        out+=f", replay phase {st.median(re_):.2f} ({qe(0.25):.2f}-{qe(0.75):.2f}, {sum(x>=1.8 for x in re_)}/{len(re_)} >= 1.8)"
    if 'pair' in modes and '2' in modes:
        p0,p1=med(res[(b,'pair',0)],1),med(res[(b,'pair',1)],1)
        out+=f" | pair cpu core0 {p0:.3f} core1 {p1:.3f}, 2c at {1/(1/p0+1/p1)/med(res[(b,'2',None)],0):.2f} of pair"
    if 'split' in modes:
        v=res[(b,'split',None)]
        out+=f" | split wall {med(v,0):.3f} cpu {med(v,1):.3f}"
        if '2' in modes:
            out+=f", 2c at {med(v,0)/med(res[(b,'2',None)],0):.2f} of split"
        if '1' in modes:
            rs=sorted(2/(1/a[1]+1/b_[1])/c[0] for a,b_,c in zip(res[(b,'1',0)],res[(b,'1',1)],v))
            out+=f", split per round normalized median {st.median(rs):.2f} ({rs[0]:.2f}-{rs[-1]:.2f})"
    print(out, f"n={R}")
if c2c and '1' in modes and '2' in modes:
    for b in bins:
        rr=[2/(1/x[1]+1/y[1])/z[0] for x,y,z in zip(res[(b,'1',0)],res[(b,'1',1)],res[(b,'2',None)])]
        # excess: CPU-s the two-core run spends beyond the one-core runs
        # of its round (both cores' work, 2 * ideal), what sharing costs
        ex=[z[1]-2/(1/x[1]+1/y[1]) for x,y,z in zip(res[(b,'1',0)],res[(b,'1',1)],res[(b,'2',None)])]
        print(b.split('/')[-1], "per round (ping-pong ns, stream ns/line, normalized ratio, excess CPU-s):",
              " ".join(f"{p}/{s_:.1f}/{x:.2f}/{e:+.3f}" for (p,s_),x,e in sorted(zip(c2c,rr,ex))))
        print(b.split('/')[-1], f"excess CPU-s per round: median {st.median(ex):+.3f}")
print("raw:", {f"{k[0].split('/')[-1]}:{k[1]}{'' if k[2] is None else '@'+str(k[2])}":[round(x[0],2) for x in v] for k,v in res.items()})
