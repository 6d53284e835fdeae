package siem

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tapdlp/tapdlp/record"
)

var sensor = &record.Sensor{Name: "edge-1", Host: "node7", Interface: "eth0"}

func ts(s string) record.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return record.Time{Time: t}
}

// rawCard is the value the masked evidence below stands for; no output may
// contain it.
const rawCard = "4111111111111111"

func httpFlow() *record.Flow {
	return &record.Flow{
		Type: "flow", TS: ts("2026-11-02T09:00:00.130000Z"), FlowID: "c1dd3c751dee5576",
		CommunityID: "1:cKfC06fnW05SE6/wRwMrMJGoNG0=",
		Start:       ts("2026-11-02T09:00:00.100000Z"), End: ts("2026-11-02T09:00:02.130000Z"),
		State: "closed", ConnState: "SF", Proto: "tcp",
		Src: record.Src{IP: "10.0.0.5", Port: 51600},
		Dst: record.Dst{IP: "198.51.100.20", Port: 80, Name: "collect.shady-uploads.example", NameSource: "http",
			Domain: "shady-uploads.example", Category: "unknown", Resolution: "matched", FirstSeen: true},
		Bytes: record.Counts{Out: 900, In: 300}, Packets: record.Counts{Out: 6, In: 4},
		History: "ShADadFf", App: "http",
		HTTP: &record.HTTP{Method: "POST", Host: "collect.shady-uploads.example", URI: "/up\"load", UserAgent: "curl/8.0", Status: 200, Requests: 1},
		Sensitive: []record.Finding{{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out", Confidence: "high",
			Evidence: []string{"************1111"}}},
		Inspected: &record.Inspected{Out: 500, In: 20, Truncated: true, TruncatedReasons: []string{"decode_error", "parser_stopped"}},
		Alerts:    []string{"default.card-to-unknown"},
	}
}

func tlsFlow() *record.Flow {
	return &record.Flow{
		Type: "flow", TS: ts("2021-09-07T19:34:14.696248Z"), FlowID: "fd3986ba68be6e3b", CommunityID: "1:9i39+GoaCudOlqIBBfXJoJHTe/8=",
		Start: ts("2021-09-07T19:34:14.696248Z"), End: ts("2021-09-07T19:34:14.696248Z"), State: "shutdown", Proto: "tcp",
		Src: record.Src{IP: "2001:db8::1", Port: 57349}, Dst: record.Dst{IP: "2001:db8::2", Port: 443, Name: "api.openai.com", Category: "ai_ml", Vendor: "OpenAI", Service: "OpenAI API"},
		Bytes: record.Counts{Out: 1378}, Packets: record.Counts{Out: 1}, App: "tls",
		TLS: &record.TLS{SNI: "api.openai.com", Version: "1.3", ALPN: []string{"h2"}, JA4: "t13d1516h2_8daaf6152771_02713d6af862"},
	}
}

func dnsFlow() *record.Flow {
	return &record.Flow{
		Type: "flow", TS: ts("2013-11-26T16:08:00.086423Z"), FlowID: "1713e9be11e9b8b8", CommunityID: "1:Ni+vClyYvGtwxC4Wu5dkGjaQ8ts=",
		Start: ts("2013-11-26T16:08:00.084110Z"), End: ts("2013-11-26T16:08:00.086423Z"), State: "timeout", Proto: "udp",
		Src: record.Src{IP: "10.180.156.141", Port: 49343}, Dst: record.Dst{IP: "10.2.95.39", Port: 53, Category: "internal"},
		Bytes: record.Counts{Out: 60, In: 120}, Packets: record.Counts{Out: 1, In: 1}, App: "dns",
		DNS: &record.DNS{Query: "aol.com", QType: "A", RCode: "NOERROR", Answers: []string{"205.188.100.58", "cname.example"}},
	}
}

