package live

import "github.com/tapdlp/tapdlp/capture"

// PrependVLAN records id as the outermost VLAN of p: the tag the kernel
// stripped into the ring header was the frame's outer tag, so any tag the
// decoder found still in the frame is an inner one. When p already holds
// capture.MaxVLANs tags the innermost is dropped, as the decoder does for a
// frame with too many tags, and PrependVLAN reports false so the caller can
// count it. Reading the id from the ring header avoids copying every tagged
// frame to put the tag back.
func PrependVLAN(p *capture.Packet, id uint16) bool {
	kept := true
	n := int(p.NVLAN)
	if n >= capture.MaxVLANs {
		n = capture.MaxVLANs - 1
		kept = false
	}
	copy(p.VLAN[1:n+1], p.VLAN[:n])
	p.VLAN[0] = id & 0x0fff
	p.NVLAN = uint8(n + 1)
	return kept
}
