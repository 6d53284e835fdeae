#!/usr/bin/env python3
"""Start-up and exit of a replay: wall, CPU and peak RSS of tiny captures.

usage: bench/startup.py ROUNDS PCAP WORKERS BINARY...   (GOMAXPROCS=WORKERS)

Times fork to exit (os.wait4, microsecond resolution, unlike
/usr/bin/time's 10 ms) of `BIN replay -q -o /dev/null --workers N PCAP`,
interleaved. With a one-packet capture this is the serial part of every
replay: on two cores it is time one core waits. BENCHMARKS.md, session 8.
"""
import sys, os, time, statistics as st
R=int(sys.argv[1]); pcap=sys.argv[2]; n=sys.argv[3]; bins=sys.argv[4:]
res={}
for r in range(R):
    for b in bins:
        t=time.perf_counter()
        pid=os.fork()
        if pid==0:
            fd=os.open('/dev/null',os.O_WRONLY); os.dup2(fd,1); os.dup2(fd,2)
            os.execve(b,[b,'replay','-q','-o','/dev/null','--workers',n,pcap],dict(os.environ,GOMAXPROCS=n))
        _,status,ru=os.wait4(pid,0)
        if status:
            sys.exit(f'{b}: exit status {status}')
        res.setdefault(b,[]).append(((time.perf_counter()-t)*1000,(ru.ru_utime+ru.ru_stime)*1000,ru.ru_maxrss/1024))
for b,v in res.items():
    print(f"{b.split('/')[-1]:18} wall {st.median(x[0] for x in v):6.1f} ms  cpu {st.median(x[1] for x in v):6.1f} ms  rss {st.median(x[2] for x in v):5.1f} MiB  (min wall {min(x[0] for x in v):.1f}) n={R}")
