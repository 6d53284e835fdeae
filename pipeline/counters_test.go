package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

type recordingObserver struct {
	mu  sync.Mutex
	obs []float64
}

func (r *recordingObserver) Observe(s float64) {
	r.mu.Lock()
	r.obs = append(r.obs, s)
	r.mu.Unlock()
}

// One packet in latencySampleEvery is timed from read to processed, and
// inspection totals are counted per type from final records.
func TestLatencyAndInspectionCounters(t *testing.T) {
	cfg, _ := parseTestConfig("")
	cfg.Workers = 2
	lat := &recordingObserver{}
	p, err := New(cfg, Options{Sink: record.NewWriterSink(nopWriter{}), Latency: lat})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Replay(context.Background(), []string{filepath.Join(pcapDir, "inspect.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	want := int(sum.Packets) / latencySampleEvery
	if n := len(lat.obs); n < want-2 || n > want+2 {
		t.Errorf("%d latency samples for %d packets, want about %d", n, sum.Packets, want)
	}
	for _, s := range lat.obs {
		if s <= 0 || s > 10 {
			t.Errorf("implausible latency %gs", s)
		}
	}
	cards := uint64(0)
	p.InspectionStats().EachDetection(func(typ, class string, n uint64) {
		if typ == "credit_card" {
			cards = n
			if class != "PCI" {
				t.Errorf("credit_card class %q", class)
			}
		}
	})
	if cards != 15 {
		t.Errorf("credit_card detections counted: %d, want 15 (one per card path in inspect.pcap)", cards)
	}
	if p.InspectionStats().InspectedBytes.Load() == 0 {
		t.Error("no inspected bytes counted")
	}
}

// alerts.volume_records writes periodic volume records from packet time;
// off by default.
func TestVolumeRecords(t *testing.T) {
	count := func(cfgYAML string) int {
		n := 0
		for _, l := range replayRecords(t, cfgYAML, 1, filepath.Join(pcapDir, "tcp-edge.pcap")) {
			if strings.Contains(l, `"type":"volume"`) {
				n++
				if !strings.Contains(l, `"bytes_out":`) || !strings.Contains(l, `"key":`) {
					t.Errorf("volume record lacks fields: %s", l)
				}
			}
		}
		return n
	}
	if n := count(""); n != 0 {
		t.Errorf("%d volume records with the default configuration", n)
	}
	// tcp-edge.pcap has two destination keys. Windows during the replay
	// depend on how far the workers have counted (they run behind the
	// dispatcher); the final window, written after every worker finished,
	// must report both keys.
	if n := count("alerts: {volume_records: 1m}\n"); n < 2 {
		t.Errorf("%d volume records, want at least one per key (2)", n)
	}
}
