package report

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// genStart is the start of the generated workday (packet time).
var genStart = time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)

type genDest struct {
	name, domain, category, ip string
	weight                     int
	size                       float64 // typical bytes out
	after                      time.Duration
	vendor                     string
	paths                      []string // plaintext HTTP paths (already redacted, as the sensor writes them)
}

var genDests = []genDest{
	{"api.openai.com", "openai.com", "ai_ml", "162.159.140.245", 14, 60e3, 0, "OpenAI", nil},
	{"api.anthropic.com", "anthropic.com", "ai_ml", "160.79.104.10", 8, 45e3, 2 * time.Hour, "Anthropic", nil},
	{"generativelanguage.googleapis.com", "googleapis.com", "ai_ml", "142.250.74.10", 4, 30e3, 3 * time.Hour, "Google", nil},
	{"acme-backups.s3.eu-west-1.amazonaws.com", "amazonaws.com", "cloud_storage", "52.218.1.10", 6, 900e3, 0, "Amazon Web Services", nil},
	{"storage.googleapis.com", "googleapis.com", "cloud_storage", "142.250.74.27", 3, 300e3, 0, "Google", nil},
	{"www.dropbox.com", "dropbox.com", "cloud_storage", "162.125.1.18", 3, 250e3, 4 * time.Hour, "Dropbox", nil},
	{"acme.my.salesforce.com", "salesforce.com", "saas", "13.108.238.10", 10, 40e3, 0, "Salesforce", nil},
	{"slack.com", "slack.com", "saas", "3.64.12.9", 14, 8e3, 0, "Slack", nil},
	{"api.github.com", "github.com", "saas", "140.82.121.6", 8, 20e3, 0, "GitHub", nil},
	{"www.google-analytics.com", "google-analytics.com", "analytics", "142.250.74.46", 12, 3e3, 0, "Google", nil},
	{"api.segment.io", "segment.io", "analytics", "54.200.1.9", 5, 5e3, 0, "Twilio Segment", []string{"/v1/batch", "/v1/track", "/v1/identify"}},
	{"connect.facebook.net", "facebook.net", "social", "157.240.1.35", 4, 2e3, 0, "Meta", nil},
	{"cdn.jsdelivr.net", "jsdelivr.net", "cdn", "151.101.1.229", 6, 1e3, 0, "jsDelivr", nil},
	{"git.corp.example", "corp.example", "internal", "10.1.0.20", 8, 120e3, 0, "", []string{"/api/v4/projects/42/repository/files/{redacted}", "/api/v4/projects/42/merge_requests", "/api/v4/jobs/request", "/-/health"}},
	{"collect.shady-uploads.example", "shady-uploads.example", "threat", "198.51.100.20", 0, 2e6, 0, "", []string{"/upload/part", "/upload/commit"}},
	{"", "", "unknown", "203.0.113.77", 2, 80e3, 5 * time.Hour, "", nil},
}

var genSources = []struct {
	service, ip string
	prefer      []int // indexes into genDests, visited more often
}{
	{"payroll-api", "10.0.1.10", []int{3, 6, 9}},
	{"crm-web", "10.0.1.20", []int{6, 7, 10}},
	{"build-ci", "10.0.2.5", []int{8, 13, 12, 4}},
	{"data-science-nb", "10.0.3.7", []int{0, 1, 2, 4}},
	{"hr-portal", "10.0.1.30", []int{5, 7, 11}},
	{"", "10.20.3.41", []int{0, 7, 11, 12}},
	{"", "10.20.3.57", []int{1, 7, 15}},
}

// plantedRaw are raw sensitive values put into findings' evidence of the
// generated records; no page may contain them.
var plantedRaw = []string{"4111111111111111", "078-05-1120", "AKIAIOSFODNN7EXAMPLE", "jane.doe@example.com"}

// findingsFor says which sensitive types a (source, category) pair carries.
var findingsFor = map[string][]record.Finding{
	"data-science-nb/ai_ml":     {{Type: "email", Class: "PII", Count: 3}, {Type: "us_ssn", Class: "PII", Count: 1}},
	"payroll-api/cloud_storage": {{Type: "iban", Class: "PII", Count: 40}, {Type: "us_ssn", Class: "PII", Count: 40}, {Type: "credit_card", Class: "PCI", Count: 12}},
	"build-ci/saas":             {{Type: "aws_access_key", Class: "SECRET", Count: 1}, {Type: "github_token", Class: "SECRET", Count: 1}},
	"crm-web/saas":              {{Type: "email", Class: "PII", Count: 8}, {Type: "phone", Class: "PII", Count: 5}},
	"hr-portal/saas":            {{Type: "uk_nino", Class: "PII", Count: 2}},
	"/ai_ml":                    {{Type: "openai_api_key", Class: "SECRET", Count: 1}, {Type: "email", Class: "PII", Count: 1}},
	"data-science-nb/threat":    {{Type: "us_ssn", Class: "PII", Count: 300}, {Type: "credit_card", Class: "PCI", Count: 120}, {Type: "icd10", Class: "PHI", Count: 60}},
}

