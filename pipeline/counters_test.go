package pipeline

import (
	"context"
	"fmt"
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
	for _, d := range p.InspectionStats().Detections() {
		if d.Type == "credit_card" {
			cards = d.Count
			if d.Class != "PCI" {
				t.Errorf("credit_card class %q", d.Class)
			}
		}
	}
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

// A custom detector added by a reload is counted from then on, and the
// counters of the detectors already there carry over (a counter never goes
// back).
func TestReloadCountsNewDetectors(t *testing.T) {
	cfg, _ := parseTestConfig("")
	p, err := New(cfg, Options{Sink: nopSink{}})
	if err != nil {
		t.Fatal(err)
	}
	count := func(typ string) (uint64, bool) {
		for _, d := range p.InspectionStats().Detections() {
			if d.Type == typ {
				return d.Count, true
			}
		}
		return 0, false
	}
	replay := func() {
		t.Helper()
		if _, err := p.Replay(context.Background(), []string{filepath.Join(pcapDir, "inspect.pcap")}); err != nil {
			t.Fatal(err)
		}
	}
	replay()
	cards, _ := count("credit_card")
	if cards == 0 {
		t.Fatal("no card detections before the reload: the test would prove nothing")
	}
	if _, ok := count("customer_name"); ok {
		t.Fatal("customer_name counted before it was configured")
	}
	next, err := parseTestConfig("inspection:\n  detectors: [{name: customer_name, class: PII, regex: 'Jane', confidence: high}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(next); err != nil {
		t.Fatal(err)
	}
	if n, ok := count("customer_name"); !ok || n != 0 {
		t.Errorf("after the reload: customer_name %d, listed %v; want 0, listed", n, ok)
	}
	replay()
	if n, _ := count("customer_name"); n == 0 {
		t.Error("the detector added by the reload found nothing, or its findings were not counted")
	}
	if n, _ := count("credit_card"); n != 2*cards {
		t.Errorf("credit_card %d after a second replay, want %d (carried over, then counted again)", n, 2*cards)
	}
}

// Workers count while a reload adds detection types (run with -race): no
// count is lost, and a type whose class changed starts a new counter.
func TestDetectionCountsDuringReload(t *testing.T) {
	s := newInspectionStats([]string{"credit_card"}, []string{"PCI"})
	rec := &record.Flow{Sensitive: []record.Finding{{Type: "credit_card", Count: 1}}}
	const n = 20000
	var wg sync.WaitGroup
	wg.Go(func() {
		for range n {
			s.count(rec)
		}
	})
	for i := range 200 {
		s.addTypes([]string{"credit_card", fmt.Sprintf("custom_%d", i%7)}, []string{"PCI", "PII"})
	}
	wg.Wait()
	got := map[string]DetectionCount{}
	for _, d := range s.Detections() {
		got[d.Type] = d
	}
	if got["credit_card"].Count != n || len(got) != 8 {
		t.Errorf("credit_card %d (want %d), %d types (want 8)", got["credit_card"].Count, n, len(got))
	}
	s.addTypes([]string{"credit_card"}, []string{"SECRET"})
	if d := s.Detections()[0]; d.Type != "credit_card" || d.Class != "SECRET" || d.Count != 0 {
		t.Errorf("reclassified type: %+v", d)
	}
}
