package pipeline

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/communityid"
	"github.com/tapdlp/tapdlp/reassembly"
)

// refFlowID is the flow id as first defined (hash/fnv over the same bytes).
func refFlowID(f *reassembly.Flow) string {
	hs := fnv.New64a()
	var b [2 + 2 + 1 + 8]byte
	a16, d16 := f.Src.As16(), f.Dst.As16()
	hs.Write(a16[:])
	hs.Write(d16[:])
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	b[4] = f.Proto
	binary.BigEndian.PutUint64(b[5:], uint64(f.Start))
	hs.Write(b[:])
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], hs.Sum64())
	return hex.EncodeToString(sum[:])
}

// The ids computed in one buffer equal the reference computations, are
// cached per session, and the cached ones cost no allocation.
func TestFlowIDs(t *testing.T) {
	h := &flowHandler{p: &Pipeline{cfg: &config.Config{CommunityIDSeed: 7}}}
	flows := []reassembly.Flow{
		{Src: netip.MustParseAddr("192.168.1.52"), Dst: netip.MustParseAddr("8.8.8.8"), SrcPort: 54585, DstPort: 53, Proto: capture.ProtoUDP, Start: 1_700_000_000_123_456_789},
		{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2607:f8b0:400c:c03::1a"), SrcPort: 63943, DstPort: 443, Proto: capture.ProtoTCP, Start: 5},
		{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: capture.ProtoICMP, ICMPType: 8, ICMPCode: 0},
		{Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::1"), Proto: 132, SrcPort: 1, DstPort: 2},
	}
	for i := range flows {
		f := &flows[i]
		sp, dp := f.SrcPort, f.DstPort
		if f.Proto == capture.ProtoICMP {
			sp, dp = uint16(f.ICMPType), uint16(f.ICMPCode)
		}
		want := flowIDs{refFlowID(f), communityid.Compute(7, f.Src, f.Dst, sp, dp, f.Proto), f.Src.String(), f.Dst.String()}
		if got := h.ids(nil, f); got != want {
			t.Errorf("flow %d: ids %+v, want %+v", i, got, want)
		}
		s := new(session)
		if got := h.ids(s, f); got != want || s.ids == "" {
			t.Errorf("flow %d: session ids %+v (cached %q), want %+v", i, got, s.ids, want)
		}
		if got := h.ids(s, f); got != want {
			t.Errorf("flow %d: cached ids %+v, want %+v", i, got, want)
		}
		if n := testing.AllocsPerRun(100, func() { h.ids(s, f) }); n != 0 {
			t.Errorf("flow %d: cached ids cost %v allocations", i, n)
		}
		if n := testing.AllocsPerRun(100, func() { h.ids(nil, f) }); n != 1 {
			t.Errorf("flow %d: ids cost %v allocations, want 1", i, n)
		}
	}
}
