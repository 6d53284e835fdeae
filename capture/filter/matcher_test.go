package filter

import (
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

func TestMatcher(t *testing.T) {
	fr := mixedEthernet(t)
	tests := []struct {
		expr string
		want []int
	}{
		{"tcp port 80", []int{0, 1, 6, 9, 36}},
		{"vlan 100 and tcp", []int{18}},
		{"greater 1000", []int{34}},
		{"icmp6", []int{12}},
	}
	for _, tt := range tests {
		m, err := NewMatcher(tt.expr, LinkEthernet)
		if err != nil {
			t.Fatal(err)
		}
		if m.String() != tt.expr {
			t.Errorf("String() = %q", m.String())
		}
		var got []int
		for i, f := range fr {
			if m.MatchLen(f.data, f.wire) {
				got = append(got, i)
			}
		}
		if !equalInts(got, tt.want) {
			t.Errorf("%q selects %v, want %v", tt.expr, got, tt.want)
		}
	}
	// Match takes the frame length as the wire length.
	m, _ := NewMatcher("greater 100", LinkEthernet)
	if m.Match(make([]byte, 99)) || !m.Match(make([]byte, 100)) {
		t.Error("Match does not use len(frame) as the wire length")
	}
	if m.Match(nil) {
		t.Error("empty frame matched greater 100")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMatcherRejectsForeignPrograms(t *testing.T) {
	tests := []struct {
		name string
		prog []bpf.RawInstruction
		want string
	}{
		{"empty", nil, "length 0"},
		{"no ret", []bpf.RawInstruction{{Op: opLdW}}, "does not end with ret"},
		{"stx", []bpf.RawInstruction{{Op: 0x03}, {Op: opRetK}}, "not supported"},
		{"scratch slot", []bpf.RawInstruction{{Op: opSt, K: 16}, {Op: opRetK}}, "out of range"},
		{"div by zero", []bpf.RawInstruction{{Op: clsALU | uint16(bpf.ALUOpDiv)}, {Op: opRetK}}, "divides by zero"},
		{"ancillary", []bpf.RawInstruction{{Op: opLdW, K: 0xfffff000}, {Op: opRetK}}, "ancillary load"},
		{"ja past end", []bpf.RawInstruction{{Op: opJa, K: 1}, {Op: opRetK}}, "jumps out"},
		{"jeq past end", []bpf.RawInstruction{{Op: opJeq, Jt: 0, Jf: 1}, {Op: opRetK}}, "jumps out"},
	}
	for _, tt := range tests {
		_, err := newMatcherRaw("x", tt.prog)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewMatcher("host foo", LinkEthernet); err == nil {
		t.Error("NewMatcher accepted a bad expression")
	}
}

func TestMatcherNoAllocs(t *testing.T) {
	fr := mixedEthernet(t)
	m, err := NewMatcher("vlan and tcp port 80 or host 2001:db8::1 or less 64", LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range fr {
			m.MatchLen(f.data, f.wire)
		}
	})
	if allocs != 0 {
		t.Fatalf("MatchLen allocates %.1f times per run", allocs)
	}
}
