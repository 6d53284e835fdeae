package capture

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/testenv"
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
	fmt.Fprintf(&b, " | held=%d reassembled=%d overlaps=%d conflicts=%d duplicates=%d malformed=%d toomany=%d timeouts=%d evicted=%d truncated_first=%d truncated_dropped=%d",
		f.Held.Load(), f.Reassembled.Load(), f.Overlaps.Load(), f.Conflicts.Load(), f.Duplicates.Load(),
		f.Malformed.Load(), f.TooMany.Load(), f.Timeouts.Load(), f.Evicted.Load(), f.TruncatedFirst.Load(), f.TruncatedDropped.Load())
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

// TestHostileTruncatedFragmentsMatchTshark checks the defragmenter's
// truncated-fragment counters (pinned in hostile.golden) against tshark on
// the hostile captures tshark can judge: Ethernet frames whose IPv4 or
// IPv6 fragment carries fewer bytes than its header claims. The IPv6
// capture with a zero payload length is left out: tshark does not see a
// fragment there. Slow (one tshark run per capture): TAPDLP_SLOW=1.
func TestHostileTruncatedFragmentsMatchTshark(t *testing.T) {
	testenv.Slow(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (CI installs it)")
	}
	cfg := DecoderConfig{Defrag: DefragConfig{MaxBytes: 64 << 10, MaxDatagrams: 32}}
	for _, name := range []string{"ndpi_ip_fragmented_garbage.pcap", "ndpi_badpackets.pcap", "tcpdump_tcp_header_heapoverflow.pcap", "ndpi_dns_fragmented.pcap"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(pcapDir, name)
			out, err := exec.Command("tshark", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-r", path,
				"-T", "fields", "-E", "occurrence=f", "-e", "frame.protocols", "-e", "frame.cap_len",
				"-e", "ip.len", "-e", "ip.flags.mf", "-e", "ip.frag_offset",
				"-e", "ipv6.plen", "-e", "ipv6.fraghdr.offset").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var first, dropped, frames uint64
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				f := strings.Split(line, "\t")
				if len(f) > 7 {
					t.Fatalf("tshark line %q", line)
				}
				for len(f) < 7 {
					f = append(f, "") // trailing empty fields
				}
				frames++
				if !strings.HasPrefix(f[0], "eth:ethertype:ip") || strings.Count(f[0], ":ip") > 1 {
					continue // only plain Ethernet/IP frames: the header arithmetic below
				}
				capLen := atoi(t, f[1]) - 14
				var truncated, isFirst bool
				switch {
				case f[2] != "": // IPv4
					if f[3] != "1" && atoi(t, f[4]) == 0 {
						continue // not a fragment
					}
					truncated, isFirst = capLen < atoi(t, f[2]), atoi(t, f[4]) == 0
				case f[6] != "": // IPv6 with a fragment header
					truncated, isFirst = capLen-40 < atoi(t, f[5]), atoi(t, f[6]) == 0
				}
				switch {
				case truncated && isFirst:
					first++
				case truncated:
					dropped++
				}
			}
			stats := decodeAll(t, path, cfg, func(int, Result, *Packet) {})
			d := &stats.Defrag
			if d.TruncatedFirst.Load() != first || d.TruncatedDropped.Load() != dropped {
				t.Errorf("truncated fragments: first %d dropped %d, tshark %d and %d (of %d frames)",
					d.TruncatedFirst.Load(), d.TruncatedDropped.Load(), first, dropped, frames)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("tshark field %q: %v", s, err)
	}
	return n
}
