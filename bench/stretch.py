#!/usr/bin/env python3
"""Stretch a pcap's packet times: each record's time becomes t0 + (t - t0) * K.

usage: bench/stretch.py IN.pcap OUT.pcap K

The generated mixes pack 400 MB into well under a second of packet time,
so every flow is still open (or lingering) when the file ends; stretched
100x, flows end by their own timeouts while the file is read, as on a
real link. Classic pcap only (micro- or nanosecond, little-endian, as
genmix writes). BENCHMARKS.md, the fifth and sixth sessions.
"""
import struct, sys

src, dst, k = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(src, 'rb') as f, open(dst, 'wb') as o:
    head = f.read(24)
    magic = struct.unpack('<I', head[:4])[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        sys.exit(f'{src}: not a little-endian classic pcap')
    unit = 1e9 if magic == 0xa1b23c4d else 1e6
    o.write(head)
    t0 = None
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            break
        sec, frac, caplen, wirelen = struct.unpack('<IIII', rec)
        t = sec * unit + frac
        t0 = t if t0 is None else t0
        nt = t0 + (t - t0) * k
        nsec = int(nt // unit)
        o.write(struct.pack('<IIII', nsec, int(nt - nsec * unit), caplen, wirelen))
        o.write(f.read(caplen))
