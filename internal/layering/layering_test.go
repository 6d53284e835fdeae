package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/tapdlp/tapdlp/"

// allowed lists, per package, the module packages it may import (tests
// aside). A prefix ending in "/" allows the subtree. Anything not listed
// is a layering violation.
var allowed = map[string][]string{
	"record":              {"internal/jsonw"},
	"config":              {},
	"capture":             {"internal/decompress"},
	"capture/filter":      {"capture"},
	"capture/live":        {"capture", "capture/filter"},
	"reassembly":          {"capture"},
	"appproto/dns":        {},
	"appproto/http":       {"internal/bodydec"},
	"appproto/tls":        {},
	"appproto/quic":       {"appproto/tls"},
	"appproto/tlsdecrypt": {},
	"appproto/aiapi":      {},
	"internal/pcaptest":   {},
	"appproto/http2":      {"internal/bodydec"},
	"appproto/websocket":  {"internal/bodydec"},
	"appproto/grpc":       {"internal/bodydec"},
	"appproto/sse":        {},
	"internal/bodydec":    {"internal/decompress"},
	"internal/tapconn":    {"internal/pcaptest", "internal/pcapgen"},
	// demux is the only package that knows the parsers; pipeline knows only demux.
	"appproto/demux": {"appproto/dns", "appproto/http", "appproto/tls", "appproto/quic", "appproto/http2", "appproto/websocket", "appproto/grpc", "appproto/sse", "internal/bodydec", "appproto/tlsdecrypt", "reassembly", "capture", "record"},
	"destinations":   {"record", "internal/lru"},
	"classify":       {"record", "config", "internal/bodydec"}, // bodydec: archives inside multipart parts
	"rules":          {"record", "config", "internal/lru"},
	"record/sinks":   {"record", "record/siem", "config"},
	"record/siem":    {"record", "internal/jsonw"}, // renders records as ECS and EVE; knows no stage
	"record/pcaplog": {},                           // alert pcaps: keeps frames, writes pcap files; knows no stage
	"report":         {"record", "internal/decompress"},
	"pipeline": {"capture", "capture/filter", "capture/live", "reassembly", "appproto/demux", "appproto/tlsdecrypt", "appproto/aiapi", "destinations",
		"classify", "rules", "record", "record/pcaplog", "config", "internal/communityid"},
	"metrics": {}, // reads the stages' tagged stats structs by reflection; imports none
	// sensor assembles a run: it sits above pipeline and every stage it
	// builds, and only cmd imports it.
	"sensor": {"capture", "capture/live", "reassembly", "appproto/", "destinations", "classify", "rules",
		"record", "record/sinks", "record/pcaplog", "report", "config", "pipeline", "metrics", "internal/atomicfile",
		"internal/hugeheap"},
	"cmd/tapdlp":                 {""}, // flags and subcommands; may import anything
	"e2e":                        {""},
	"deploy":                     {"config"},
	"deploy/siem":                {}, // examples only; its tests render records
	"bench/cmd/genmix":           {"internal/pcapgen/scenarios", "capture"},
	"bench/cmd/c2c":              {}, // measures the machine; imports no stage
	"internal/communityid":       {},
	"internal/atomicfile":        {},
	"internal/promtext":          {},
	"internal/pcapgen":           {},
	"internal/pcapgen/scenarios": {"internal/pcapgen"},
	"internal/layering":          {},
	"docs":                       {},
	"internal/recordschema":      {"docs"}, // tests only: records against the published schema
	"internal/testenv":           {},
	"internal/decompress":        {},
	"internal/lru":               {},
	"internal/jsonw":             {}, // the JSON writer of record and record/siem
	"internal/cli":               {}, // the command table: dispatch, help, completion; knows no stage
	"internal/hugeheap":          {}, // huge pages under the heap, asked for once at start-up
}

func TestLayering(t *testing.T) {
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		rules, known := allowed[pkg]
		if !known {
			t.Errorf("%s: package not in the layering table (add it with the imports DESIGN.md allows)", pkg)
			return nil
		}
		seen[pkg] = true
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, module) {
				continue
			}
			dep := strings.TrimPrefix(p, module)
			if !permitted(rules, dep) {
				t.Errorf("%s imports %s: against the data flow (DESIGN.md)", path, dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("layering table lists %s, which has no Go files", pkg)
		}
	}
}

func permitted(rules []string, dep string) bool {
	for _, r := range rules {
		if r == "" || r == dep || (strings.HasSuffix(r, "/") && strings.HasPrefix(dep, r)) {
			return true
		}
	}
	return false
}

// Every package says what it is for (and, per DESIGN.md, what it must not do).
func TestPackageComments(t *testing.T) {
	root := filepath.Join("..", "..")
	documented := map[string]bool{}
	packages := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		packages[dir] = true
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err == nil && f.Doc != nil && len(strings.TrimSpace(f.Doc.Text())) > 40 {
			documented[dir] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range packages {
		if !documented[dir] {
			t.Errorf("%s: no package comment saying what the package is for", dir)
		}
	}
}

func TestPermittedCanFail(t *testing.T) {
	for _, tt := range []struct {
		rules []string
		dep   string
		want  bool
	}{
		{allowed["classify"], "capture", false},
		{allowed["reassembly"], "classify", false},
		{allowed["capture"], "reassembly", false},
		{allowed["pipeline"], "appproto/quic", false},
		{allowed["pipeline"], "appproto/demux", true},
		{allowed["appproto/demux"], "appproto/quic", true},
		{allowed["appproto/demux"], "classify", false},
		{allowed["reassembly"], "record", false},
		{allowed["pipeline"], "metrics", false},
		{allowed["cmd/tapdlp"], "metrics", true},
		{allowed["pipeline"], "sensor", false},
		{allowed["metrics"], "pipeline", false},
		{allowed["sensor"], "pipeline", true},
		{allowed["sensor"], "cmd/tapdlp", false},
	} {
		if got := permitted(tt.rules, tt.dep); got != tt.want {
			t.Errorf("permitted(%v, %s) = %v, want %v", tt.rules, tt.dep, got, tt.want)
		}
	}
}
