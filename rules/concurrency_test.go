package rules

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestConcurrentEval runs workers over one shared Engine (run with -race):
// per-flow state is private, volume and de-duplication state is shared.
func TestConcurrentEval(t *testing.T) {
	e := compileYAML(t, specRules+`  - id: vol
    when: {dst.category: [ai_ml]}
    threshold: {bytes_out: 5MB, window: 5m}
`, Options{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				f := baseFlow()
				f.Src.Service = "svc" + strconv.Itoa(i%7)
				st := e.NewFlowState()
				for _, out := range []uint64{1000, 50_000, 100_000} {
					f.Bytes.Out = out
					e.Eval(st, &f, t0+int64(i)*int64(time.Second))
				}
			}
		}(w)
	}
	wg.Wait()
	st := e.Stats()
	var fired uint64
	for _, r := range st.Rules {
		if r.ID == "pii-to-ai" {
			fired = r.Fired
			if r.Alerts+r.Suppressed != r.Fired {
				t.Errorf("alerts %d + suppressed %d != fired %d", r.Alerts, r.Suppressed, r.Fired)
			}
		}
	}
	if fired != 4*300 {
		t.Fatalf("pii-to-ai fired %d times, want %d", fired, 4*300)
	}
	// 4 workers x 300 flows x 100 KB over 7 keys, all within 5 minutes.
	var total uint64
	for _, r := range e.Volume().Records(t0+300*int64(time.Second), 10*time.Minute) {
		total += r.BytesOut
	}
	if total != 4*300*100_000 {
		t.Fatalf("volume total %d, want %d", total, 4*300*100_000)
	}
}

func TestParseNode(t *testing.T) {
	var cfg yaml.Node
	doc := "sensor: {iface: eth0}\nrules:\n  - id: a\n    when: {dst.category: [bogus]}\n"
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	root := cfg.Content[0]
	var rulesNode *yaml.Node
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == "rules" {
			rulesNode = root.Content[i+1]
		}
	}
	_, err := ParseNode("tapdlp.yaml", rulesNode)
	want := `tapdlp.yaml:4: rules[0].when.dst.category: "bogus" is not a category`
	if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("err = %v, want prefix %s", err, want)
	}
	if rs, err := ParseNode("x", nil); rs != nil || err != nil {
		t.Fatal("nil node must be no rules")
	}
}
