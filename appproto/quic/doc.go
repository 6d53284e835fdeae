// Package quic recovers the TLS ClientHello from the client's Initial
// packets of a QUIC v1 (RFC 9000/9001) or v2 (RFC 9369) connection seen
// passively: it derives the client Initial keys from the Destination
// Connection ID, removes header protection, decrypts, walks the frames and
// reassembles CRYPTO data by offset — across coalesced packets and across
// datagrams — then hands the ClientHello to package tls for SNI, ALPN and
// JA4.
//
// Initial keys are public by design (anyone who sees the DCID can derive
// them), so this reveals nothing a passive observer could not already
// read; nothing beyond the Initial packet space is decrypted. The package
// knows nothing of flows or destinations: the caller keeps one Conn per
// connection. Input is hostile: CRYPTO buffering, the number of packets
// considered and the number of byte ranges tracked are capped, and every
// problem becomes a counted Status, never a panic.
package quic
