package rules

import (
	"strconv"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

const denialRule = `rules:
  - id: denials
    severity: low
    dedup: 0
    when:
      any:
        - reject.by: [rst, icmp]
        - conn_state: [S0, REJ, RSTOS0]
    threshold: {flows: 3, per: [src.ip, dst.ip], window: 10m}
`

func deniedFlow(id, src, dst, cs string) record.Flow {
	f := record.Flow{Type: "flow", FlowID: id, Proto: "tcp", ConnState: cs,
		Src: record.Src{IP: src, Port: 40000}, Dst: record.Dst{IP: dst, Port: 443, Category: "unknown"}}
	if cs == "REJ" {
		f.Reject = &record.Reject{By: "rst"}
	}
	return f
}

// TestFlowThreshold: the rule fires on the flow that reaches the count
// within the window, never before; flows outside the window, of another
// key, or not matching `when` do not count; a flow counts once however
// many records it has.
func TestFlowThreshold(t *testing.T) {
	min := int64(time.Minute)
	type step struct {
		src, dst, cs string
		at           int64 // minutes after t0
		records      int   // records of this flow (interim + final); default 1
		fire         bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fires at the third", []step{
			{"10.0.0.1", "192.0.2.1", "S0", 0, 1, false},
			{"10.0.0.1", "192.0.2.1", "REJ", 1, 1, false},
			{"10.0.0.1", "192.0.2.1", "RSTOS0", 2, 1, true},
			{"10.0.0.1", "192.0.2.1", "S0", 3, 1, true}, // still at or over the count
		}},
		{"records of one flow count once", []step{
			{"10.0.0.1", "192.0.2.1", "S0", 0, 3, false},
			{"10.0.0.1", "192.0.2.1", "S0", 1, 2, false},
			{"10.0.0.1", "192.0.2.1", "S0", 2, 1, true},
		}},
		{"window slides", []step{
			{"10.0.0.1", "192.0.2.1", "S0", 0, 1, false},
			{"10.0.0.1", "192.0.2.1", "S0", 5, 1, false},
			{"10.0.0.1", "192.0.2.1", "S0", 10, 1, false}, // the first is 10 min old: out
			{"10.0.0.1", "192.0.2.1", "S0", 11, 1, true},
		}},
		{"other keys and matches do not count", []step{
			{"10.0.0.1", "192.0.2.1", "S0", 0, 1, false},
			{"10.0.0.2", "192.0.2.1", "S0", 0, 1, false},
			{"10.0.0.1", "192.0.2.2", "S0", 0, 1, false},
			{"10.0.0.1", "192.0.2.1", "SF", 0, 1, false},
			{"10.0.0.1", "192.0.2.1", "S1", 0, 1, false},
			{"10.0.0.1", "192.0.2.1", "REJ", 1, 1, false},
			{"10.0.0.1", "192.0.2.1", "S0", 2, 1, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := compileYAML(t, denialRule, Options{})
			for i, s := range tc.steps {
				f := deniedFlow("F"+strconv.Itoa(i), s.src, s.dst, s.cs)
				st := e.NewFlowState()
				var alerts []record.Alert
				for r := 0; r < max(s.records, 1); r++ {
					alerts = append(alerts, e.Eval(st, &f, t0+s.at*min)...)
				}
				if got := len(alerts) > 0; got != s.fire {
					t.Fatalf("step %d (%+v): fired %v, want %v", i, s, got, s.fire)
				}
				if s.fire && alerts[0].Reason == "" {
					t.Errorf("step %d: empty reason", i)
				}
			}
			if st := e.Stats().Volume; st.FlowKeys == 0 {
				t.Errorf("no flow-count keys: %+v", st)
			}
		})
	}
}

// TestFlowCountsBounded: keys beyond MaxKeys are evicted and counted.
func TestFlowCountsBounded(t *testing.T) {
	e := compileYAML(t, denialRule, Options{VolumeOptions: VolumeOptions{MaxKeys: 32}})
	for i := range 1000 {
		f := deniedFlow("F", "10.0.0."+strconv.Itoa(i%250), "192.0.2."+strconv.Itoa(i/250), "S0")
		e.Eval(e.NewFlowState(), &f, t0)
	}
	st := e.Stats().Volume
	if st.FlowKeys > 32 || st.FlowEvicted < 1000-32 {
		t.Errorf("keys %d evicted %d, want <= 32 and >= %d", st.FlowKeys, st.FlowEvicted, 1000-32)
	}
}

// TestConnStateOnlyFinal: an active (live or interim) record's conn_state
// is provisional and matches nothing; the final record's does.
func TestConnStateOnlyFinal(t *testing.T) {
	e := compileYAML(t, whenRule("{conn_state: [S0]}"), Options{})
	f := deniedFlow("F", "10.0.0.1", "192.0.2.1", "S0")
	st := e.NewFlowState()
	f.State = record.StateActive
	if a := e.Eval(st, &f, t0); len(a) != 0 {
		t.Fatalf("fired on an active record: %+v", a)
	}
	f.State = record.StateShutdown
	if a := e.Eval(st, &f, t0); len(a) != 1 {
		t.Fatalf("final record: %d alerts, want 1", len(a))
	}
}

// TestFlowCountsReuseEvictedRings: a flood of new keys at the key bound
// reuses the evicted keys' rings (no allocation per key) and a reused ring
// starts from zero, whatever the evicted key had counted.
func TestFlowCountsReuseEvictedRings(t *testing.T) {
	fc := newFlowCounts(shardCount) // one key per shard
	window := int64(time.Minute)
	keys := make([]key, 4096)
	for i := range keys {
		keys[i] = key{src: "10.0.0." + strconv.Itoa(i%256), dst: "192.0.2." + strconv.Itoa(i/256)}
	}
	// Fill every key's ring to the count first, so stale times would show.
	for _, k := range keys {
		for range 3 {
			fc.count("r", k, 3, window, 1, true)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		k := keys[i%len(keys)]
		i++
		if n := fc.count("r", k, 3, window, 2, true); n != 1 {
			t.Fatalf("key %v: a new key counts %d flows, want 1", k, n)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per new key at the bound", allocs)
	}
	if _, ev := fc.stats(); ev == 0 {
		t.Error("no key was evicted: the test did not exercise the bound")
	}
}
