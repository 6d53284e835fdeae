package siem_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/siem"
)

// outputs renders every golden record (real captures) in ECS and EVE and
// returns the set of leaf field paths each format wrote, plus the
// documents themselves.
func outputs(t *testing.T) (ecsFields, eveFields map[string]bool, ecsDocs, eveDocs []map[string]any) {
	t.Helper()
	s := &record.Sensor{Name: "edge-1", Host: "node7", Interface: "eth0"}
	ecsFields, eveFields = map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob("../../testdata/golden/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no golden records")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var rec record.Routed
			switch {
			case bytes.HasPrefix(line, []byte(`{"type":"flow"`)):
				rec = new(record.Flow)
			case bytes.HasPrefix(line, []byte(`{"type":"alert"`)):
				rec = new(record.Alert)
			case bytes.HasPrefix(line, []byte(`{"type":"volume"`)):
				rec = new(record.Volume)
			default:
				continue
			}
			if err := json.Unmarshal(line, rec); err != nil {
				t.Fatal(err)
			}
			if a, ok := rec.(*record.Alert); ok && a.PCAP == nil {
				// The golden runs have no alert pcaps: give each alert a
				// reference so that its fields are checked too.
				a.PCAP = &record.PCAP{File: "/var/lib/tapdlp/pcap/alerts-000001-w00.pcap", Offset: 24, Packets: 3, Truncated: true}
			}
			var m map[string]any
			if err := json.Unmarshal(siem.AppendECS(nil, rec, s), &m); err != nil {
				t.Fatal(err)
			}
			leaves("", m, ecsFields)
			ecsDocs = append(ecsDocs, m)
			siem.AppendEVE(nil, rec, s, func(b []byte) {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				leaves("", m, eveFields)
				eveDocs = append(eveDocs, m)
			})
		}
	}
	return ecsFields, eveFields, ecsDocs, eveDocs
}

func leaves(path string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			leaves(p, c, out)
		}
	case []any:
		for _, c := range x {
			leaves(path, c, out)
		}
	default:
		out[path] = true
	}
}

// mapping flattens an Elasticsearch mapping's properties to path → type.
func mapping(props map[string]any, path string, out map[string]string) {
	for k, v := range props {
		p := k
		if path != "" {
			p = path + "." + k
		}
		m := v.(map[string]any)
		if sub, ok := m["properties"].(map[string]any); ok {
			mapping(sub, p, out)
			continue
		}
		out[p], _ = m["type"].(string)
	}
}

func TestFilebeatAndTemplate(t *testing.T) {
	raw, err := os.ReadFile("filebeat.yml")
	if err != nil {
		t.Fatal(err)
	}
	var fb map[string]any
	if err := yaml.Unmarshal(raw, &fb); err != nil {
		t.Fatalf("filebeat.yml: %v", err)
	}
	in := fb["filebeat.inputs"].([]any)[0].(map[string]any)
	if in["type"] != "filestream" || in["paths"].([]any)[0] != "/var/log/tapdlp/ecs.json" {
		t.Errorf("input %v", in)
	}
	nd := in["parsers"].([]any)[0].(map[string]any)["ndjson"].(map[string]any)
	if nd["target"] != "" || nd["overwrite_keys"] != true {
		t.Errorf("ndjson parser must decode at the root and keep @timestamp: %v", nd)
	}
	if fb["setup.ilm.enabled"] != false || fb["setup.template.json.enabled"] != true {
		t.Error("a custom index needs ILM off and the JSON template on")
	}
	if base := filepath.Base(fb["setup.template.json.path"].(string)); base != "tapdlp-index-template.json" {
		t.Errorf("template path names %s", base)
	}
	idx := fb["output.elasticsearch"].(map[string]any)["index"].(string)
	pattern := strings.TrimSuffix(fb["setup.template.pattern"].(string), "*")
	if !strings.HasPrefix(idx, pattern) {
		t.Errorf("index %q is not covered by the template pattern %q", idx, pattern)
	}

	raw, err = os.ReadFile("tapdlp-index-template.json")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Template      struct {
			Mappings struct {
				Properties map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	if len(tmpl.IndexPatterns) != 1 || tmpl.IndexPatterns[0] != fb["setup.template.pattern"] {
		t.Errorf("template patterns %v", tmpl.IndexPatterns)
	}
	types := map[string]string{}
	mapping(tmpl.Template.Mappings.Properties, "", types)

	// The template's ECS types are ECS's.
	ecsList, err := os.ReadFile("../../record/siem/testdata/ecs-fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(ecsList), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || strings.HasPrefix(l, "#") {
			continue
		}
		if types[f[0]] != f[1] {
			t.Errorf("template maps %s as %q, ECS says %q", f[0], types[f[0]], f[1])
		}
	}
	// Every field tapdlp writes is mapped (dynamic mapping is off).
	ecsFields, _, _, _ := outputs(t)
	var missing []string
	for f := range ecsFields {
		if types[f] == "" {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fields written but not in the index template: %v", missing)
	}
}

// ini parses props.conf: stanza → key → value.
func ini(t *testing.T, path string) map[string]map[string]string {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var cur map[string]string
	for i, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			cur = map[string]string{}
			out[l[1:len(l)-1]] = cur
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || cur == nil {
				t.Fatalf("%s:%d: not key = value in a stanza: %q", path, i+1, l)
			}
			cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// strftime translates the Splunk TIME_FORMAT directives used here.
func strftime(f string) string {
	return strings.NewReplacer("%Y", "2006", "%m", "01", "%d", "02", "%H", "15", "%M", "04", "%S", "05",
		"%6N", "000000", "%z", "-0700").Replace(f)
}

func TestPropsConf(t *testing.T) {
	conf := ini(t, "props.conf")
	ecsFields, eveFields, ecsDocs, eveDocs := outputs(t)
	for _, st := range []struct {
		stanza string
		fields map[string]bool
		docs   []map[string]any
	}{{"tapdlp:ecs", ecsFields, ecsDocs}, {"suricata", eveFields, eveDocs}} {
		c := conf[st.stanza]
		if c == nil {
			t.Fatalf("no [%s] stanza", st.stanza)
		}
		if c["INDEXED_EXTRACTIONS"] != "json" || c["SHOULD_LINEMERGE"] != "false" {
			t.Errorf("[%s] must extract JSON lines", st.stanza)
		}
		tsField := c["TIMESTAMP_FIELDS"]
		if !st.fields[tsField] {
			t.Errorf("[%s] TIMESTAMP_FIELDS %q is not written", st.stanza, tsField)
		}
		layout := strftime(c["TIME_FORMAT"])
		for _, d := range st.docs[:min(50, len(st.docs))] {
			s, _ := d[tsField].(string)
			if _, err := time.Parse(layout, s); err != nil {
				t.Errorf("[%s] TIME_FORMAT does not parse %q: %v", st.stanza, s, err)
				break
			}
		}
		for k, v := range c {
			if !strings.HasPrefix(k, "FIELDALIAS-") {
				continue
			}
			f := strings.Fields(v)
			for i := 0; i+2 < len(f); i += 3 {
				if f[i+1] != "AS" || !st.fields[f[i]] {
					t.Errorf("[%s] %s: %q is not a field tapdlp writes", st.stanza, k, f[i])
				}
			}
		}
	}
}
