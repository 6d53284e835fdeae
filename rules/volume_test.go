package rules

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// series feeds one new flow per minute carrying bytesAt(m) bytes out, and
// returns the minutes at which the rule fired.
func series(t *testing.T, e *Engine, minutes int, bytesAt func(m int) uint64) []int {
	t.Helper()
	var fired []int
	for m := 0; m < minutes; m++ {
		f := baseFlow()
		f.Sensitive = nil
		f.Bytes.Out = bytesAt(m)
		if len(e.Eval(e.NewFlowState(), &f, t0+int64(m)*int64(time.Minute))) > 0 {
			fired = append(fired, m)
		}
	}
	return fired
}

const baselineRule = `rules:
  - id: spike
    dedup: 0
    when: {dst.category: [ai_ml]}
    threshold: {baseline_factor: 5, min_bytes: 1MB, window: 5m}
`

func TestBaselineSeries(t *testing.T) {
	const warm = 180 // three hours of history before the interesting part
	jitter := func(m int) uint64 { return 1_000_000 + uint64(m*7919%200_000) - 100_000 }
	tests := []struct {
		name     string
		minutes  int
		bytes    func(m int) uint64
		from, to int // fired minutes must all lie in [from, to]; from < 0: must not fire
	}{
		{"steady", 2 * 24 * 60, jitter, -1, 0},
		{"step x10", warm + 60, func(m int) uint64 {
			if m >= warm {
				return 10_000_000
			}
			return jitter(m)
		}, warm + 2, warm + 59},
		{"spike", warm + 60, func(m int) uint64 {
			if m == warm {
				return 100_000_000
			}
			return jitter(m)
		}, warm, warm + 4},
		{"slow ramp doubling weekly", 3 * 24 * 60, func(m int) uint64 {
			return uint64(1e6 * math.Exp2(float64(m)/(7*24*60)))
		}, -1, 0},
		{"tiny baseline below min_bytes", warm + 60, func(m int) uint64 {
			if m == warm {
				return 900_000 // 90x the baseline, but under min_bytes
			}
			return 10_000
		}, -1, 0},
		{"no baseline during warm-up", 30, func(m int) uint64 { return uint64(m) * 10_000_000 }, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileYAML(t, baselineRule, Options{})
			fired := series(t, e, tt.minutes, tt.bytes)
			if tt.from < 0 {
				if len(fired) > 0 {
					t.Fatalf("fired at minutes %v, want never", fired)
				}
				return
			}
			if len(fired) == 0 || fired[0] != tt.from {
				t.Fatalf("fired at %v, want first at %d", fired, tt.from)
			}
			for _, m := range fired {
				if m > tt.to {
					t.Fatalf("fired at %v, want none after %d", fired, tt.to)
				}
			}
		})
	}
}

// TestWindowEdges checks which buckets a window covers: the current one and
// the n-1 before it, by bucket, not by exact time.
func TestWindowEdges(t *testing.T) {
	e := compileYAML(t, `rules:
  - id: vol
    dedup: 0
    when: {dst.category: [ai_ml]}
    threshold: {bytes_out: 10MB, window: 5m}
`, Options{})
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		at    string
		bytes uint64
		want  bool
	}{
		{"10:04:59", 6_000_000, false},
		{"10:05:01", 6_000_000, true},   // buckets 10:01..10:05 hold 12 MB
		{"10:08:59", 0, true},           // still inside: 10:04..10:08
		{"10:09:00", 0, false},          // 10:04 bucket left the window
		{"10:09:30", 4_000_001, true},   // 6 MB (10:05) + 4 MB + 1 byte
		{"10:15:00", 10_000_000, false}, // exactly the limit is not over it
	}
	for _, s := range steps {
		d, _ := time.Parse("15:04:05", s.at)
		now := base.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute + time.Duration(d.Second())*time.Second)
		f := baseFlow()
		f.Bytes.Out = s.bytes
		got := len(e.Eval(e.NewFlowState(), &f, now.UnixNano())) > 0
		if got != s.want {
			t.Errorf("%s: fired=%v, want %v", s.at, got, s.want)
		}
	}
}

