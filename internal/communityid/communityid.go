// Package communityid computes Community ID v1 flow hashes
// (https://github.com/corelight/community-id-spec), the identifier Zeek,
// Suricata and Arkime write so records from different sensors can be joined.
// It must stay a pure function of the 5-tuple and the seed.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
)

// ICMP types that have a "reply" counterpart; the spec maps these to a
// pseudo port pair so a request and its reply hash alike.
var icmp4Pairs = map[uint8]uint8{
	8: 0, 0: 8, // echo
	13: 14, 14: 13, // timestamp
	15: 16, 16: 15, // info
	10: 9, 9: 10, // router solicitation/advertisement
	17: 18, 18: 17, // address mask
}

var icmp6Pairs = map[uint8]uint8{
	128: 129, 129: 128, // echo
	133: 134, 134: 133, // router solicitation/advertisement
	135: 136, 136: 135, // neighbour solicitation/advertisement
	130: 131, 131: 130, // multicast listener query/report
	144: 145, 145: 144, // home agent address discovery
}

// Compute returns the Community ID v1 string ("1:" + base64 SHA-1) for a flow.
// For ICMP (proto 1) and ICMPv6 (58) pass the type as srcPort and the code as
// dstPort, as the spec prescribes.
func Compute(seed uint16, src, dst netip.Addr, srcPort, dstPort uint16, proto uint8) string {
	var buf [Len]byte
	return string(Append(buf[:0], seed, src, dst, srcPort, dstPort, proto))
}

// Len is the length of a Community ID v1 string.
const Len = 2 + 28

// Append appends the Community ID v1 string of a flow (see Compute) to b
// without allocating.
func Append(b []byte, seed uint16, src, dst netip.Addr, srcPort, dstPort uint16, proto uint8) []byte {
	src, dst = src.Unmap(), dst.Unmap()
	oneWay := false
	switch proto {
	case 1, 58:
		pairs := icmp4Pairs
		if proto == 58 {
			pairs = icmp6Pairs
		}
		typ := uint8(srcPort)
		if peer, ok := pairs[typ]; ok {
			dstPort = uint16(peer)
		} else {
			oneWay = true
		}
	}
	// Order the endpoints: smaller address (then port) first, so both
	// directions hash alike. One-way ICMP keeps the port (type/code) tied to
	// its address.
	if !oneWay && (dst.Less(src) || (src == dst && dstPort < srcPort)) {
		src, dst = dst, src
		srcPort, dstPort = dstPort, srcPort
	} else if oneWay && dst.Less(src) {
		src, dst = dst, src
	}
	var buf [2 + 16 + 16 + 1 + 1 + 2 + 2]byte
	in := buf[:0]
	in = append(in, byte(seed>>8), byte(seed))
	in = appendAddr(in, src)
	in = appendAddr(in, dst)
	in = append(in, proto, 0)
	switch proto {
	case 1, 6, 17, 58, 132:
		in = append(in, byte(srcPort>>8), byte(srcPort), byte(dstPort>>8), byte(dstPort))
	}
	sum := sha1.Sum(in)
	return base64.StdEncoding.AppendEncode(append(b, "1:"...), sum[:])
}

// appendAddr appends a's 4 or 16 bytes (AsSlice without its allocation).
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	if !a.IsValid() {
		return b
	}
	v := a.As16()
	return append(b, v[:]...)
}
