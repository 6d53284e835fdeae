package reassembly

import (
	"testing"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
)

// chargeHandler charges extra bytes for every flow it opens, as a consumer
// that allocates scanning state on payload does.
type chargeHandler struct {
	*recHandler
	tb     *Table
	charge int64
}

func (h *chargeHandler) Open(f *Flow) Stream {
	s := h.recHandler.Open(f)
	if h.charge > 0 {
		h.tb.Charge(f, h.charge)
	}
	return s
}

// The flow table's byte budget evicts the least recently active flows, and
// counts each; what a consumer charged counts against it and is released
// with the flow.
func TestMemcapEvicts(t *testing.T) {
	tests := []struct {
		name        string
		flows       int   // UDP flows created, 1 s apart
		budgetFlows int64 // memcap in flows of base cost
		charge      int64 // per flow, in base-cost units
		wantOpen    int
	}{
		{"under the budget", 5, 10, 0, 5},
		{"at the budget", 20, 10, 0, 10},
		{"charged flows cost more", 20, 10, 1, 5},
		{"no budget", 50, 0, 0, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &chargeHandler{recHandler: newRecHandler()}
			st := new(Stats)
			cfg := Config{FlowCost: 100}
			per := connBytes + 100
			cfg.Memcap = tc.budgetFlows * per
			tb := NewTable(cfg, h, nil, st)
			h.tb, h.charge = tb, tc.charge*per
			for i := range tc.flows {
				tb.Packet(udpPacket(int64(i)*sec, cliAddr, srvAddr, uint16(1000+i), 9000, "x"))
			}
			if tb.Len() != tc.wantOpen {
				t.Fatalf("%d flows open, want %d", tb.Len(), tc.wantOpen)
			}
			evicted := uint64(tc.flows - tc.wantOpen)
			if st.FlowsEvicted.Load() != evicted || st.FlowsEvictedMemcap.Load() != evicted {
				t.Errorf("evicted %d (memcap %d), want %d", st.FlowsEvicted.Load(), st.FlowsEvictedMemcap.Load(), evicted)
			}
			if tc.budgetFlows > 0 && tb.FlowBytes() > cfg.Memcap {
				t.Errorf("%d bytes held over the %d budget", tb.FlowBytes(), cfg.Memcap)
			}
			// The oldest flows went first, with state timeout.
			fin := h.finals()
			for i, e := range fin {
				if e.state != EndTimeout || e.flow.Proto != capture.ProtoUDP || e.flow.SrcPort != uint16(1000+i) {
					t.Fatalf("eviction %d: %+v", i, e.flow)
				}
			}
			tb.Flush(EndShutdown)
			if tb.FlowBytes() != 0 || tb.charged != 0 {
				t.Errorf("%d bytes (%d charged) still held after every flow ended", tb.FlowBytes(), tb.charged)
			}
		})
	}
}

// A conn is allocated for every flow: it must stay within the 512-byte
// size class (objects up to 512 B carry no allocator header). It took the
// 704-byte class (696 B + 8) until the state that holds bytes in hand
// moved to halfExtra; the next class is 576 B: 64 B more per open flow,
// 6 MiB per 100,000.
func TestConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 512 {
		t.Errorf("conn is %d B: over 512 it takes the 576-byte size class (group small fields, move rare ones out)", n)
	}
}
