#!/usr/bin/env python3
"""Wait for the host to place this VM's two CPUs near each other, then
compare one core with two, the one-core run with and without a spinner
holding the other core.

usage: bench/nearwatch.py SECONDS C2C BINARY MIX [LOG]   (LOG: /tmp/nearwatch.log)

C2C is a build of bench/cmd/c2c. Every 20 s it measures the ping-pong
latency between the cores; when it is under 130 ns (cores that share a
cache, BENCHMARKS.md session 10) it runs ten rounds of: c2c, one core on
core 0 with and without the spinner, the same on core 1, two cores.
Each round is a line in LOG; it stops after four such bursts or after
SECONDS. Near placement comes and goes within minutes on this VM, too
briefly for a bench/scaling.py series to be started by hand.
"""
import re, subprocess, sys, time

secs, c2c_bin, BIN, MIX = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
log = open(sys.argv[5] if len(sys.argv) > 5 else '/tmp/nearwatch.log', 'a')

def c2c():
    out = subprocess.run([c2c_bin], capture_output=True, text=True).stdout
    m = re.search(r'pingpong (\d+) ns\s+stream (-?[0-9.]+)', out)
    return (int(m.group(1)), float(m.group(2))) if m else (0, 0.0)

def run(workers, core, spin):
    pin = f'taskset -c {core} ' if core is not None else ''
    sp = f'taskset -c {1-core} nice -n -19 sh -c "while :; do :; done" & S=$!; ' if spin else ''
    cmd = (f'echo -19 > /proc/self/autogroup; {sp}GOMAXPROCS={workers} nice -n -19 /usr/bin/time -f "%e %U %S" '
           f'{pin}{BIN} replay -q -o /dev/null --workers {workers} {MIX}; [ -n "$S" ] && kill $S; true')
    p = subprocess.run(['setsid', 'sh', '-c', cmd], capture_output=True, text=True)
    w, u, s = p.stderr.strip().split('\n')[-1].split()
    return float(u) + float(s), float(w)

bursts, end = 0, time.time() + secs
while time.time() < end and bursts < 4:
    pp, st = c2c()
    print(time.strftime('%H:%M:%S'), 'watch', pp, st, file=log, flush=True)
    if pp and pp < 130:
        for _ in range(10):
            pp, st = c2c()
            cpu = [run(1, core, spin)[0] for core in (0, 1) for spin in (True, False)]
            wall2 = run(2, None, False)[1]
            print(time.strftime('%H:%M:%S'), f'near-exp pp={pp} st={st} 1c@0 spin {cpu[0]:.3f} nospin {cpu[1]:.3f} '
                  f'| 1c@1 spin {cpu[2]:.3f} nospin {cpu[3]:.3f} | 2c wall {wall2:.3f}', file=log, flush=True)
        bursts += 1
    time.sleep(20)