var rulesFor = map[string][2]string{
	"ai_ml":         {"pii-to-ai-service", "high"},
	"cloud_storage": {"bulk-pii-to-storage", "medium"},
	"threat":        {"egress-to-threat-ioc", "critical"},
	"saas/SECRET":   {"secret-egress", "critical"},
	"unknown":       {"upload-to-unknown", "low"},
}

// genRecords returns a deterministic, realistic day of JSON-line records:
// about n flows over ten hours from a few services and laptops, findings,
// alerts, first-seen destinations, interim records of long uploads, volume
// windows, and an exfiltration burst to a threat domain mid-afternoon.
func genRecords(n int) [][]byte {
	rng := rand.New(rand.NewPCG(7, 11))
	var out [][]byte
	emit := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	span := 10 * time.Hour
	total := 0
	for _, d := range genDests {
		total += d.weight
	}
	for i := range n {
		// Working-hours shape: more traffic mid-morning and mid-afternoon.
		u := rng.Float64()
		if rng.IntN(3) == 0 {
			u = 0.2 + 0.15*rng.NormFloat64()
			if rng.IntN(2) == 0 {
				u += 0.45
			}
		}
		u = min(max(u, 0), 0.9999)
		start := genStart.Add(time.Duration(u * float64(span)))
		si := rng.IntN(len(genSources))
		src := genSources[si]
		var di int
		if rng.IntN(2) == 0 {
			di = src.prefer[rng.IntN(len(src.prefer))]
		} else {
			w := rng.IntN(total)
			for di = 0; w >= genDests[di].weight; di++ {
				w -= genDests[di].weight
			}
		}
		d := genDests[di]
		if start.Sub(genStart) < d.after {
			start = genStart.Add(d.after + time.Duration(rng.Int64N(int64(span-d.after))))
		}
		outB := uint64(d.size * (0.2 + rng.ExpFloat64()))
		f := genFlow(i, start, src.service, src.ip, d, outB, rng)
		key := src.service + "/" + d.category
		if fs, ok := findingsFor[key]; ok && rng.IntN(4) == 0 {
			f.Sensitive = withDir(fs)
		}
		emitFlow(f, emit)
	}
	// Destinations that appear during the day: their first flow is marked
	// first-seen, as the sensor's first-seen tracker would.
	for di, d := range genDests {
		if d.after == 0 || d.category == "threat" {
			continue
		}
		src := genSources[(di*3)%len(genSources)]
		f := genFlow(n+100+di, genStart.Add(d.after-time.Minute), src.service, src.ip, d, uint64(d.size), rng)
		f.Dst.FirstSeen = true
		emitFlow(f, emit)
	}
	// The burst: a notebook pushing a dump to a threat domain, with interim
	// records because the upload is long.
	burst := genStart.Add(6*time.Hour + 40*time.Minute)
	for k := range 12 {
		d := genDests[14]
		start := burst.Add(time.Duration(k) * 90 * time.Second)
		f := genFlow(n+k, start, "data-science-nb", "10.0.3.7", d, uint64(d.size*(1+float64(k%3))), rng)
		f.End = record.Time{Time: start.Add(12 * time.Minute)}
		f.Duration = 720
		if k == 0 {
			f.Dst.FirstSeen = true
		}
		interim := *f
		interim.State, interim.TS = record.StateActive, record.Time{Time: start.Add(5 * time.Minute)}
		interim.End = interim.TS
		interim.Bytes.Out, interim.Bytes.In = f.Bytes.Out/3, f.Bytes.In/3
		emit(&interim)
		f.Sensitive = withDir(findingsFor["data-science-nb/threat"])
		emitFlow(f, emit)
	}
	// Denied attempts: egress default-deny refusing a CI job's package
	// mirror (ICMP admin-prohibited from the firewall), a laptop retrying a
	// blocked file-drop service (RST), and a service whose unanswered SYNs
	// to a hard-coded address never get a reply (S0).
	denied := []struct {
		src  int
		dst  genDest
		kind string
		n    int
		at   time.Duration
	}{
		{2, genDest{name: "registry.npmjs.org", domain: "npmjs.org", category: "cdn", ip: "104.16.24.34", vendor: "npm"}, "icmp", 40, 2 * time.Hour},
		{6, genDest{name: "www.wetransfer.com", domain: "wetransfer.com", category: "cloud_storage", ip: "52.59.1.20", vendor: "WeTransfer"}, "rst", 25, 5*time.Hour + 30*time.Minute},
		{4, genDest{category: "unknown", ip: "203.0.113.9"}, "S0", 30, 3 * time.Hour},
	}
	for di, d := range denied {
		src := genSources[d.src]
		for k := range d.n {
			start := genStart.Add(d.at + time.Duration(k)*time.Duration(30+rng.IntN(300))*time.Second)
			f := genFlow(n+200+di*100+k, start, src.service, src.ip, d.dst, 60, rng)
			f.Bytes.In, f.Packets = 0, record.Counts{Out: 1}
			switch d.kind {
			case "icmp":
				typ, code := uint8(3), uint8(13)
				f.ConnState, f.State, f.History = "S0", record.StateTimeout, "S"
				f.Reject = &record.Reject{By: "icmp", Type: &typ, Code: &code, From: "10.0.0.1"}
			case "rst":
				f.ConnState, f.State, f.History, f.Bytes.In = "REJ", record.StateReset, "Sr", 40
				f.Reject = &record.Reject{By: "rst"}
			default:
				f.ConnState, f.State, f.History = "S0", record.StateTimeout, "S"
			}
			emitFlow(f, emit)
		}
	}
	for h := range 10 {
		for _, s := range []string{"data-science-nb", "payroll-api", "build-ci"} {
			v := record.Volume{Type: "volume", TS: record.Time{Time: genStart.Add(time.Duration(h+1) * time.Hour)}, Key: "src.service=" + s, Window: "1h0m0s",
				BytesOut: uint64(2e6 + rng.Float64()*3e6), Baseline: 3.5e6}
			if s == "data-science-nb" && h == 6 {
				v.BytesOut = 38e6
			}
			emit(&v)
		}
	}
	return out
}

