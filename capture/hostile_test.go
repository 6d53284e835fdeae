package capture

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// hostileCaptures are public captures of broken, garbage or truncated
// traffic. Their decode summary is pinned in testdata/golden/hostile.golden
// (regenerate with -update after checking the difference is intended).
var hostileCaptures = []string{
	"ndpi_ip_fragmented_garbage.pcap",
	"ndpi_badpackets.pcap",
	"tcpdump_ipv6_frag6_negative_len.pcap",
	"tcpdump_tcp_header_heapoverflow.pcap",
	"zeek_tunnels_geneve-truncated.pcapng",
	"zeek_erspan.pcap",
	"ndpi_dns_fragmented.pcap",
}

func summarize(s *DecodeStats) string {
	var b strings.Builder
	for _, r := range Results() {
		if n := s.Result(r); n > 0 {
			fmt.Fprintf(&b, " %s=%d", r, n)
		}
	}
	for t := TunnelVXLAN; int(t) < numTunnelTypes; t++ {
		if n := s.Decaps(t); n > 0 {
			fmt.Fprintf(&b, " decap_%s=%d", t, n)
		}
	}
	f := &s.Defrag
	fmt.Fprintf(&b, " | held=%d reassembled=%d overlaps=%d conflicts=%d duplicates=%d malformed=%d toomany=%d timeouts=%d evicted=%d unfinishable=%d",
		f.Held.Load(), f.Reassembled.Load(), f.Overlaps.Load(), f.Conflicts.Load(), f.Duplicates.Load(),
		f.Malformed.Load(), f.TooMany.Load(), f.Timeouts.Load(), f.Evicted.Load(), f.Unfinishable.Load())
	return b.String()
}

func TestHostileCapturesGolden(t *testing.T) {
	var out strings.Builder
	cfg := DecoderConfig{Defrag: DefragConfig{MaxBytes: 64 << 10, MaxDatagrams: 32}}
	for _, name := range hostileCaptures {
		stats := decodeAll(t, filepath.Join(pcapDir, name), cfg, func(i int, r Result, p *Packet) {
			if !p.Reassembled && len(p.Payload) > p.WireLen {
				t.Errorf("%s frame %d: payload %d > wire length %d", name, i+1, len(p.Payload), p.WireLen)
			}
		})
		fmt.Fprintf(&out, "%s:%s\n", name, summarize(stats))
	}
	golden := filepath.Join("testdata", "golden", "hostile.golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != out.String() {
		t.Errorf("decode summary changed:\n got:\n%s\nwant:\n%s", out.String(), want)
	}
}
