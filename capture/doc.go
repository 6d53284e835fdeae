// Package capture owns packet sources (pcap and pcapng files, compressed or
// not, standard input, and AF_PACKET rings), link types, VLAN tags, tunnel
// decapsulation, IP defragmentation and layer decoding into a Packet value.
// It must not know about flows: it never keeps state across packets except the
// bounded fragment buffers, and it never looks at application payload.
package capture