func alert() *record.Alert {
	return &record.Alert{
		Type: "alert", TS: ts("2026-11-02T09:00:00.130000Z"), Rule: "default.card-to-unknown", Severity: "critical",
		Description: "Card data sent to an unknown or threat destination", FlowID: "c1dd3c751dee5576",
		CommunityID: "1:cKfC06fnW05SE6/wRwMrMJGoNG0=", Src: record.Src{IP: "10.0.0.5", Port: 51600},
		Dst:       record.Dst{IP: "198.51.100.20", Port: 80, Name: "collect.shady-uploads.example", Domain: "shady-uploads.example", Category: "unknown"},
		Sensitive: []record.Finding{{Type: "credit_card", Class: "PCI", Count: 2, Direction: "out", Confidence: "high", Evidence: []string{"************1111"}}},
		Reason:    "dst.category=unknown and sensitive.class=PCI (credit_card×2)", Count: 1,
	}
}

func volume() *record.Volume {
	return &record.Volume{Type: "volume", TS: ts("2026-11-02T09:05:00Z"), Key: "10.0.0.5>ai_ml", Window: "5m", BytesOut: 12345, Baseline: 100.5}
}

func ecsDoc(t *testing.T, rec record.Routed) map[string]any {
	t.Helper()
	b := AppendECS(nil, rec, sensor)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("ECS output is not JSON: %v\n%s", err, b)
	}
	checkECSTypes(t, b)
	checkNoRaw(t, b)
	return m
}

func eveDocs(t *testing.T, rec record.Routed) []map[string]any {
	t.Helper()
	var out []map[string]any
	AppendEVE(nil, rec, sensor, func(b []byte) {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("EVE output is not JSON: %v\n%s", err, b)
		}
		checkEVESchema(t, b)
		checkNoRaw(t, b)
		out = append(out, m)
	})
	return out
}

// get follows a dotted path through nested objects.
func get(m map[string]any, path string) any {
	var v any = m
	for _, p := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[p]
	}
	return v
}

