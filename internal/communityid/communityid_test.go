package communityid

import (
	"net/netip"
	"testing"
)

// Vectors from the Community ID spec's baseline (and the list).
func TestSpecVectors(t *testing.T) {
	tests := []struct {
		name             string
		seed             uint16
		src, dst         string
		srcPort, dstPort uint16
		proto            uint8
		want             string
	}{
		{"tcp", 0, "128.232.110.120", "66.35.250.204", 34855, 80, 6, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"tcp reversed", 0, "66.35.250.204", "128.232.110.120", 80, 34855, 6, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"tcp seed 1", 1, "128.232.110.120", "66.35.250.204", 34855, 80, 6, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
		{"udp", 0, "192.168.1.52", "8.8.8.8", 54585, 53, 17, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{"udp reversed", 0, "8.8.8.8", "192.168.1.52", 53, 54585, 17, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{"tcp v6", 0, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 6, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
		{"icmp echo", 0, "192.168.0.89", "192.168.0.1", 8, 0, 1, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
		{"icmp echo reply", 0, "192.168.0.1", "192.168.0.89", 0, 0, 1, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(tt.seed, netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst), tt.srcPort, tt.dstPort, tt.proto)
			if got != tt.want {
				t.Errorf("Compute = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMappedAddressesHashAsIPv4(t *testing.T) {
	a := Compute(0, netip.MustParseAddr("::ffff:192.168.1.52"), netip.MustParseAddr("8.8.8.8"), 54585, 53, 17)
	if a != "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" {
		t.Errorf("mapped address: got %s", a)
	}
}

func TestAppendMatchesComputeWithoutAllocating(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:470:e5bf:dead:4957:2174:e82c:4887"), netip.MustParseAddr("2607:f8b0:400c:c03::1a")
	want := Compute(0, src, dst, 63943, 25, 6)
	got := string(Append([]byte("x"), 0, src, dst, 63943, 25, 6))
	if got != "x"+want || len(want) != Len {
		t.Fatalf("Append = %s, want x%s (len %d)", got, want, Len)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], 0, src, dst, 63943, 25, 6) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