// TestLongWindow: windows above an hour count whole hourly buckets.
func TestLongWindow(t *testing.T) {
	e := compileYAML(t, `rules:
  - id: daily
    dedup: 0
    when: {dst.category: [ai_ml]}
    threshold: {bytes_out: 500MB, window: 24h}
`, Options{})
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) int64 {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).UnixNano()
	}
	eval := func(now int64, bytes uint64) bool {
		f := baseFlow()
		f.Bytes.Out = bytes
		return len(e.Eval(e.NewFlowState(), &f, now)) > 0
	}
	if eval(at(1, 30), 300_000_000) {
		t.Fatal("300 MB fired")
	}
	if !eval(at(23, 30), 300_000_000) {
		t.Fatal("600 MB within a day did not fire")
	}
	if !eval(at(24+0, 59), 0) {
		t.Fatal("01:30 still inside the 24 hourly buckets at 00:59 next day")
	}
	if eval(at(24+1, 10), 0) {
		t.Fatal("01:xx of the previous day must have left the window")
	}
}

// TestNoDoubleCount: interim and final records of one flow add only deltas.
func TestNoDoubleCount(t *testing.T) {
	e := compileYAML(t, `rules:
  - id: vol
    dedup: 0
    when: {dst.category: [ai_ml]}
    threshold: {bytes_out: 3500000, window: 5m}
`, Options{})
	st := e.NewFlowState()
	f := baseFlow()
	for _, out := range []uint64{1_000_000, 2_000_000, 3_000_000, 3_000_000} {
		f.Bytes.Out = out
		if len(e.Eval(st, &f, t0)) > 0 {
			t.Fatalf("fired at %d bytes: records were double counted", out)
		}
	}
	recs := e.Volume().Records(t0, 5*time.Minute)
	if len(recs) != 1 || recs[0].BytesOut != 3_000_000 || recs[0].Key != "src.service=billing,dst.domain=openai.com" {
		t.Fatalf("volume records %+v", recs)
	}
	// A second flow of the same key adds up.
	f2 := baseFlow()
	f2.Bytes.Out = 600_000
	if len(e.Eval(e.NewFlowState(), &f2, t0)) != 1 {
		t.Fatal("3.6 MB for the key did not fire")
	}
}

func TestVolumeEviction(t *testing.T) {
	v := NewVolume(VolumeOptions{MaxKeys: shardCount}) // one key per shard
	refs := make([]volRef, 200)
	for i := range refs {
		k := key{kind: defaultKind, src: "s", dst: string(rune('a'+i%26)) + string(rune('a'+i/26))}
		v.add(&refs[i], k, 1, t0)
	}
	st := v.Stats()
	if st.Keys > shardCount || st.Evicted != uint64(200-st.Keys) {
		t.Fatalf("stats %+v", st)
	}
	// A stale ref to an evicted entry must not write into it.
	var stale volRef
	k0 := key{kind: defaultKind, src: "x", dst: "y"}
	v.add(&stale, k0, 5, t0)
	old := stale.e
	evicted := func() bool { return !old.Live() || old.Key != k0 }
	for i := 0; i < 200 && !evicted(); i++ {
		var r volRef
		v.add(&r, key{kind: defaultKind, src: "fill", dst: string(rune(i + 100))}, 1, t0)
	}
	if !evicted() {
		t.Skip("key survived; eviction order made it unlikely to test")
	}
	// The evicted entry may since hold another key (a full cache reuses
	// entries); whatever it holds, the stale ref must not write into it.
	before := old.Value.fine[(t0/int64(time.Minute))%fineBuckets]
	oldKey := old.Key
	v.add(&stale, k0, 7, t0)
	if stale.e.Key != k0 || !stale.e.Live() || stale.e.Value.fine[(t0/int64(time.Minute))%fineBuckets] != 7 {
		t.Fatal("the write did not go to a fresh entry for the key")
	}
	if stale.e != old && (old.Key != oldKey || old.Value.fine[(t0/int64(time.Minute))%fineBuckets] != before) {
		t.Fatal("write went to an evicted entry")
	}
}

