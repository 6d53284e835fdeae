package rules

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (-update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestLoadDir(t *testing.T) {
	rs, err := LoadDir("testdata/rules.d")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID+"@"+r.Pos())
	}
	want := "pii-to-ai@testdata/rules.d/10-pii.yaml:3 payments-egress-allowlist@testdata/rules.d/20-egress.yml:1 " +
		"db-port-from-outside-app-tier@testdata/rules.d/20-egress.yml:8"
	if got := strings.Join(ids, " "); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	e, err := Compile(rs, Options{DisableDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	f := baseFlow()
	f.Src.Service, f.Dst.Name = "payments-api", "evil.example"
	e.Eval(e.NewFlowState(), &f, t0)
	if strings.Join(f.Alerts, ",") != "pii-to-ai,payments-egress-allowlist" {
		t.Fatalf("alerts %v", f.Alerts)
	}
}

func TestLoadDirDuplicate(t *testing.T) {
	_, err := LoadDir("testdata/dup.d")
	want := `testdata/dup.d/b.yml:4: id: duplicate rule id "same" (first at testdata/dup.d/a.yaml:2)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// TestCheckFile reports every problem of every file, with positions.
func TestCheckFile(t *testing.T) {
	var b strings.Builder
	for _, p := range []string{"testdata/bad.d", "testdata/rules.d/10-pii.yaml", "testdata/missing.yaml"} {
		b.WriteString("$ tapdlp rules check " + p + "\n")
		ds := CheckFile(p)
		for _, d := range ds {
			if d.Line < 1 || d.File == "" {
				t.Errorf("diagnostic without position: %+v", d)
			}
			b.WriteString(d.Error() + "\n")
		}
		if len(ds) == 0 {
			b.WriteString("ok\n")
		}
	}
	golden(t, "check.golden", b.String())
}

func TestWriteTable(t *testing.T) {
	rs, err := LoadDir("testdata/rules.d")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flows := []func(*record.Flow){
		func(f *record.Flow) {},
		func(f *record.Flow) { f.Src.IP = "10.1.9.9" }, // same key: folded
		func(f *record.Flow) { f.Src.Service = "hr"; f.Dst.Port = 5432; f.Src.IP = "192.0.2.1" }, // new key
		func(f *record.Flow) { f.Sensitive = nil; f.Dst.IOC = &record.IOC{List: "feodo"} },
	}
	for i, mod := range flows {
		f := baseFlow()
		mod(&f)
		e.Eval(e.NewFlowState(), &f, t0+int64(i))
	}
	var b strings.Builder
	if err := WriteTable(&b, e.Stats()); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", b.String())
	fc := e.FiringCounts()
	if fc["pii-to-ai"] != 3 || fc["default.ioc-hit"] != 1 || fc["default.card-to-unknown"] != 0 {
		t.Fatalf("firing counts %v", fc)
	}
}
