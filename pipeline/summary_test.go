package pipeline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/record"
)

type failingSink struct{}

func (failingSink) Write(record.Encoded) error { return errors.New("sink down") }
func (failingSink) Close() error               { return nil }

// TestSummaryShowsDrops: a replay that evicts fragments and whose sink
// refuses every record must say so in its summary, not "decode errors 0"
// alone (issue 11).
func TestSummaryShowsDrops(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	const datagrams = 2000 // first fragments only: never complete
	for i := range datagrams {
		ip := pcapgen.IPv4Header{Src: src, Dst: dst, Proto: 17, ID: uint16(i), FragOff: 0, MF: true}.Marshal(make([]byte, 64))
		if err := w.WriteFrame(pcapgen.EthernetIP(ip)); err != nil {
			t.Fatal(err)
		}
	}
	tcp := pcapgen.IPTCP(netip.AddrPortFrom(src, 40000), netip.AddrPortFrom(dst, 80), 1, 0, pcapgen.SYN, nil)
	if err := w.WriteFrame(pcapgen.EthernetIP(tcp)); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "frags.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseTestConfig("workers: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{Sink: failingSink{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Replay(context.Background(), []string{path})
	if err == nil || !strings.Contains(err.Error(), "sink down") {
		t.Errorf("replay error %v, want the sink's", err)
	}
	if sum.DefragDropped < datagrams-300 {
		t.Errorf("defrag drops %d, want about %d (evicted incomplete datagrams)", sum.DefragDropped, datagrams)
	}
	if sum.Records == 0 || sum.SinkDropped != sum.Records {
		t.Errorf("sink drops %d of %d records, want all", sum.SinkDropped, sum.Records)
	}
	s := sum.String()
	for _, want := range []string{"defrag drops ", "sink drops "} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q lacks %q", s, want)
		}
	}
}
