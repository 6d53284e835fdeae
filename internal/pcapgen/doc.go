// Package pcapgen builds synthetic packets and captures for tests and
// benchmarks: Ethernet with VLAN tags, IPv4 and IPv6 (with fragmentation),
// TCP, UDP, ICMP and ICMPv6 with correct lengths and checksums, a TCP
// connection helper that tracks sequence numbers for both sides, tunnel
// encapsulations, and pcap/pcapng writers with deterministic timestamps.
//
// It is test tooling: it favours readable code over speed, panics on
// programmer errors (a bad address family, an impossible fragment size), and
// must not be used on the capture path.
package pcapgen
