package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// benchRules builds n rules cycling through realistic shapes: category plus
// sensitive data, allowlists with not, CIDRs, ports, numeric comparisons,
// name wildcards, any/all, time windows and thresholds.
func benchRules(n int, thresholds bool) string {
	cats := []string{"ai_ml", "cloud_storage", "saas", "analytics", "social", "advertising", "cdn", "unknown", "threat"}
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := 0; i < n; i++ {
		c := cats[i%len(cats)]
		fmt.Fprintf(&b, "  - id: r%03d\n    severity: medium\n", i)
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "    when: {dst.category: [%s], sensitive.class: [PII, PCI], direction: out}\n", c)
		case 1:
			fmt.Fprintf(&b, "    when: {src.service: [svc-%d], not: {dst.name: [\"api.stripe.com\", \"*.adyen.com\"]}}\n", i)
		case 2:
			fmt.Fprintf(&b, "    when: {dst.port: [5432, 3306], not: {src.ip: [10.%d.0.0/16]}}\n", i)
		case 3:
			fmt.Fprintf(&b, "    when: {dst.name: [\"*.svc%d.example.com\", \"host%d.example.org\"]}\n", i, i)
		case 4:
			fmt.Fprintf(&b, "    when: {dst.category: [%s], bytes.out: \">%dMB\"}\n", c, 100+i)
		case 5:
			fmt.Fprintf(&b, "    when: {any: [{dst.vendor: [vendor-%d]}, {app: [app-%d]}]}\n", i, i)
		case 6:
			fmt.Fprintf(&b, "    when: {sensitive.type: [us_ssn], sensitive.count: \">=%d\"}\n", 5+i)
		case 7:
			fmt.Fprintf(&b, "    when: {dst.ip: [198.18.%d.0/24, \"2001:db8:%x::/48\"]}\n", i, i)
		case 8:
			fmt.Fprintf(&b, "    when: {src.service: [svc-%d], during: {days: [sat, sun], tz: Europe/Berlin}}\n", i)
		case 9:
			if thresholds {
				fmt.Fprintf(&b, "    when: {dst.category: [%s]}\n    threshold: {bytes_out: 10GB, window: 1h}\n", c)
			} else {
				fmt.Fprintf(&b, "    when: {dst.category: [%s], bytes.in: \"<100\"}\n", c)
			}
		}
	}
	return b.String()
}

func benchEngine(tb testing.TB, n int) *Engine {
	return compileYAML(tb, benchRules(n, true), Options{})
}

// benchFlow is a typical egress record with a finding that no rule fires on.
func benchFlow() record.Flow {
	return record.Flow{
		Type: "flow", FlowID: "F", Proto: "tcp", App: "tls",
		Src:   record.Src{IP: "10.250.3.4", Port: 40000, Service: "frontend"},
		Dst:   record.Dst{IP: "203.0.113.9", Port: 443, Name: "www.example.net", Domain: "example.net", Category: "saas", Vendor: "Example"},
		Bytes: record.Counts{Out: 5000, In: 90000},
		Sensitive: []record.Finding{
			{Type: "email", Class: "PII", Count: 2, Direction: "in"},
		},
	}
}

func BenchmarkEval200(b *testing.B) {
	e := benchEngine(b, 200)
	st := e.NewFlowState()
	f := benchFlow()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.Bytes.Out += 100
		if e.Eval(st, &f, t0+int64(i)) != nil {
			b.Fatal("fired")
		}
	}
}

// BenchmarkEval200NoVolume leaves the threshold rules out, isolating the cost
// of condition evaluation from the volume tracker's lock.
func BenchmarkEval200NoVolume(b *testing.B) {
	e := compileYAML(b, benchRules(200, false), Options{})
	st := e.NewFlowState()
	f := benchFlow()
	b.ReportAllocs()
	for b.Loop() {
		if e.Eval(st, &f, t0) != nil {
			b.Fatal("fired")
		}
	}
}

func BenchmarkEvalFires(b *testing.B) {
	e := compileYAML(b, specRules, Options{})
	f0 := baseFlow()
	b.ReportAllocs()
	for b.Loop() {
		f := f0
		f.Alerts = nil
		e.Eval(e.NewFlowState(), &f, t0)
	}
}

// BenchmarkEvalFiresReused is BenchmarkEvalFires as the pipeline's ordered
// stage runs it: one scratch, and the alerts' array passed back
// (EvalAppend) or not (EvalWith).
func BenchmarkEvalFiresReused(b *testing.B) {
	e := compileYAML(b, specRules, Options{DedupWindow: -1}) // every evaluation writes its alerts
	f0 := baseFlow()
	var sc Scratch
	st := e.NewFlowState()
	var dst []record.Alert
	for _, c := range []struct {
		name  string
		reuse bool
	}{{"EvalWith", false}, {"EvalAppend", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f := f0
				f.Alerts = nil
				st.Reset()
				if c.reuse {
					dst = e.EvalAppend(&sc, st, &f, t0, dst[:0])
				} else {
					dst = e.EvalWith(&sc, st, &f, t0)
				}
				if len(dst) == 0 {
					b.Fatal("nothing fired")
				}
			}
		})
	}
}
