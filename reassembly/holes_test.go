package reassembly

import (
	"reflect"
	"testing"
)

func TestFillHoles(t *testing.T) {
	tests := []struct {
		name  string
		holes []hole
		s, e  uint32
		want  []hole
	}{
		{"no overlap", []hole{{10, 20}}, 20, 30, []hole{{10, 20}}},
		{"fills exactly", []hole{{10, 20}}, 10, 20, nil},
		{"covers more", []hole{{10, 20}, {30, 40}}, 5, 25, []hole{{30, 40}}},
		{"fills the start", []hole{{10, 20}}, 5, 15, []hole{{15, 20}}},
		{"fills the end", []hole{{10, 20}}, 15, 25, []hole{{10, 15}}},
		{"splits", []hole{{10, 20}, {30, 40}}, 12, 14, []hole{{10, 12}, {14, 20}, {30, 40}}},
		{"split without room keeps the hole", []hole{{10, 20}, {30, 40}, {50, 60}, {70, 80}}, 12, 14, []hole{{10, 20}, {30, 40}, {50, 60}, {70, 80}}},
		{"spans two", []hole{{10, 20}, {30, 40}}, 15, 35, []hole{{10, 15}, {35, 40}}},
		{"wraps around zero", []hole{{0xfffffff0, 0x10}}, 0xfffffff0, 0x10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := half{halfExtra: new(halfExtra)}
			h.nholes = uint8(copy(h.holes[:], tt.holes))
			h.fillHoles(tt.s, tt.e)
			got := append([]hole(nil), h.holes[:h.nholes]...)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// More open holes than maxDoneHoles: the oldest is counted at once, and an
// ACK past a hole confirms it.
func TestHolesOverflowAndAck(t *testing.T) {
	h := newRecHandler()
	tb := NewTable(Config{}, h, nil, nil)
	c := &conn{}
	for i := range maxDoneHoles + 1 {
		tb.openHole(c, DirOut, uint32(i*100), uint32(i*100+10))
	}
	if c.Missed[DirOut] != 10 || c.half[DirOut].nHoles() != maxDoneHoles {
		t.Fatalf("after overflow: missed %d, %d holes", c.Missed[DirOut], c.half[DirOut].nHoles())
	}
	tb.ackHoles(c, DirOut, 210)
	if c.Missed[DirOut] != 30 || c.half[DirOut].nHoles() != maxDoneHoles-2 {
		t.Errorf("after ack: missed %d, %d holes", c.Missed[DirOut], c.half[DirOut].nHoles())
	}
}