func TestVolumeLate(t *testing.T) {
	v := NewVolume(VolumeOptions{})
	var ref volRef
	k := key{kind: defaultKind, src: "a", dst: "b"}
	v.add(&ref, k, 1, t0+int64(48*time.Hour))
	v.add(&ref, k, 10, t0) // two days late: older than the rings
	v.add(&ref, k, 20, t0+int64(47*time.Hour+59*time.Minute))
	if got := v.Stats().LateBytes; got != 10 {
		t.Fatalf("late bytes %d, want 10", got)
	}
	s, _ := v.sample(&ref, k, 5, t0+int64(48*time.Hour))
	if s.total != 21 {
		t.Fatalf("window total %d, want 21", s.total)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "volume.json")
	e1 := compileYAML(t, baselineRule, Options{})
	steady := func(int) uint64 { return 1_000_000 }
	series(t, e1, 180, steady)
	if err := e1.Volume().Save(path); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp files left behind: %v", ents)
	}
	// "Restart": a fresh engine with loaded state behaves like the old one.
	v2 := NewVolume(VolumeOptions{})
	if err := v2.Load(path); err != nil {
		t.Fatal(err)
	}
	e2 := compileYAML(t, baselineRule, Options{Volume: v2})
	fresh := compileYAML(t, baselineRule, Options{})
	spikeAt := func(e *Engine) bool {
		f := baseFlow()
		f.Bytes.Out = 50_000_000
		return len(e.Eval(e.NewFlowState(), &f, t0+180*int64(time.Minute))) > 0
	}
	if !spikeAt(e2) {
		t.Fatal("restored engine did not fire on a spike: baseline lost")
	}
	if spikeAt(fresh) {
		t.Fatal("an engine without history fired (baseline should not be warm)")
	}
	var k1, k2 volRef
	key := key{kind: defaultKind, src: "billing", dst: "openai.com"}
	s1, _ := e1.Volume().sample(&k1, key, 60, t0+179*int64(time.Minute))
	s2, _ := NewVolumeLoaded(t, path).sample(&k2, key, 60, t0+179*int64(time.Minute))
	if s1 != s2 {
		t.Fatalf("samples differ after reload: %+v vs %+v", s1, s2)
	}
}

func NewVolumeLoaded(t *testing.T, path string) *Volume {
	t.Helper()
	v := NewVolume(VolumeOptions{})
	if err := v.Load(path); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	v := NewVolume(VolumeOptions{})
	if err := v.Load(filepath.Join(dir, "missing.json")); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	for name, body := range map[string]string{
		"garbage":  "not json",
		"version":  `{"version": 9, "bucket_ns": 60000000000, "keys": []}`,
		"kind":     `{"version": 1, "bucket_ns": 60000000000, "keys": [{"kind": "x/y"}]}`,
		"baseline": `{"version": 1, "bucket_ns": 60000000000, "keys": [{"kind": "src.service/dst.domain", "baseline": -1}]}`,
		"rings":    `{"version": 1, "bucket_ns": 60000000000, "keys": [{"kind": "src.service/dst.domain", "fine": [1]}]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := v.Load(p); !errors.Is(err, ErrStateFormat) {
			t.Errorf("%s: err = %v, want ErrStateFormat", name, err)
		}
	}
	// A different bucket width keeps baselines, rescaled.
	p := filepath.Join(dir, "bucket")
	body := `{"version": 1, "bucket_ns": 30000000000, "keys": [{"kind": "src.ip/dst.ip", "src": "a", "dst": "b", "baseline": 100, "seen": 500, "last": 10}]}`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	v2 := NewVolume(VolumeOptions{})
	if err := v2.Load(p); err != nil {
		t.Fatal(err)
	}
	var ref volRef
	e := v2.lookup(&ref, key{kind: keyKind{2, 3}, src: "a", dst: "b"}, false, 0)
	ref.s.mu.Unlock()
	if e == nil || e.Value.baseline != 200 || e.Value.last != 5 {
		t.Fatalf("rescaled entry %+v", e)
	}
}

func TestVolumeRecords(t *testing.T) {
	v := NewVolume(VolumeOptions{})
	var r1, r2 volRef
	v.add(&r1, key{kind: keyKind{2, 3}, src: "10.0.0.1", dst: "1.1.1.1"}, 100, t0)
	v.add(&r2, key{kind: defaultKind, src: "billing", dst: "x.com"}, 50, t0)
	recs := v.Records(t0, time.Hour)
	want := []record.Volume{
		{Type: "volume", Key: "src.ip=10.0.0.1,dst.ip=1.1.1.1", Window: "1h0m0s", BytesOut: 100},
		{Type: "volume", Key: "src.service=billing,dst.domain=x.com", Window: "1h0m0s", BytesOut: 50},
	}
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	for i := range want {
		want[i].TS = record.TimeFromNanos(t0)
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, recs[i], want[i])
		}
	}
}
