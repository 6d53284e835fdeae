package destinations

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refMatchDepth is an independent, slow implementation of the pattern
// semantics of pattern.go: the number of labels pattern matches at the right
// of name, or 0.
func refMatchDepth(pattern, name string) int {
	return refMatchLabels(strings.Split(pattern, "."), strings.Split(name, "."))
}

func refMatchLabels(pl, nl []string) int {
	if len(nl) < len(pl) {
		return 0
	}
	for i := 1; i <= len(pl); i++ {
		p, n := pl[len(pl)-i], nl[len(nl)-i]
		switch {
		case p == "*":
		case strings.Contains(p, "*"):
			pre, suf, _ := strings.Cut(p, "*")
			if len(n) <= len(pre)+len(suf) || !strings.HasPrefix(n, pre) || !strings.HasSuffix(n, suf) {
				return 0
			}
		case p != n:
			return 0
		}
	}
	return len(pl)
}

func FuzzNormalizeMatch(f *testing.F) {
	for _, s := range []string{
		"api.openai.com", "API.OPENAI.COM.", "openai.com.evil.example", "evil-openai.com",
		"xn--penai-iye.com", "оpenai.com", "xn--penai-dxa.com", "münchen.de", "a..b", ".",
		"bucket.s3.dualstack.eu-west-1.amazonaws.com", "us-central1-aiplatform.googleapis.com",
		"-aiplatform.googleapis.com", "bedrock-runtime-fips.us-gov-west-1.amazonaws.com",
		"x.y.openai.azure.com", "_dmarc.example.com", "\xff.com", strings.Repeat("a.", 130),
	} {
		f.Add(s)
	}
	cat := defaultCatalog(f)
	var patterns [][]string
	for _, e := range cat.Entries() {
		patterns = append(patterns, strings.Split(e.Pattern, "."))
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			if n != "" {
				t.Fatalf("error with a result: %q", n)
			}
			return
		}
		if len(n) > maxNameLen || !canonicalASCII(n) || checkLabels(n) != nil {
			t.Fatalf("Normalize(%q) = %q: not canonical", s, n)
		}
		if n2, err := Normalize(n); err != nil || n2 != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q, %v", s, n, n2, err)
		}
		e, depth := cat.Match(n)
		e2, depth2 := cat.Match(n)
		if e != e2 || depth != depth2 {
			t.Fatalf("Match(%q) unstable", n)
		}
		if up, err := Normalize(strings.ToUpper(n) + "."); err == nil {
			if e3, _ := cat.Match(up); e3 != e {
				t.Fatalf("Match differs for %q and %q", n, up)
			}
		}
		best, labels := 0, strings.Split(n, ".")
		for _, p := range patterns {
			best = max(best, refMatchLabels(p, labels))
		}
		if best != depth {
			t.Fatalf("Match(%q) depth %d, reference %d", n, depth, best)
		}
		if e != nil && refMatchDepth(e.Pattern, n) != depth {
			t.Fatalf("Match(%q) returned %q which does not match at depth %d", n, e.Pattern, depth)
		}
	})
}

func FuzzParseCatalog(f *testing.F) {
	// The first vendor blocks of the embedded catalog: its real structure,
	// small enough to mutate quickly (the whole file makes every run slow).
	if i := strings.Index(string(defaultCatalogYAML), "  # Google Gemini"); i > 0 {
		f.Add(defaultCatalogYAML[:i])
	}
	if b, err := os.ReadFile("testdata/catalog/user.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("vendors:\n  - vendor: V\n    category: saas\n    services:\n      - service: S\n        hosts: [\"a*.b.com\", \"*.c.com\"]\n"))
	f.Add([]byte("vendors: [{vendor: V, services: [{service: S, category: cdn, hosts: [x.y]}]}]"))
	f.Add([]byte("vendors:\n - &a {vendor: V}\n - *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := ParseCatalog("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		c := NewCatalog(cf)
		for _, e := range cf.Entries {
			if p, err := parsePattern(e.Pattern); err != nil || p != e.Pattern {
				t.Fatalf("stored pattern %q not canonical: %q, %v", e.Pattern, p, err)
			}
			if !catalogCategories[e.Category] || e.Vendor == "" || e.Service == "" {
				t.Fatalf("bad entry %+v", e)
			}
			if !strings.Contains(e.Pattern, "*") {
				if m, depth := c.Match(e.Pattern); m == nil || depth != strings.Count(e.Pattern, ".")+1 {
					t.Fatalf("pattern %q does not match itself", e.Pattern)
				}
			}
		}
	})
}

func FuzzIOCParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/ioc/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(0))
		}
	}
	f.Add([]byte("\"a\",\"b\"\n# url\n\"x\""), uint8(3))
	f.Add([]byte("0.0.0.0 a.example b.example\n"), uint8(2))
	f.Add([]byte("1.2.3.4/40\n::/0\nexample\n"), uint8(1))
	formats := []IOCFormat{IOCAuto, IOCPlain, IOCHosts, IOCCSV}
	f.Fuzz(func(t *testing.T, data []byte, fi uint8) {
		format := formats[int(fi)%len(formats)]
		l, err := ParseIOC("fuzz", "fuzz.txt", format, data)
		if err != nil {
			return
		}
		s := NewIOCSet(l)
		for _, d := range l.Domains {
			if n, err := Normalize(d); err != nil || n != d {
				t.Fatalf("domain %q not canonical", d)
			}
			if got, ok := s.MatchName("x." + d); !ok || got != "fuzz" {
				t.Fatalf("subdomain of %q not matched", d)
			}
		}
		for _, p := range l.Prefixes {
			if !p.IsValid() {
				t.Fatalf("invalid prefix from %q", data)
			}
			if got, ok := s.MatchAddr(p.Addr()); !ok || got != "fuzz" {
				t.Fatalf("prefix %s not matched", p)
			}
		}
	})
}
