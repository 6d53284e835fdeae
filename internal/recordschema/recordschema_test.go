package recordschema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// Every golden record (all committed captures replayed with the default
// configuration) is valid against the published schema.
func TestGoldenRecordsMatchSchema(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/golden/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no golden records")
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(data), "\n")
		for _, p := range ValidateLines(data) {
			t.Errorf("%s: %s", filepath.Base(f), p)
		}
	}
	t.Logf("%d records in %d files valid", n, len(files))
}

// The schema is a contract, so it must be able to say no: each case breaks
// one promise of a valid record.
func TestSchemaRejects(t *testing.T) {
	flow := record.Flow{
		Type: "flow", FlowID: "0123456789abcdef", CommunityID: "1:AiYGcIxzSKeRKjQfP+UnhFxK8xM=",
		State: "closed", Proto: "tcp",
		Src: record.Src{IP: "10.0.0.5", Port: 51600}, Dst: record.Dst{IP: "198.51.100.20", Port: 80, Category: "unknown"},
		Sensitive: []record.Finding{{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out", Confidence: "high", Evidence: []string{"************1111"}}},
		Inspected: &record.Inspected{Out: 10},
	}
	if err := Validate(mustJSON(flow)); err != nil {
		t.Fatalf("valid flow rejected: %v", err)
	}
	alert := record.Alert{Type: "alert", Rule: "default.card-to-unknown", Severity: "critical", Src: flow.Src, Dst: flow.Dst, Reason: "x", Count: 1}
	if err := Validate(mustJSON(alert)); err != nil {
		t.Fatalf("valid alert rejected: %v", err)
	}
	vol := record.Volume{Type: "volume", Key: "svc|example.com", Window: "5m", BytesOut: 10, Baseline: 1.5}
	if err := Validate(mustJSON(vol)); err != nil {
		t.Fatalf("valid volume rejected: %v", err)
	}
	tests := []struct {
		name string
		edit func(f *record.Flow) any
	}{
		{"raw evidence", func(f *record.Flow) any { f.Sensitive[0].Evidence = []string{"4111111111111111"}; return f }},
		{"bad category", func(f *record.Flow) any { f.Dst.Category = "ai"; return f }},
		{"bad state", func(f *record.Flow) any { f.State = "done"; return f }},
		{"bad ip", func(f *record.Flow) any { f.Src.IP = "10.0.0"; return f }},
		{"bad flow id", func(f *record.Flow) any { f.FlowID = "xyz"; return f }},
		{"bad direction", func(f *record.Flow) any { f.Sensitive[0].Direction = "both"; return f }},
		{"unknown field", func(f *record.Flow) any {
			m := map[string]any{}
			_ = jsonRoundTrip(f, &m)
			m["surprise"] = 1
			return m
		}},
		{"unknown type", func(f *record.Flow) any { f.Type = "flows"; return f }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flow
			f.Sensitive = append([]record.Finding(nil), flow.Sensitive...)
			f.Dst, f.Src = flow.Dst, flow.Src
			if err := Validate(mustJSON(tt.edit(&f))); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func jsonRoundTrip(in, out any) error {
	return jsonUnmarshal(mustJSON(in), out)
}

var jsonUnmarshal = json.Unmarshal
