package metrics

import (
	"bytes"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record/sinks"
)

var update = flag.Bool("update", false, "rewrite METRICS.md from the catalog")

// configuredLabels are the labels whose values come from configuration
// rather than from a fixed list in the code; METRICS.md says where.
var configuredLabels = map[string]string{
	"interface": "configured capture interfaces",
	"rule":      "rule ids (rules files and the default pack)",
	"severity":  "rule severities: low, medium, high, critical",
	"sink":      "configured sink names",
}

// detectionLabels: the detection family's type and class come from the
// configured detectors, unlike the tunnel "type" enum.
var detectionLabels = map[string]string{
	"type":  "configured detector names (built-in types and custom detectors)",
	"class": "detector classes: PCI, PII, PHI, SECRET or a custom detector's",
}

// renderCatalog builds METRICS.md from the catalog; the value lists of
// enum labels come from a scrape with every source present, so they are
// the ones the code writes.
func renderCatalog(t testing.TB) []byte {
	samples, _, _ := parseExposition(t, scrape(t, New(fullSources())))
	values := make(map[string]map[string][]string) // family -> label -> values
	for _, s := range samples {
		for _, k := range s.keys {
			if k == "le" || k == "vmrange" {
				continue
			}
			if values[s.family] == nil {
				values[s.family] = make(map[string][]string)
			}
			if !slices.Contains(values[s.family][k], s.labels[k]) {
				values[s.family][k] = append(values[s.family][k], s.labels[k])
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(`# tapdlp metrics

Generated from metrics/catalog.go by ` + "`go test ./metrics -run TestMetricsDoc -update`" + `; a test fails
when this file and the code disagree. ` + "`/metrics`" + ` listens on ` + DefaultAddr + ` by default.

Every label value comes from a bounded set fixed by the code or by the
configuration (never from traffic: no addresses, ports or host names).
Counters end in ` + "`_total`" + `; histograms add ` + "`_bucket`, `_sum` and `_count`" + `.
A family is absent when its source (last column) is not running.

| metric | type | labels | meaning | source |
|---|---|---|---|---|
`)
	for _, f := range families {
		var labels []string
		for _, l := range f.labels {
			switch {
			case f == famDetections:
				labels = append(labels, fmt.Sprintf("`%s` (%s)", l, detectionLabels[l]))
			case configuredLabels[l] != "":
				labels = append(labels, fmt.Sprintf("`%s` (%s)", l, configuredLabels[l]))
			default:
				labels = append(labels, fmt.Sprintf("`%s`: %s", l, strings.Join(values[f.name][l], ", ")))
			}
		}
		switch f {
		case famLatency:
			labels = append(labels, "`le`: "+leList())
		case famLatencyVM:
			labels = append(labels, "`vmrange` (18 log-spaced buckets per decade)")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.name, f.typ, strings.Join(labels, "; "), f.help, f.source)
	}
	return b.Bytes()
}

func leList() string {
	var s []string
	for _, le := range latencyLE {
		s = append(s, strconv.FormatFloat(le, 'g', -1, 64))
	}
	return strings.Join(append(s, "+Inf"), ", ")
}

// TestMetricsDoc keeps METRICS.md equal to the catalog.
func TestMetricsDoc(t *testing.T) {
	got := renderCatalog(t)
	if *update {
		if err := os.WriteFile("METRICS.md", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("METRICS.md")
	if err != nil {
		t.Fatalf("%v (run go test ./metrics -run TestMetricsDoc -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("METRICS.md is out of date (go test ./metrics -run TestMetricsDoc -update):\n%s", lineDiff(string(want), string(got)))
	}
}

// TestMetricsDocListsExactlyWhatIsServed reads METRICS.md independently
// of the generator: every family a full scrape serves is documented and
// every documented family is served.
func TestMetricsDocListsExactlyWhatIsServed(t *testing.T) {
	doc, err := os.ReadFile("METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(tapdlp_[a-z0-9_]+)` \\|").FindAllSubmatch(doc, -1) {
		documented = append(documented, string(m[1]))
	}
	_, served, _ := parseExposition(t, scrape(t, New(fullSources())))
	for _, n := range served {
		if !slices.Contains(documented, n) {
			t.Errorf("%s is served but not in METRICS.md", n)
		}
	}
	for _, n := range documented {
		if !slices.Contains(served, n) {
			t.Errorf("%s is in METRICS.md but never served", n)
		}
	}
}

// allowedLabels is the whole label vocabulary: each names a bounded set.
var allowedLabels = []string{"interface", "result", "reason", "type", "class", "kind", "rule", "severity", "sink"}

var nameRe = regexp.MustCompile(`^tapdlp_(capture|pipeline|decode|flows|reassembly|http|classify|dns|destinations|rules|sink)_[a-z0-9_]+$`)

func TestCatalogConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			if seen[f.name] {
				t.Error("defined twice")
			}
			seen[f.name] = true
			if !nameRe.MatchString(f.name) {
				t.Errorf("name does not follow tapdlp_<subsystem>_<name>")
			}
			if (f.typ == counter) != strings.HasSuffix(f.name, "_total") {
				t.Errorf("%s: counters and only counters end in _total", f.typ)
			}
			if f.help == "" || !strings.HasSuffix(f.help, ".") || strings.ContainsAny(f.help, "\n|") {
				t.Errorf("help must be one sentence-ended line without '|': %q", f.help)
			}
			if f.source == "" {
				t.Error("no source")
			}
			for _, l := range f.labels {
				if !slices.Contains(allowedLabels, l) {
					t.Errorf("label %q is not in the bounded vocabulary %v", l, allowedLabels)
				}
			}
		})
	}
}

// TestEveryStageCounterIsMapped fails when a stage adds a counter that this
// package would silently leave out.
func TestEveryStageCounterIsMapped(t *testing.T) {
	t.Run("reassembly", func(t *testing.T) {
		new(reassembly.Stats).Each(func(name string, _ uint64) {
			if !slices.ContainsFunc(flowNames, func(m struct {
				each  string
				f     *family
				label string
			}) bool {
				return m.each == name
			}) {
				t.Errorf("reassembly counter %q has no entry in flowNames", name)
			}
		})
	})
	t.Run("sinks", func(t *testing.T) {
		new(sinks.Stats).Each(func(name string, _ uint64) {
			if _, ok := dropReason(name); ok {
				return
			}
			if !slices.ContainsFunc(sinkNames, func(m struct {
				each string
				f    *family
			}) bool {
				return m.each == name
			}) {
				t.Errorf("sink counter %q has no entry in sinkNames", name)
			}
		})
	})
	t.Run("http", func(t *testing.T) {
		new(httpparse.Stats).Each(func(name string, _ uint64) {
			fam, _, _ := strings.Cut(name, "{")
			if f := byName[fam]; f == nil || f.source != "HTTP" {
				t.Errorf("HTTP counter %q has no catalog family", fam)
			}
		})
	})
}

// TestStagesDoNotImportMetrics: metrics reads the stages, never the other
// way round; only the CLI (and this package's own tests) may import it.
func TestStagesDoNotImportMetrics(t *testing.T) {
	const self = "github.com/tapdlp/tapdlp/metrics"
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "metrics", "cmd", "testdata", ".git":
				if path != ".." {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return nil // a file mid-edit by another helper is not this test's business
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == self {
				t.Errorf("%s imports %s: stages must not depend on metrics (the CLI wires it)", path, self)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
