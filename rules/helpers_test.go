package rules

import (
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// t0 is a fixed packet time: Monday 2026-11-23 10:00:00 UTC.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixNano()

// compileYAML compiles a rules document without the default pack.
func compileYAML(t testing.TB, doc string, opts Options) *Engine {
	t.Helper()
	rs, err := Parse("test.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	opts.DisableDefaults = true
	e, err := Compile(rs, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e
}

// whenRule wraps a `when:` body (flow-style YAML) into a one-rule document.
func whenRule(when string) string {
	return "rules:\n  - id: r\n    dedup: 0\n    when: " + when + "\n"
}

// baseFlow is an outbound HTTPS flow from billing to an AI service.
func baseFlow() record.Flow {
	return record.Flow{
		Type: "flow", FlowID: "F1", CommunityID: "1:abc=", Proto: "tcp", App: "tls",
		Src: record.Src{IP: "10.1.2.3", Port: 50000, Service: "billing"},
		Dst: record.Dst{IP: "203.0.113.7", Port: 443, Name: "api.openai.com", Domain: "openai.com",
			Category: "ai_ml", Vendor: "OpenAI", Service: "OpenAI API"},
		Bytes: record.Counts{Out: 2_000_000, In: 10_000},
		VLAN:  []uint16{100},
		Tags:  []string{"prod", "eu-west"},
		Sensitive: []record.Finding{
			{Type: "credit_card", Class: "PCI", Count: 3, Direction: "out", Confidence: "high", Evidence: []string{"****1111"}},
			{Type: "email", Class: "PII", Count: 1, Direction: "in", Confidence: "medium"},
		},
	}
}
