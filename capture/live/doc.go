// Package live captures packets from network interfaces through Linux
// AF_PACKET sockets (TPACKET_V3 memory-mapped rings, via gopacket's cgo-free
// afpacket), joined in one PACKET_FANOUT group per interface so several
// sockets share an interface's traffic. It owns socket set-up (ring
// geometry, fanout, promiscuous mode, the BPF filter compiled by
// capture/filter), reading frames with the VLAN id the kernel stripped, the
// kernel's per-socket statistics, and dropping privileges once the sockets
// are open.
//
// It hands out raw frames and capture metadata only: it must not decode
// beyond the link type, know about flows or workers' state, or buffer
// packets — what a reader does not take stays in the kernel ring, where loss
// is counted as kernel drops.
package live
