package destinations

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func loadIOC(t testing.TB, path string, format IOCFormat) *IOCList {
	t.Helper()
	l, err := LoadIOCFile(IOCFile{Path: path, Format: format})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestIOCFormats(t *testing.T) {
	tests := []struct {
		path         string
		format       IOCFormat
		wantName     string
		domains      []string
		prefixes     []string
		skipped      int
		firstSkipped int
	}{
		{"testdata/ioc/plain.txt", IOCPlain, "plain",
			[]string{"bad.example", "wild.example", "evil.example.net"},
			[]string{"192.0.2.66/32", "198.51.100.0/24", "2001:db8:bad::/48"}, 3, 8},
		{"testdata/ioc/hosts.txt", IOCHosts, "hosts",
			[]string{"tracker.example", "ads.tracker.example", "phish.example.org"}, nil, 2, 7},
		{"testdata/ioc/urlhaus.csv", IOCCSV, "urlhaus.csv",
			[]string{"payload.malware.example"}, []string{"203.0.113.7/32", "2001:db8::dead/128"}, 1, 13},
		{"testdata/ioc/threatfox.csv", IOCCSV, "threatfox.csv",
			[]string{"c2.threat.example", "drop.threat.example"}, []string{"198.51.100.23/32"}, 1, 9},
	}
	for _, tt := range tests {
		for _, format := range []IOCFormat{tt.format, IOCAuto} {
			l := loadIOC(t, tt.path, format)
			var pfx []string
			for _, p := range l.Prefixes {
				pfx = append(pfx, p.String())
			}
			if l.Name != tt.wantName || !slices.Equal(l.Domains, tt.domains) || !slices.Equal(pfx, tt.prefixes) || l.Skipped != tt.skipped || l.FirstSkipped != tt.firstSkipped {
				t.Errorf("%s (%q): got name %q domains %q prefixes %q skipped %d first %d;\nwant %q %q %q %d %d",
					tt.path, format, l.Name, l.Domains, pfx, l.Skipped, l.FirstSkipped, tt.wantName, tt.domains, tt.prefixes, tt.skipped, tt.firstSkipped)
			}
		}
	}
}

func TestIOCCSVWithoutColumn(t *testing.T) {
	_, err := ParseIOC("x", "x.csv", IOCCSV, []byte("a,b,c\n1,2,3\n"))
	if !errors.Is(err, ErrNoIOCColumn) {
		t.Fatalf("err = %v, want ErrNoIOCColumn", err)
	}
	// A header as first line (no comment) is accepted.
	l, err := ParseIOC("x", "x.csv", IOCCSV, []byte("id,url\n1,http://h.bad.example/x\n"))
	if err != nil || !slices.Equal(l.Domains, []string{"h.bad.example"}) {
		t.Fatalf("got %v, %v", l, err)
	}
}

func TestIOCSetMatch(t *testing.T) {
	s := NewIOCSet(
		loadIOC(t, "testdata/ioc/plain.txt", IOCAuto),
		loadIOC(t, "testdata/ioc/threatfox.csv", IOCAuto),
		&IOCList{Name: "dup", Domains: []string{"bad.example"}},
	)
	names := []struct{ name, list string }{
		{"bad.example", "plain"},
		{"x.y.bad.example", "plain"},
		{"notbad.example", ""},
		{"bad.example.org", ""},
		{"example", ""},
		{"a.wild.example", "plain"},
		{"evil.example.net", "plain"},
		{"c2.threat.example", "threatfox.csv"},
		{"threat.example", ""},
	}
	for _, tt := range names {
		got, _ := s.MatchName(tt.name)
		if got != tt.list {
			t.Errorf("MatchName(%q) = %q, want %q", tt.name, got, tt.list)
		}
	}
	addrs := []struct{ addr, list string }{
		{"192.0.2.66", "plain"},
		{"192.0.2.67", ""},
		{"198.51.100.23", "threatfox.csv"}, // in plain's /24 and threatfox's /32: longest prefix wins
		{"198.51.100.99", "plain"},
		{"2001:db8:bad::1", "plain"},
		{"2001:db8:bad:1::1", "plain"},
		{"2001:db8:bae::1", ""},
	}
	for _, tt := range addrs {
		got, _ := s.MatchAddr(netip.MustParseAddr(tt.addr))
		if got != tt.list {
			t.Errorf("MatchAddr(%s) = %q, want %q", tt.addr, got, tt.list)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { s.MatchName("a.b.c.d.bad.example") }); n != 0 {
		t.Errorf("MatchName allocates %v", n)
	}
	d, p := s.Counts()
	if d != 5 || p != 4 {
		t.Errorf("Counts = %d, %d; want 5, 4", d, p)
	}
}
