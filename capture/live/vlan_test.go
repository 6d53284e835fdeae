package live

import (
	"math"
	"testing"

	"github.com/gopacket/gopacket/afpacket"

	"github.com/tapdlp/tapdlp/capture"
)

func TestPrependVLAN(t *testing.T) {
	tests := []struct {
		name   string
		in     []uint16 // tags the decoder found in the frame
		id     uint16
		want   []uint16
		wantOK bool
	}{
		{"untagged frame", nil, 100, []uint16{100}, true},
		{"QinQ: inner tag left in the frame", []uint16{20}, 300, []uint16{300, 20}, true},
		{"priority tag", nil, 0, []uint16{0}, true},
		{"full: innermost dropped", []uint16{20, 30}, 300, []uint16{300, 20}, false},
		{"PCP and DEI bits masked", nil, 0xf00a, []uint16{0x00a}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p capture.Packet
			for _, v := range tt.in {
				p.VLAN[p.NVLAN] = v
				p.NVLAN++
			}
			ok := PrependVLAN(&p, tt.id)
			got := p.VLAN[:p.NVLAN]
			if ok != tt.wantOK || len(got) != len(tt.want) {
				t.Fatalf("PrependVLAN = %v, VLAN %v; want %v, %v", ok, got, tt.wantOK, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("VLAN %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestPrependVLANAllocs(t *testing.T) {
	var p capture.Packet
	if n := testing.AllocsPerRun(100, func() { p.NVLAN = 1; PrependVLAN(&p, 7) }); n != 0 {
		t.Fatalf("PrependVLAN allocates %v times", n)
	}
}

func TestAncillaryVLAN(t *testing.T) {
	tests := []struct {
		name   string
		anc    []any
		want   uint16
		wantOK bool
	}{
		{"none", nil, 0, false},
		{"other types only", []any{"x", 42, nil, struct{}{}}, 0, false},
		{"negative", []any{afpacket.AncillaryVLAN{VLAN: -1}}, 0, false},
		{"beyond 12 bits", []any{afpacket.AncillaryVLAN{VLAN: 4096}}, 0, false},
		{"huge", []any{afpacket.AncillaryVLAN{VLAN: math.MaxInt}}, 0, false},
		{"valid", []any{afpacket.AncillaryVLAN{VLAN: 4095}}, 4095, true},
		{"valid after junk", []any{nil, afpacket.AncillaryVLAN{VLAN: math.MinInt}, afpacket.AncillaryVLAN{VLAN: 12}}, 12, true},
		{"pointer is not the value type", []any{&afpacket.AncillaryVLAN{VLAN: 5}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ancillaryVLAN(tt.anc)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ancillaryVLAN = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// FuzzAncillaryVLAN feeds arbitrary kernel-reported ids: never a panic,
// never an id outside 12 bits.
func FuzzAncillaryVLAN(f *testing.F) {
	for _, v := range []int{-1, 0, 1, 4095, 4096, math.MaxInt, math.MinInt} {
		f.Add(v, true)
	}
	f.Fuzz(func(t *testing.T, v int, withJunk bool) {
		anc := []any{afpacket.AncillaryVLAN{VLAN: v}}
		if withJunk {
			anc = append([]any{nil, v, &v}, anc...)
		}
		id, ok := ancillaryVLAN(anc)
		if ok != (v >= 0 && v <= 0x0fff) || (ok && int(id) != v) {
			t.Fatalf("ancillaryVLAN(%d) = %d, %v", v, id, ok)
		}
	})
}