func TestECS(t *testing.T) {
	tests := []struct {
		name string
		rec  record.Routed
		want map[string]any
	}{
		{"http flow", httpFlow(), map[string]any{
			"@timestamp": "2026-11-02T09:00:00.130000Z", "event.kind": "event", "event.action": "flow_closed", "event.dataset": "tapdlp.flow",
			"event.duration": 2.03e9, "event.start": "2026-11-02T09:00:00.100000Z",
			"source.ip": "10.0.0.5", "source.bytes": 900.0, "destination.bytes": 300.0, "destination.packets": 4.0,
			"destination.domain": "collect.shady-uploads.example", "destination.registered_domain": "shady-uploads.example",
			"network.transport": "tcp", "network.protocol": "http", "network.bytes": 1200.0, "network.direction": "outbound",
			"network.community_id": "1:cKfC06fnW05SE6/wRwMrMJGoNG0=",
			"http.request.method":  "POST", "http.response.status_code": 200.0, "url.path": "/up\"load", "url.domain": "collect.shady-uploads.example",
			"user_agent.original": "curl/8.0", "tapdlp.dst.category": "unknown", "tapdlp.dst.first_seen": true,
			"tapdlp.conn_state": "SF", "tapdlp.history": "ShADadFf", "tapdlp.inspected.out": 500.0, "tapdlp.inspected.truncated_reasons": []any{"decode_error", "parser_stopped"},
			"observer.name": "edge-1", "observer.hostname": "node7", "observer.ingress.interface.name": "eth0", "observer.vendor": "tapdlp",
			"event.severity": nil, "rule": nil,
		}},
		{"tls flow", tlsFlow(), map[string]any{
			"tls.version": "1.3", "tls.version_protocol": "tls", "tls.next_protocol": "h2", "tls.client.server_name": "api.openai.com",
			"tls.client.ja4": "t13d1516h2_8daaf6152771_02713d6af862", "network.transport": "tcp",
			"tapdlp.dst.vendor": "OpenAI", "tapdlp.dst.service": "OpenAI API", "event.duration": 0.0, "http": nil,
		}},
		{"dns flow internal", dnsFlow(), map[string]any{
			"dns.question.name": "aol.com", "dns.question.type": "A", "dns.response_code": "NOERROR",
			"dns.resolved_ip": []any{"205.188.100.58"}, "network.direction": "internal", "network.transport": "udp",
		}},
		{"alert", alert(), map[string]any{
			"event.kind": "alert", "event.severity": 99.0, "rule.id": "default.card-to-unknown", "rule.name": "default.card-to-unknown",
			"rule.description": "Card data sent to an unknown or threat destination", "tapdlp.count": 1.0,
			"tapdlp.reason": "dst.category=unknown and sensitive.class=PCI (credit_card×2)", "destination.ip": "198.51.100.20",
			"event.category": []any{"network", "intrusion_detection"},
		}},
		{"volume", volume(), map[string]any{
			"event.kind": "metric", "event.dataset": "tapdlp.volume", "tapdlp.volume.bytes_out": 12345.0, "tapdlp.volume.baseline": 100.5,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ecsDoc(t, tt.rec)
			for k, want := range tt.want {
				if got := get(m, k); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestECSSeverity(t *testing.T) {
	for sev, want := range map[string]float64{"low": 21, "medium": 47, "high": 73, "critical": 99} {
		a := alert()
		a.Severity = sev
		if got := get(ecsDoc(t, a), "event.severity"); got != want {
			t.Errorf("%s: event.severity = %v, want %v", sev, got, want)
		}
	}
}

func TestEVE(t *testing.T) {
	tests := []struct {
		name  string
		rec   record.Routed
		types []string
		want  map[string]map[string]any // event_type → path → value
	}{
		{"http flow", httpFlow(), []string{"flow", "http"}, map[string]map[string]any{
			"flow": {"timestamp": "2026-11-02T09:00:00.130000+0000", "flow_id": float64(0xc1dd3c751dee5576 & (1<<51 - 1)),
				"src_ip": "10.0.0.5", "dest_port": 80.0, "proto": "TCP", "app_proto": "http", "in_iface": "eth0", "host": "edge-1",
				"flow.pkts_toserver": 6.0, "flow.bytes_toclient": 300.0, "flow.age": 2.0, "flow.state": "closed", "flow.reason": "timeout",
				"flow.alerted": true, "flow.start": "2026-11-02T09:00:00.100000+0000"},
			"http": {"http.hostname": "collect.shady-uploads.example", "http.url": "/up\"load", "http.http_method": "POST",
				"http.status": 200.0, "http.http_user_agent": "curl/8.0", "tx_id": 0.0},
		}},
		{"tls flow", tlsFlow(), []string{"flow", "tls"}, map[string]map[string]any{
			"flow": {"flow.state": "new", "flow.reason": "shutdown", "flow.alerted": false},
			"tls":  {"tls.sni": "api.openai.com", "tls.version": "TLS 1.3", "tls.ja4": "t13d1516h2_8daaf6152771_02713d6af862"},
		}},
		{"dns flow", dnsFlow(), []string{"flow", "dns"}, map[string]map[string]any{
			"flow": {"proto": "UDP", "flow.state": "established"},
			"dns": {"dns.version": 2.0, "dns.type": "answer", "dns.rrname": "aol.com", "dns.rcode": "NOERROR",
				"dns.answers": []any{
					map[string]any{"rrname": "aol.com", "rrtype": "A", "rdata": "205.188.100.58"},
					map[string]any{"rrname": "aol.com", "rrtype": "A", "rdata": "cname.example"}}},
		}},
		{"alert", alert(), []string{"alert"}, map[string]map[string]any{
			"alert": {"alert.action": "allowed", "alert.gid": 1.0, "alert.rev": 1.0, "alert.severity": 1.0,
				"alert.signature": "Card data sent to an unknown or threat destination", "alert.category": "Data Loss Prevention",
				"alert.signature_id": float64(SignatureID("default.card-to-unknown")), "tapdlp.rule": "default.card-to-unknown",
				"community_id": "1:cKfC06fnW05SE6/wRwMrMJGoNG0=", "proto": nil},
		}},
		{"volume has no EVE event", volume(), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := eveDocs(t, tt.rec)
			var types []string
			for _, d := range docs {
				typ, _ := d["event_type"].(string)
				types = append(types, typ)
				for k, want := range tt.want[typ] {
					if got := get(d, k); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s: %s = %v, want %v", typ, k, got, want)
					}
				}
			}
			if !slices.Equal(types, tt.types) {
				t.Errorf("event types %v, want %v", types, tt.types)
			}
		})
	}
}

func TestEVESeverityAndSignature(t *testing.T) {
	for sev, want := range map[string]int{"critical": 1, "high": 1, "medium": 2, "low": 3} {
		if got := EVESeverity(sev); got != want {
			t.Errorf("EVESeverity(%s) = %d, want %d", sev, got, want)
		}
	}
	seen := map[uint32]string{}
	for _, id := range []string{"a", "b", "default.card-to-unknown", "default.secret-to-ai", "x.y.z"} {
		s := SignatureID(id)
		if s < 1_000_000 || s > 1_999_999 {
			t.Errorf("SignatureID(%q) = %d, out of range", id, s)
		}
		if s != SignatureID(id) {
			t.Errorf("SignatureID(%q) is not stable", id)
		}
		if o, ok := seen[s]; ok {
			t.Errorf("SignatureID(%q) collides with %q", id, o)
		}
		seen[s] = id
	}
	// FNV-1a 32 of "a" is 0xe40c292c = 3826002220.
	if got := SignatureID("a"); got != 1_000_000+3826002220%1_000_000 {
		t.Errorf("SignatureID(a) = %d", got)
	}
	if got := EVEFlowID("ffffffffffffffff"); got != 1<<51-1 {
		t.Errorf("EVEFlowID = %d", got)
	}
	if got := EVEFlowID("zz"); got != 0 {
		t.Errorf("EVEFlowID(bad) = %d", got)
	}
}

// TestGoldenRecords renders every committed golden record (real captures)
// in both formats and holds each document to the schemas and the
// no-raw-value rule.
func TestGoldenRecords(t *testing.T) {
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
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var probe struct{ Type string }
			if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var rec record.Routed
			switch probe.Type {
			case "flow":
				rec = new(record.Flow)
			case "alert":
				rec = new(record.Alert)
			case "volume":
				rec = new(record.Volume)
			default:
				continue
			}
			if err := json.Unmarshal(sc.Bytes(), rec); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			ecsDoc(t, rec)
			eveDocs(t, rec)
			n++
		}
	}
	t.Logf("%d golden records rendered", n)
}

func TestAllocs(t *testing.T) {
	f, a := httpFlow(), alert()
	buf := make([]byte, 0, 8192)
	if n := testing.AllocsPerRun(100, func() { buf = AppendECS(buf[:0], a, sensor) }); n > 0 {
		t.Errorf("AppendECS(alert) allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendECS(buf[:0], f, sensor) }); n > 0 {
		t.Errorf("AppendECS(flow) allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendEVE(buf, f, sensor, func([]byte) {}) }); n > 0 {
		t.Errorf("AppendEVE(flow) allocates %.0f times", n)
	}
}

func BenchmarkECS(b *testing.B) {
	f := httpFlow()
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendECS(buf[:0], f, sensor)
	}
}

func BenchmarkEVE(b *testing.B) {
	f := httpFlow()
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEVE(buf, f, sensor, func([]byte) {})
	}
}

// checkNoRaw holds a document to the no-raw-value rule: the raw value of
// the masked evidence never appears, and every evidence string is masked.
func checkNoRaw(t *testing.T, b []byte) {
	t.Helper()
	if bytes.Contains(b, []byte(rawCard)) {
		t.Errorf("raw value in output: %s", b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	fs, _ := get(m, "tapdlp.sensitive").([]any)
	for _, f := range fs {
		ev, _ := f.(map[string]any)["evidence"].([]any)
		for _, e := range ev {
			if s, _ := e.(string); !strings.Contains(s, "*") {
				t.Errorf("unmasked evidence %q", s)
			}
		}
	}
}

var eveSchema = func() *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	raw, err := os.ReadFile("testdata/eve-subset.schema.json")
	if err != nil {
		panic(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		panic(err)
	}
	if err := c.AddResource("eve.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("eve.json")
}()

func checkEVESchema(t *testing.T, b []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := eveSchema.Validate(v); err != nil {
		t.Errorf("EVE schema: %v\n%s", err, b)
	}
}

// ecsTypes is testdata/ecs-fields.txt: ECS field name → type.
var ecsTypes = func() map[string]string {
	raw, err := os.ReadFile("testdata/ecs-fields.txt")
	if err != nil {
		panic(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) == 2 && !strings.HasPrefix(l, "#") {
			m[f[0]] = f[1]
		}
	}
	return m
}()

// checkECSTypes checks every leaf of an ECS document outside tapdlp.*:
// the field must be in the ECS list and its value of the listed type
// (arrays are allowed for every ECS field, as in Elasticsearch).
func checkECSTypes(t *testing.T, b []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if path == "tapdlp" {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, c)
			}
			return
		case []any:
			for _, c := range x {
				walk(path, c)
			}
			return
		}
		typ, ok := ecsTypes[path]
		if !ok {
			t.Errorf("%s is not an ECS field (ecs-fields.txt)", path)
			return
		}
		var bad bool
		switch typ {
		case "keyword", "wildcard":
			_, isStr := v.(string)
			bad = !isStr
		case "long":
			n, isNum := v.(json.Number)
			_, err := n.Int64()
			bad = !isNum || err != nil
		case "date":
			s, _ := v.(string)
			_, err := time.Parse(time.RFC3339Nano, s)
			bad = err != nil
		case "ip":
			s, _ := v.(string)
			_, err := netip.ParseAddr(s)
			bad = err != nil
		default:
			t.Fatalf("unknown type %s", typ)
		}
		if bad {
			t.Errorf("%s = %v is not an ECS %s", path, v, typ)
		}
	}
	walk("", m)
}

// An alert's pcap reference (alerts.pcap_dir) goes under tapdlp.pcap in
// both formats: neither ECS nor EVE defines a field for it. Only the place
// is written, never traffic.
func TestAlertPcapReference(t *testing.T) {
	for _, tt := range []struct {
		name string
		pcap *record.PCAP
		want map[string]any
	}{
		{"none", nil, map[string]any{"tapdlp.pcap": nil}},
		{"complete", &record.PCAP{File: "/var/lib/tapdlp/pcap/alerts-000001-w00.pcap", Offset: 24, Packets: 5},
			map[string]any{"tapdlp.pcap.file": "/var/lib/tapdlp/pcap/alerts-000001-w00.pcap", "tapdlp.pcap.offset": 24.0,
				"tapdlp.pcap.packets": 5.0, "tapdlp.pcap.truncated": nil}},
		{"truncated", &record.PCAP{File: "p.pcap", Offset: 1 << 33, Packets: 40, Truncated: true},
			map[string]any{"tapdlp.pcap.offset": float64(1 << 33), "tapdlp.pcap.truncated": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := alert()
			a.PCAP = tt.pcap
			docs := map[string]map[string]any{"ecs": ecsDoc(t, a)}
			for _, d := range eveDocs(t, a) {
				docs["eve"] = d
			}
			for format, d := range docs {
				for k, want := range tt.want {
					if got := get(d, k); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s: %s = %v, want %v", format, k, got, want)
					}
				}
			}
		})
	}
}
