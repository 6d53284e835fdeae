#!/usr/bin/env python3
"""Two builds against each other, interleaved, on a noisy machine.

usage: bench/ab.py ROUNDS MIX BIN_A BIN_B [CORES]   (CORES: GOMAXPROCS and --workers, default 2)

Each round runs `BIN replay -q -o /dev/null --workers CORES MIX` once per
build, the order alternating from round to round, each in its own
autogroup at nice -19 (root). Prints each build's median wall, CPU (user
+ sys) and peak RSS, then the per-round difference B - A (its median) and
how many rounds B won: on this VM the host's speed changes from minute to
minute, so the pairs within a round are what compares like with like
(BENCHMARKS.md, sessions 9 and 12). Nothing is pinned: for one core
against two, use bench/scaling.py.
"""
import subprocess, sys, statistics as st
R=int(sys.argv[1]); mix=sys.argv[2]; A=sys.argv[3]; B=sys.argv[4]; g=sys.argv[5] if len(sys.argv)>5 else '2'
def run(b):
    cmd=f'echo -19 > /proc/self/autogroup; GOMAXPROCS={g} nice -n -19 /usr/bin/time -f "%e %U %S %M" {b} replay -q -o /dev/null --workers {g} {mix}'
    p=subprocess.run(['setsid','sh','-c',cmd],capture_output=True,text=True)
    w,u,s,m=p.stderr.strip().split('\n')[-1].split(); return float(w), float(u)+float(s), int(m)/1024
res=([],[])  # by build index, so that A and B may be the same file (an A/A run shows the noise)
for r in range(R):
    for i in ((0,1) if r%2==0 else (1,0)):
        res[i].append(run((A,B)[i]))
wa,wb=[x[0] for x in res[0]],[x[0] for x in res[1]]
ca,cb=[x[1] for x in res[0]],[x[1] for x in res[1]]
wins=sum(1 for a,b in zip(wa,wb) if b<a); ties=sum(1 for a,b in zip(wa,wb) if b==a)
for name,bin_,w,c,v in (("A",A,wa,ca,res[0]),("B",B,wb,cb,res[1])):
    print(f"{name} {bin_}: wall {st.median(w):.3f} cpu {st.median(c):.3f} rss {st.median(x[2] for x in v):.0f}M")
d=[b-a for a,b in zip(wa,wb)]
print(f"B-A wall per round: median {st.median(d):+.3f}  B faster in {wins}/{R} (ties {ties});  cpu diff median {st.median([b-a for a,b in zip(ca,cb)]):+.3f}")
