package rules

import (
	"net/netip"

	"github.com/tapdlp/tapdlp/record"
)

// facts is what one Eval derives from a record before running rules, so each
// rule compares small integers and bitmasks instead of re-reading strings.
// It lives in FlowState and is reused: its finding slice grows once.
type facts struct {
	f      *record.Flow
	now    int64
	cat    uint32 // categoryBit(f.Dst.Category)
	finds  []fnd
	sensOK bool // at least one finding

	ipParsed uint8 // bit 0 src, bit 1 dst
	srcIP    netip.Addr
	dstIP    netip.Addr

	reason []byte // an alert's reason is built here (newAlert)
}

// fnd is a finding reduced to what conditions test.
type fnd struct {
	typ   uint8 // index into typeNames or typeUnknown
	class uint8 // classBit
	out   bool
	count uint64
	idx   int // index into f.Sensitive, for reasons
}

func (x *facts) reset(f *record.Flow, now int64) {
	x.f = f
	x.now = now
	x.cat = categoryBit(f.Dst.Category)
	x.ipParsed = 0
	x.finds = x.finds[:0]
	for i := range f.Sensitive {
		s := &f.Sensitive[i]
		c := s.Count
		if c < 0 {
			c = 0
		}
		x.finds = append(x.finds, fnd{
			typ:   typeIndex(s.Type),
			class: classBit(s.Class),
			out:   s.Direction != "in",
			count: uint64(c),
			idx:   i,
		})
	}
	x.sensOK = len(x.finds) > 0
}

// src and dst parse addresses lazily: most rule sets never look at them, and
// netip.ParseAddr does not allocate.
func (x *facts) src() netip.Addr {
	if x.ipParsed&1 == 0 {
		x.srcIP, _ = netip.ParseAddr(x.f.Src.IP)
		x.srcIP = x.srcIP.Unmap()
		x.ipParsed |= 1
	}
	return x.srcIP
}

func (x *facts) dst() netip.Addr {
	if x.ipParsed&2 == 0 {
		x.dstIP, _ = netip.ParseAddr(x.f.Dst.IP)
		x.dstIP = x.dstIP.Unmap()
		x.ipParsed |= 2
	}
	return x.dstIP
}
