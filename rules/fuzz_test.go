package rules

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/config"
)

// FuzzParse: arbitrary bytes never panic Parse; every error is config.Errors
// with a position; whatever Parse accepts, Compile accepts too and Eval runs.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specRules))
	f.Add(DefaultPack())
	f.Add([]byte(benchRules(12, true)))
	f.Add([]byte(whenRule(`{any: [{all: [{dst.port: ["1-9"]}, {not: {src.ip: [10.0.0.0/8]}}]}, {during: {days: [mon-fri], hours: "22:00-06:00", tz: Asia/Tokyo}}]}`)))
	f.Add([]byte("rules:\n  - id: a\n    when: &x {dst.port: [1]}\n  - id: b\n    when: *x\n"))
	f.Add([]byte("- id: a\n  threshold: {baseline_factor: 5, min_bytes: 1MB, per: [src.ip, dst.name], window: 90m}\n  dedup: {window: 1m, per: [dst.ip]}\n"))
	f.Add([]byte("rules:\n  - {id: x, when: {sensitive.count: \">=3\", sensitive.type: [jwt], direction: in}}\n"))
	for _, dir := range []string{"testdata/rules.d", "testdata/bad.d", "testdata/dup.d"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	flow := baseFlow()
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("f.yaml", data)
		if err != nil {
			var ds config.Errors
			if !errors.As(err, &ds) || len(ds) == 0 {
				t.Fatalf("error %T %v is not config.Errors", err, err)
			}
			for _, d := range ds {
				if d.File != "f.yaml" || d.Line < 1 {
					t.Fatalf("diagnostic without position: %+v", d)
				}
			}
			return
		}
		e, err := Compile(rs, Options{DisableDefaults: true})
		if err != nil {
			t.Fatalf("Parse accepted what Compile rejects: %v", err)
		}
		fl := flow
		fl.Alerts = nil
		e.Eval(e.NewFlowState(), &fl, t0)
	})
}

func BenchmarkParseCompile(b *testing.B) {
	data := []byte(specRules)
	b.ReportAllocs()
	for b.Loop() {
		rs, err := Parse("x.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(rs, Options{DisableDefaults: true}); err != nil {
			b.Fatal(err)
		}
	}
}
