// Package filter compiles capture filters written in tcpdump's pcap-filter
// syntax into classic BPF programs without cgo or libpcap, so the sensor can
// attach them to an AF_PACKET socket (SO_ATTACH_FILTER) and apply the very
// same filter to packets read back from a capture file (Matcher).
//
// The compiler reproduces what libpcap 1.10 generates: the same protocol
// tests, the same IPv4 fragment and header-length handling for ports, and
// tcpdump's odd but well-known "vlan" rule that every primitive parsed after
// a "vlan" keyword looks 4 bytes further into the frame, whatever and/or/not
// or parentheses surround it. Selections are checked packet by packet
// against tcpdump itself (tcpdump_test.go, testdata/exprs.txt). Anything
// outside the grammar below is an *Error with a line:column position, never
// a program that silently accepts all; an empty expression accepts all.
//
// Link types: Ethernet (DLT_EN10MB), Linux cooked capture v1 (DLT_LINUX_SLL)
// and raw IP (LINKTYPE_RAW).
//
// Grammar (libpcap's: "and"/"&&" and "or"/"||" have equal precedence and
// associate left, "not"/"!" binds tighter, parentheses group):
//
//	primitive := [proto] [dir] [type] id | proto | vlan [N] | less N | greater N
//	           | arith relop arith
//	proto     := ether | link | ip | ip6 | arp | rarp | tcp | udp | sctp | icmp | icmp6 | igmp
//	dir       := src | dst | src or dst | src and dst | dst or src | dst and src
//	type      := host | net | port | portrange | proto
//	id        := IPv4 address or prefix (10, 10.1, 10.1.2.3), A.B.C.D/len,
//	             A.B.C.D mask M.M.M.M, IPv6 address [/len], MAC (a:b:c:d:e:f,
//	             a-b-c-d-e-f, aabb.ccdd.eeff, after "ether"), number, A-B range
//	arith     := number | len | proto[arith] | proto[arith:1|2|4] | arith op arith | (arith)
//	op        := + - * / % & | ^ << >>      relop := = == != < <= > >=
//
// plus the named constants tcpflags, tcp-fin … tcp-cwr, icmptype, icmpcode,
// icmp-echo …, icmp6type, icmp6code, icmp6-echo …, and tcpdump's
// abbreviation rule: an id after and/or/not reuses the last qualifiers
// ("host a or b", "port 80 or 443", "tcp port (80 or 443)").
//
// As in tcpdump, "port" and "portrange" never match IPv4 non-first
// fragments, find the IPv4 header length from the IHL field, and look for
// IPv6 ports only right behind the fixed 40-byte header (no extension-header
// walk); "tcp"/"udp"/"proto N" over IPv6 also accept one fragment header.
// proto[...] loads on tcp/udp/icmp/... are IPv4 only, as in libpcap.
//
// Not supported (each is an error): host and port names (no DNS or
// /etc/services at start-up), protocol names (\tcp), gateway, broadcast,
// multicast, mpls, pppoes, geneve, inbound/outbound, 802.11 and other link
// qualifiers, protochain, unary minus (libpcap 1.10 compiles it to accept
// all), "ether proto" for the LLC SAPs 0x06/0xf0/0xfe and AppleTalk, and
// proto[...] after a vlan with Options.KernelVLAN.
//
// The package only filters: it must not know about flows, decoding beyond
// the offsets a BPF program reads, or anything stateful.
package filter