func genFlow(i int, start time.Time, service, ip string, d genDest, outB uint64, rng *rand.Rand) *record.Flow {
	dur := time.Duration(50+rng.IntN(4000)) * time.Millisecond
	f := &record.Flow{
		Type: "flow", TS: record.Time{Time: start.Add(dur)}, FlowID: fmt.Sprintf("%016x", rng.Uint64()),
		Start: record.Time{Time: start}, End: record.Time{Time: start.Add(dur)}, Duration: dur.Seconds(),
		State: record.StateClosed, Proto: "tcp",
		Src:       record.Src{IP: ip, Port: uint16(40000 + i%20000), Service: service},
		Dst:       record.Dst{IP: d.ip, Port: 443, Name: d.name, Domain: d.domain, Category: d.category, Vendor: d.vendor},
		ConnState: "SF",
		Bytes:     record.Counts{Out: outB, In: uint64(float64(outB) * (0.1 + rng.Float64()))}, Packets: record.Counts{Out: outB/1400 + 3, In: outB/2800 + 3},
	}
	f.CommunityID = fmt.Sprintf("1:%016x%012x=", rng.Uint64(), rng.Uint64()>>16)
	if d.name != "" {
		f.Dst.NameSource, f.Dst.Resolution = "sni", "matched"
		if rng.IntN(20) == 0 {
			f.Dst.Resolution = "other_name" // a CDN address shared with another name
		}
	}
	if d.category == "threat" {
		f.Dst.Resolution = "unresolved" // a hard-coded address
	}
	if len(d.paths) > 0 {
		f.Dst.Port, f.Dst.NameSource, f.App = 80, "http", "http"
		f.HTTP = &record.HTTP{Method: "POST", Host: d.name, URI: d.paths[rng.IntN(len(d.paths))], Requests: 1 + rng.IntN(4)}
	}
	return f
}

func withDir(fs []record.Finding) []record.Finding {
	out := make([]record.Finding, len(fs))
	for i, f := range fs {
		f.Direction, f.Confidence = "out", "high"
		// The sensor writes masked evidence only; these are raw values
		// planted where a broken sensor might leak them, so tests can prove
		// the report never reads evidence or hashes.
		f.Evidence = append([]string{"XXXX-XXXX-XXXX-1111"}, plantedRaw...)
		f.Hashes = []string{"hmac:9f2c0d1e"}
		out[i] = f
	}
	return out
}

// emitFlow writes f and, when a rule would fire on it, its alert.
func emitFlow(f *record.Flow, emit func(any)) {
	a := genAlert(f)
	emit(f)
	if a != nil {
		emit(a)
	}
}

func genAlert(f *record.Flow) *record.Alert {
	rule, ok := rulesFor[f.Dst.Category]
	secret := false
	for _, s := range f.Sensitive {
		secret = secret || s.Class == "SECRET"
	}
	if secret && f.Dst.Category == "saas" {
		rule, ok = rulesFor["saas/SECRET"], true
	}
	if !ok || (len(f.Sensitive) == 0 && f.Dst.Category != "threat" && f.Dst.Category != "unknown") {
		return nil
	}
	if f.Dst.Category == "unknown" && f.Bytes.Out < 150e3 {
		return nil
	}
	f.Alerts = append(f.Alerts, rule[0])
	reason := "dst.category=" + f.Dst.Category
	for i, s := range f.Sensitive {
		if i == 0 {
			reason += " and sensitive.class=" + s.Class + " ("
		} else {
			reason += ", "
		}
		reason += fmt.Sprintf("%s×%d", s.Type, s.Count)
		if i == len(f.Sensitive)-1 {
			reason += ")"
		}
	}
	return &record.Alert{Type: "alert", TS: f.End, Rule: rule[0], Severity: rule[1], FlowID: f.FlowID, CommunityID: f.CommunityID, Src: f.Src, Dst: f.Dst,
		Sensitive: f.Sensitive, Reason: reason, Count: 1}
}
