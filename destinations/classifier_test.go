package destinations

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

func testClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := Build(Config{
		IOCFiles: []IOCFile{{Path: "testdata/ioc/plain.txt", Name: "local-blocklist"}},
		Services: map[string]string{"10.0.5.0/24": "build-farm", "10.0.5.7": "jenkins", "2001:db8:1::/48": "v6-lab"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassifyPrecedence(t *testing.T) {
	c := testClassifier(t)
	tests := []struct {
		name     string
		addr     string
		category Category
		vendor   string
		domain   string
		rng      string
		ioc      string
	}{
		{"api.openai.com", "104.18.6.192", CategoryAIML, "OpenAI", "openai.com", "", ""},
		{"", "104.18.6.192", CategoryCDN, "Cloudflare", "", "cloudflare/Cloudflare 104.16.0.0/13", ""},
		{"unknown.example.org", "104.18.6.192", CategoryUnknown, "", "example.org", "", ""}, // a name without entry: no range guess
		{"", "52.216.8.1", CategoryCloudStorage, "Amazon Web Services", "", "aws/S3 52.216.0.0/15", ""},
		{"", "192.0.2.200", CategoryUnknown, "", "", "", ""},
		{"", "10.1.1.1", CategoryInternal, "", "", "", ""},
		{"printer.corp", "10.1.1.1", CategoryInternal, "", "printer.corp", "", ""},
		{"api.openai.com", "10.1.1.1", CategoryAIML, "OpenAI", "openai.com", "", ""}, // internal proxy to a named SaaS
		{"x.bad.example", "104.18.6.192", CategoryThreat, "", "bad.example", "", "local-blocklist"},
		{"api.openai.com", "192.0.2.66", CategoryThreat, "OpenAI", "openai.com", "", "local-blocklist"},
		{"", "198.51.100.7", CategoryThreat, "", "", "", "local-blocklist"},
		{"192.0.2.66", "192.0.2.66", CategoryThreat, "", "", "", "local-blocklist"}, // IP literal as name
		{"104.16.0.1", "104.16.0.1", CategoryCDN, "Cloudflare", "", "cloudflare/Cloudflare 104.16.0.0/13", ""},
		{"bad name!", "104.16.0.1", CategoryUnknown, "", "", "", ""},               // invalid name: unknown, not guessed from the address
		{"bad name!", "192.0.2.66", CategoryThreat, "", "", "", "local-blocklist"}, // the address IOC still counts
		{"bad name!", "10.1.1.1", CategoryInternal, "", "", "", ""},
		{"", "fd00::1", CategoryInternal, "", "", "", ""},
		{"", "fe80::1", CategoryInternal, "", "", "", ""},
		{"", "100.100.1.1", CategoryInternal, "", "", "", ""},
		{"", "::ffff:192.168.1.1", CategoryInternal, "", "", "", ""},
		{"", "", CategoryUnknown, "", "", "", ""},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		r := c.Classify(tt.name, a)
		rng := ""
		if r.Range != nil {
			rng = r.Range.Label
		}
		if r.Category != tt.category || r.Vendor != tt.vendor || r.Domain != tt.domain || rng != tt.rng || r.IOCList != tt.ioc {
			t.Errorf("Classify(%q, %s) = %s/%s/%s/%s/%s, want %s/%s/%s/%s/%s", tt.name, tt.addr,
				r.Category, r.Vendor, r.Domain, rng, r.IOCList, tt.category, tt.vendor, tt.domain, tt.rng, tt.ioc)
		}
	}
}

func TestClassifyAllocations(t *testing.T) {
	c := testClassifier(t)
	a := netip.MustParseAddr("104.18.6.192")
	if n := testing.AllocsPerRun(1000, func() { c.Classify("", a) }); n != 0 {
		t.Errorf("address-only Classify allocates %v", n)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Classify("api.openai.com", a) }); n > 1 {
		t.Errorf("named Classify allocates %v, want <= 1 (publicsuffix)", n)
	}
}

func TestServices(t *testing.T) {
	c := testClassifier(t)
	tests := []struct{ addr, want string }{
		{"10.0.5.7", "jenkins"},
		{"10.0.5.8", "build-farm"},
		{"10.0.6.1", ""},
		{"2001:db8:1::9", "v6-lab"},
	}
	for _, tt := range tests {
		if got := c.ServiceName(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("ServiceName(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if _, err := New(nil, nil, nil, []string{"10.0.0.0/33"}, nil); err == nil {
		t.Error("bad home_net accepted")
	}
	if _, err := New(nil, nil, nil, nil, map[string]string{"nope": "x"}); err == nil {
		t.Error("bad services key accepted")
	}
}

func TestExplainJSON(t *testing.T) {
	c := testClassifier(t)
	tests := []struct {
		in   string
		want map[string]any
	}{
		{"Copilot.Microsoft.com.", map[string]any{"name": "copilot.microsoft.com", "category": "ai_ml", "vendor": "Microsoft", "matched": "copilot.microsoft.com", "domain": "microsoft.com", "kind": "name"}},
		{"openai.com.evil.example", map[string]any{"name": "openai.com.evil.example", "category": "unknown", "vendor": "", "matched": "", "reason": "no catalog entry matches the name"}},
		{"xn--penai-dxa.com", map[string]any{"name": "", "category": "unknown", "matched": "", "reason": "invalid name: invalid internationalised name"}},
		{"52.216.8.1", map[string]any{"name": "52.216.8.1", "kind": "ip", "category": "cloud_storage", "vendor": "Amazon Web Services", "matched": "aws/S3 52.216.0.0/15", "range": "52.216.0.0/15"}},
		{"[2606:4700::1]", map[string]any{"name": "2606:4700::1", "kind": "ip", "category": "cdn", "matched": "cloudflare/Cloudflare 2606:4700::/32"}},
		{"https://API.anthropic.com:443/v1/messages", map[string]any{"name": "api.anthropic.com", "category": "ai_ml", "vendor": "Anthropic", "matched": "api.anthropic.com"}},
		{"claude.ai:443", map[string]any{"name": "claude.ai", "category": "ai_ml", "matched": "claude.ai"}},
		{"[2606:4700::1]:443", map[string]any{"kind": "ip", "category": "cdn"}},
		{"10.0.5.7", map[string]any{"category": "internal", "internal": true, "service_name": "jenkins", "matched": ""}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(c.Explain(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("Explain(%q).%s = %v, want %v (%s)", tt.in, k, got[k], v, b)
			}
		}
	}
}

func TestEngineAnnotateAndReload(t *testing.T) {
	dir := t.TempDir()
	iocPath := filepath.Join(dir, "iocs.txt")
	if err := os.WriteFile(iocPath, []byte("# empty at first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(Config{
		IOCFiles:  []IOCFile{{Path: iocPath, Name: "feed"}},
		Services:  map[string]string{"10.0.0.1": "laptop-pool"},
		FirstSeen: FirstSeenConfig{StatePath: filepath.Join(dir, "fs.state")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := int64(1_700_000_000) * sec
	client := netip.MustParseAddr("10.0.0.1")
	server := netip.MustParseAddr("104.18.32.47")
	e.DNS.Add(client, "chatgpt.com", []netip.Addr{server}, 300, t0)

	// No SNI: named from DNS.
	var src record.Src
	var dst record.Dst
	e.Annotate(FlowInput{Client: client, Server: server, Time: t0 + sec}, &src, &dst)
	want := record.Dst{Name: "chatgpt.com", NameSource: "dns", Domain: "chatgpt.com", Category: "ai_ml", Vendor: "OpenAI", Service: "ChatGPT", FirstSeen: true}
	if dst != want || src.Service != "laptop-pool" {
		t.Errorf("annotate (dns) = %+v src %+v, want %+v", dst, src, want)
	}
	// SNI differs from the DNS name: dns_name keeps the DNS one; same domain: not first seen.
	dst = record.Dst{}
	e.Annotate(FlowInput{Client: client, Server: server, Name: "ab.chatgpt.com", NameSource: "sni", Time: t0 + 2*sec}, &src, &dst)
	want = record.Dst{Name: "ab.chatgpt.com", NameSource: "sni", DNSName: "chatgpt.com", Domain: "chatgpt.com", Category: "ai_ml", Vendor: "OpenAI", Service: "ChatGPT", Resolution: "other_name"}
	if dst != want {
		t.Errorf("annotate (sni) = %+v, want %+v", dst, want)
	}
	// An IP literal as Host: the DNS name is used instead.
	dst = record.Dst{}
	e.Annotate(FlowInput{Client: client, Server: server, Name: "104.18.32.47", NameSource: "http", Time: t0 + 2*sec}, &src, &dst)
	if dst.Name != "chatgpt.com" || dst.NameSource != "dns" || dst.Category != "ai_ml" {
		t.Errorf("annotate (ip literal host) = %+v", dst)
	}
	// No name at all: range.
	dst = record.Dst{}
	other := netip.MustParseAddr("52.216.8.1")
	e.Annotate(FlowInput{Client: client, Server: other, Time: t0 + 3*sec}, &src, &dst)
	want = record.Dst{Category: "cloud_storage", Vendor: "Amazon Web Services", Service: "S3", Range: "aws/S3 52.216.0.0/15", FirstSeen: true}
	if dst != want {
		t.Errorf("annotate (range) = %+v, want %+v", dst, want)
	}

	// The feed gains chatgpt.com; Reload swaps it in.
	if err := os.WriteFile(iocPath, []byte("chatgpt.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := e.Classifier()
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.Classifier() == old || e.Reloads() != 1 {
		t.Fatal("classifier not swapped")
	}
	dst = record.Dst{}
	e.Annotate(FlowInput{Client: client, Server: server, Name: "chatgpt.com", NameSource: "sni", Time: t0 + 4*sec}, &src, &dst)
	if dst.Category != "threat" || dst.IOC == nil || dst.IOC.List != "feed" || dst.Vendor != "OpenAI" {
		t.Errorf("after reload = %+v", dst)
	}
	// A broken reload keeps the previous classifier.
	if err := os.Remove(iocPath); err != nil {
		t.Fatal(err)
	}
	cur := e.Classifier()
	if err := e.Reload(); err == nil || e.Classifier() != cur {
		t.Errorf("failed reload: err %v, swapped %v", err, e.Classifier() != cur)
	}
	st := e.Stats()
	if st.Reloads != 1 || st.IOCDomains != 1 || st.CatalogEntries < 500 || st.RangeEntries < 500 || st.DNS.Hits == 0 || st.FirstSeen.New != 2 {
		t.Errorf("stats = %+v", st)
	}
	// First-seen state survives the restart of the engine.
	if err := e.FirstSeen.Save(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(iocPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e2, err := NewEngine(Config{IOCFiles: []IOCFile{{Path: iocPath}}, FirstSeen: FirstSeenConfig{StatePath: filepath.Join(dir, "fs.state")}})
	if err != nil {
		t.Fatal(err)
	}
	dst = record.Dst{}
	e2.Annotate(FlowInput{Client: client, Server: server, Name: "chatgpt.com", NameSource: "sni", Time: t0 + 5*sec}, &src, &dst)
	if dst.FirstSeen {
		t.Error("first_seen again after restart")
	}
}

func TestEngineConcurrentAnnotateReload(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3; i++ {
			if err := e.Reload(); err != nil {
				t.Error(err)
			}
		}
	}()
	client := netip.MustParseAddr("10.0.0.1")
	for i := 0; i < 2000; i++ {
		server := netip.AddrFrom4([4]byte{104, 16, byte(i >> 8), byte(i)})
		var src record.Src
		var dst record.Dst
		e.Annotate(FlowInput{Client: client, Server: server, Name: "api.anthropic.com", NameSource: "sni", Time: int64(i)}, &src, &dst)
		if dst.Category != "ai_ml" {
			t.Fatalf("category %q", dst.Category)
		}
	}
	<-done
}

// The name cache changes no result: every pair of names and addresses
// (the same name to different addresses, in any order, twice) classifies
// as without it, and a different classifier (a reload) starts it over.
func TestNameCacheSameResults(t *testing.T) {
	c := testClassifier(t)
	names := []string{"api.openai.com", "", "unknown.example.org", "printer.corp", "x.bad.example",
		"192.0.2.66", "104.16.0.1", "bad name!", "API.OpenAI.com.", "a.b.c.d.example.co.uk", "localhost"}
	addrs := []string{"104.18.6.192", "52.216.8.1", "192.0.2.200", "10.1.1.1", "192.0.2.66", "198.51.100.7", "fd00::1", ""}
	var nc NameCache
	check := func(c *Classifier) {
		for range 2 {
			for _, a := range addrs {
				var addr netip.Addr
				if a != "" {
					addr = netip.MustParseAddr(a)
				}
				for _, n := range names {
					if got, want := c.classify(&nc, n, addr), c.Classify(n, addr); got != want {
						t.Errorf("%q to %s: cached %+v, want %+v", n, a, got, want)
					}
				}
			}
		}
	}
	check(c)
	if nc.c != c {
		t.Fatal("the cache was not used")
	}
	c2, err := Build(Config{NoDefaultCatalog: true})
	if err != nil {
		t.Fatal(err)
	}
	check(c2) // api.openai.com is no longer in the catalog
	if r := c2.classify(&nc, "api.openai.com", netip.Addr{}); r.Entry != nil || nc.c != c2 {
		t.Errorf("after a reload: %+v", r)
	}
	if n := testing.AllocsPerRun(100, func() { c.classify(&nc, "api.openai.com", netip.MustParseAddr("104.18.6.192")) }); n != 0 {
		t.Errorf("a cached name costs %v allocations", n)
	}
}
