package sensor

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record/sinks"
)

// jsonLines parses every line of a JSON log; a line that is not JSON fails.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		recs = append(recs, m)
	}
	return recs
}

// The periodic status line becomes a log record with numeric fields.
func TestStatusLineIsALogRecord(t *testing.T) {
	var buf syncBuffer
	w := &statusLog{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	w.Write([]byte("tapdlp run: packets=12 bytes=3400 kernel_drops=0 flows_active=2\ntapdlp run: pack"))
	w.Write([]byte("ets=13 mode=x\n"))
	recs := jsonLines(t, buf.String())
	if len(recs) != 2 {
		t.Fatalf("%d records: %s", len(recs), buf.String())
	}
	if recs[0]["msg"] != "status" || recs[0]["packets"] != 12.0 || recs[0]["bytes"] != 3400.0 || recs[1]["packets"] != 13.0 || recs[1]["mode"] != "x" {
		t.Errorf("records %v", recs)
	}
}

// A sink's outage is logged once per state change, rate-limited, and its
// recovery says what the outage cost.
func TestSinkStateChangesAreLoggedOnce(t *testing.T) {
	var buf syncBuffer
	st := new(sinks.Stats)
	w := newSinkWatch(func(n string) *sinks.Stats {
		if n == "siem" {
			return st
		}
		return nil
	}, []string{"siem", "gone"}, slog.New(slog.NewJSONHandler(&buf, nil)), 10*time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	steps := []struct {
		sec    int
		change func()
		want   string // message of the line this step logs; "" none
	}{
		{1, func() { st.Written.Add(100) }, ""},
		{2, func() { st.Written.Add(100) }, ""},
		{3, func() { st.Failed.Add(5) }, "sink down"},
		{4, func() { st.Failed.Add(5) }, ""},                              // still down: no second line
		{5, func() { st.Spooled.Add(50); st.SpoolBytes.Store(5000) }, ""}, // within the gap: folded
		{13, func() { st.Spooled.Add(50) }, "sink spooling"},              // gap passed: current state
		{14, func() { st.Drop(sinks.DropSpoolFull, 7) }, ""},
		{24, func() { st.Drop(sinks.DropSpoolFull, 1) }, "sink spool full"},
		{25, func() { st.Written.Add(10); st.SpoolBytes.Store(100) }, ""}, // draining, not recovered
		{40, func() { st.Written.Add(10); st.SpoolBytes.Store(0) }, "sink recovered"},
		{41, func() { st.Written.Add(10) }, ""},
	}
	for _, s := range steps {
		before := len(jsonLines(t, buf.String()))
		s.change()
		w.observe(at(s.sec))
		recs := jsonLines(t, buf.String())
		switch {
		case s.want == "" && len(recs) != before:
			t.Errorf("t=%ds: unexpected line %v", s.sec, recs[len(recs)-1])
		case s.want != "" && len(recs) != before+1:
			t.Errorf("t=%ds: %d new lines, want one %q", s.sec, len(recs)-before, s.want)
		case s.want != "" && !strings.HasPrefix(recs[len(recs)-1]["msg"].(string), s.want):
			t.Errorf("t=%ds: logged %q, want %q", s.sec, recs[len(recs)-1]["msg"], s.want)
		}
	}
	recs := jsonLines(t, buf.String())
	last := recs[len(recs)-1]
	if last["sink"] != "siem" || last["failed"] != 10.0 || last["spooled"] != 100.0 || last["dropped"] != 8.0 || last["after"] != "37s" {
		t.Errorf("recovery line %v: want failed 10, spooled 100, dropped 8 after 37s", last)
	}
}
