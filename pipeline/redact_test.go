package pipeline

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/record"
)

// redactRecord masks every traffic-derived field, reports each value once
// with the field it was found in, and leaves the parsers' structures (which
// the record shares) untouched.
func TestRedactRecord(t *testing.T) {
	e, err := classify.NewEngine(classify.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &flowHandler{p: &Pipeline{}}
	h.p.swap.classify.Store(e)
	const card = "371449635398431"
	tls := &record.TLS{SNI: card + ".exfil.example", ALPN: []string{"h2"}}
	dns := &record.DNS{Query: card + ".akiaz7q3n5xk2r4wvb6m.exfil.example", Answers: []string{"203.0.113.9"}}
	http := &record.HTTP{Method: "GET", Host: "www.example.com", UserAgent: "UA (" + card + ")", URI: "/"}
	rec := record.Flow{TLS: tls, DNS: dns, HTTP: http,
		Dst: record.Dst{Name: card + ".exfil.example", Domain: "exfil.example", DNSName: "x." + card + ".exfil.example", Category: "unknown"}}
	h.redactRecord(&rec)

	for field, got := range map[string]string{"tls.sni": rec.TLS.SNI, "dns.query": rec.DNS.Query, "http.user_agent": rec.HTTP.UserAgent,
		"dst.name": rec.Dst.Name, "dst.dns_name": rec.Dst.DNSName} {
		if strings.Contains(got, card) || strings.Contains(strings.ToLower(got), "akiaz7q3") || !strings.Contains(got, "8431") {
			t.Errorf("%s = %q", field, got)
		}
	}
	if rec.TLS.SNI != "***********8431.exfil.example" {
		t.Errorf("structure not kept: %q", rec.TLS.SNI)
	}
	if rec.HTTP.Host != "www.example.com" || rec.Dst.Domain != "exfil.example" || rec.Dst.Category != "unknown" {
		t.Errorf("clean fields changed: %+v %+v", rec.HTTP, rec.Dst)
	}
	if tls.SNI != card+".exfil.example" || !strings.HasPrefix(dns.Query, card) || !strings.Contains(http.UserAgent, card) {
		t.Error("the parsers' structures were modified")
	}
	got := map[string]int{}
	for _, f := range rec.Sensitive {
		got[f.Type+"@"+f.In] += f.Count
		if f.Direction != "out" {
			t.Errorf("finding %+v: direction", f)
		}
	}
	want := map[string]int{"credit_card@tls.sni": 1, "credit_card@dns.query": 1, "aws_access_key@dns.query": 1,
		"credit_card@http.user_agent": 1, "credit_card@dst.name": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("findings %v: want %s×%d", got, k, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want %v (dst.name repeats the SNI: reported once)", got, want)
	}
	if strings.Join(rec.Tags, ",") != "pci,secret" {
		t.Errorf("tags %v", rec.Tags)
	}
}

// The per-worker cache of clean names changes nothing: a record redacted by
// a worker that has seen its values before comes out exactly as from a
// fresh worker, findings included, whatever the order of the records; only
// values with nothing to redact are remembered, and a detector reload
// forgets them.
func TestRedactCleanCache(t *testing.T) {
	e, err := classify.NewEngine(classify.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	newH := func() *flowHandler {
		h := &flowHandler{p: &Pipeline{}}
		h.p.swap.classify.Store(e)
		return h
	}
	const card = "371449635398431"
	recs := map[string]func() record.Flow{
		"clean tls": func() record.Flow {
			return record.Flow{TLS: &record.TLS{SNI: "api.example.com", ALPN: []string{"h2"}},
				Dst: record.Dst{Name: "api.example.com", Domain: "example.com"}}
		},
		"card in sni": func() record.Flow {
			return record.Flow{TLS: &record.TLS{SNI: card + ".example.com"},
				Dst: record.Dst{Name: card + ".example.com", Domain: "example.com"}}
		},
		"card in dns name only": func() record.Flow {
			return record.Flow{TLS: &record.TLS{SNI: "api.example.com"},
				Dst: record.Dst{Name: "api.example.com", DNSName: card + ".example.com", Domain: "example.com"}}
		},
		"http": func() record.Flow {
			return record.Flow{HTTP: &record.HTTP{Method: "POST", Host: "api.example.com", URI: "/cards/" + card, UserAgent: "curl/8"},
				Dst: record.Dst{Name: "api.example.com", Domain: "example.com"}}
		},
		"dns": func() record.Flow {
			return record.Flow{DNS: &record.DNS{Query: "api.example.com", Answers: []string{"203.0.113.9", card + ".example.com"}}}
		},
	}
	warm := newH()
	for round := range 3 {
		for name, mk := range recs {
			want, got := mk(), mk()
			newH().redactRecord(&want)
			warm.redactRecord(&got)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round %d, %s: with the cache\n%+v\nwithout\n%+v", round, name, got, want)
			}
		}
	}
	for v, clean := range map[string]bool{"api.example.com": true, "example.com": true, card + ".example.com": false, "/cards/" + card: false} {
		if got := warm.clean.has(v, true) || warm.clean.has(v, false); got != clean {
			t.Errorf("cached as clean: %q = %v, want %v", v, got, clean)
		}
	}
	e2, err := classify.NewEngine(classify.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	warm.p.swap.classify.Store(e2)
	rec := record.Flow{Dst: record.Dst{Name: "www.example.org"}}
	warm.redactRecord(&rec)
	if warm.clean.has("api.example.com", true) || !warm.clean.has("www.example.org", true) {
		t.Error("a reload did not start the cache over")
	}
}

// A record's tags are the classes of its findings, in a fixed order,
// shared read-only between records.
func TestClassTags(t *testing.T) {
	for _, tt := range []struct {
		classes []string
		want    []string
	}{
		{nil, nil},
		{[]string{"OTHER"}, nil},
		{[]string{"PII"}, []string{"pii"}},
		{[]string{"PII", "PCI", "PII"}, []string{"pci", "pii"}},
		{[]string{"SECRET", "PHI"}, []string{"phi", "secret"}},
		{[]string{"SECRET", "PHI", "PII", "PCI"}, []string{"pci", "pii", "phi", "secret"}},
	} {
		var fs []record.Finding
		for _, c := range tt.classes {
			fs = append(fs, record.Finding{Class: c})
		}
		if got := classTags(fs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("classTags(%v) = %#v, want %#v", tt.classes, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { classTags([]record.Finding{{Class: "PCI"}}) }); n != 0 {
		t.Errorf("classTags: %v allocations", n)
	}
}
