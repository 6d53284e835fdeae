#!/usr/bin/env python3
"""Writes tshark's view of each capture's innermost IP 5-tuple, one TSV per
capture, used as the oracle by TestRealCapturesMatchTshark.

Usage: capture/testdata/tshark_expect.py testdata/pcap/X.pcap ... (run from
the module root; output goes to capture/testdata/tshark/X.tsv).

Columns: frame, src, dst, transport (tcp/udp/icmp/icmpv6/other/-), sport,
dport, outermost tunnel type (tapdlp's names, - for none), its id, and the
outer source address (- for MPLS/PPPoE, which have none). The innermost IP layer is the last ip/ipv6 before any ICMP (an ICMP
error quotes an IP header that is not a tunnel). tshark reassembles IP
fragments, so a held fragment shows no transport and the completing one
shows the datagram's ports, which is what the decoder reports too.
"""
import os
import subprocess
import sys

FIELDS = ["gre.key.call_id", "vxlan.vni", "geneve.vni", "gre.key", "erspan.spanid", "mpls.label", "pppoe.session_id",
          "frame.number", "frame.protocols", "frame.interface_id", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]


TUNNEL_ID = {"vxlan": "vxlan.vni", "geneve": "geneve.vni", "gre": "gre.key",
             "erspan": "erspan.spanid", "mpls": "mpls.label", "pppoes": "pppoe.session_id"}


def tunnel(protos, vals):
    """Returns [type, id, outer source] of the outermost tunnel."""
    for i, p in enumerate(protos):
        if p in ("icmp", "icmpv6"):
            break
        typ = None
        if p in ("ip", "ipv6") and i + 1 < len(protos) and protos[i + 1] in ("ip", "ipv6"):
            typ, idf = "ipip", None
            i += 1  # the outer header is the one before this
        elif p in TUNNEL_ID:
            typ, idf = p, TUNNEL_ID[p]
            if p == "gre" and i + 1 < len(protos) and protos[i + 1] == "erspan":
                typ, idf = "erspan", "erspan.spanid"
        if typ is None:
            continue
        if typ == "pppoes":
            typ = "pppoe"
        ident = "0"
        if idf == "gre.key" and not vals[idf] and vals["gre.key.call_id"]:
            idf = "gre.key.call_id"  # enhanced GRE (PPTP): the key field is length and call id
        if idf and vals[idf]:
            ident = str(int(vals[idf][0], 0))
        outer = "-"
        for j in range(i - 1, -1, -1):
            if protos[j] in ("ip", "ipv6"):
                k = protos[:j].count(protos[j])
                outer = vals[protos[j] + ".src"][k]
                break
        return [typ, ident, outer]
    return ["-", "0", "-"]


def main():
    for path in sys.argv[1:]:
        cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=a",
               "-E", "aggregator=,", "-E", "separator=\t",
               "-d", "udp.port==4754,gre"]
        for f in FIELDS:
            cmd += ["-e", f]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows = []
        with open(path, "rb") as f:
            pcapng = f.read(4) == b"\x0a\x0d\x0d\x0a"
        for line in out.splitlines():
            cols = line.split("\t")
            cols += [""] * (len(FIELDS) - len(cols))
            vals = {f: (cols[i].split(",") if cols[i] else []) for i, f in enumerate(FIELDS)}
            if pcapng and not cols[9]:
                continue  # a pcapng block that is not a packet (pcapgo skips it)
            protos = cols[8].split(":")
            stop = len(protos)
            for i, p in enumerate(protos):
                if p in ("icmp", "icmpv6"):
                    stop = i
                    break
            inner = -1
            for i in range(stop):
                if protos[i] in ("ip", "ipv6"):
                    inner = i
            tun = tunnel(protos, vals)
            if inner < 0:
                rows.append([cols[7], "-", "-", "-", "-", "-"] + tun)
                continue
            fam = protos[inner]
            k = protos[:inner].count(fam)
            src = vals[fam + ".src"][k] if k < len(vals[fam + ".src"]) else "?"
            dst = vals[fam + ".dst"][k] if k < len(vals[fam + ".dst"]) else "?"
            tr, sp, dp = "other", "", ""
            for p in protos[inner + 1:]:
                if p in ("ip", "ipv6"):
                    break
                if p in ("tcp", "udp"):
                    j = protos[:inner].count(p)
                    sps, dps = vals[p + ".srcport"], vals[p + ".dstport"]
                    tr = p
                    sp = sps[j] if j < len(sps) else "?"
                    dp = dps[j] if j < len(dps) else "?"
                    break
                if p in ("icmp", "icmpv6"):
                    tr = p
                    break
            if tr == "other" and set(protos[inner + 1:]) <= {"data", "ipv6.fraghdr"}:
                tr = "-"  # a fragment tshark is holding
            rows.append([cols[7], src, dst, tr, sp, dp] + tun)
        name = os.path.basename(path)
        with open(os.path.join("capture/testdata/tshark", name + ".tsv"), "w") as f:
            for r in rows:
                f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
