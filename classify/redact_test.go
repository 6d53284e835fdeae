package classify

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	e, err := NewEngine(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in       string
		name     bool
		raw      []string // must not survive
		keep     string   // must survive (structure)
		wantType string
	}{
		{"371449635398431.exfil.example", true, []string{"371449635398431"}, ".exfil.example", "credit_card"},
		{"4111.1111.1111.1111.exfil.example", true, []string{"4111.1111.1111.1111", "1111.1111.1111"}, ".exfil.example", "credit_card"},
		{"4111-1111-1111-1111.t.example", true, []string{"4111-1111-1111-1111"}, ".t.example", "credit_card"},
		{"akiaz7q3n5xk2r4wvb6m.exfil.example", true, []string{"akiaz7q3n5xk2r4wvb6m"}, ".exfil.example", "aws_access_key"},
		{"LeakUA/1.0 (6011000990139424; someone.person@example.org)", false, []string{"6011000990139424", "someone.person@example.org"}, "LeakUA/1.0 (", "credit_card"},
		{"/upload/536-22-8741/x", false, []string{"536-22-8741"}, "/upload/", "us_ssn"},
	}
	for _, c := range cases {
		var types []string
		got := e.Redact(c.in, c.name, func(m Match) { types = append(types, m.Type) })
		for _, r := range c.raw {
			if strings.Contains(got, r) {
				t.Errorf("Redact(%q) = %q: still carries %q", c.in, got, r)
			}
		}
		if !strings.Contains(got, c.keep) {
			t.Errorf("Redact(%q) = %q: lost %q", c.in, got, c.keep)
		}
		if !strings.Contains(strings.Join(types, ","), c.wantType) {
			t.Errorf("Redact(%q) found %v, want %s", c.in, types, c.wantType)
		}
	}
	for _, ok := range []string{"www.example.com", "api.openai.com", "ec2-3-91-12-4.compute-1.amazonaws.com", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"} {
		var n int
		if got := e.Redact(ok, true, func(Match) { n++ }); got != ok || n != 0 {
			t.Errorf("Redact(%q) = %q with %d findings, want unchanged", ok, got, n)
		}
	}
}

func TestRedactNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	e, err := NewEngine(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	e.Redact("warm.example.com", true, nil)
	if a := testing.AllocsPerRun(100, func() { e.Redact("chatgpt.com.cdn.cloudflare.net", true, func(Match) { n++ }) }); a != 0 {
		t.Errorf("Redact of an ordinary name allocates %v times", a)
	}
}

// FuzzRedact: any string, as a name or not, is redacted without panicking;
// a string in which nothing is found comes back unchanged, and one in
// which something is found does not.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"371449635398431.exfil.example", "4111.1111.1111.1111.x.test", "akiaz7q3n5xk2r4wvb6m.x.test",
		"LeakUA/1.0 (6011000990139424; a.b@example.org; 412-67-3058)", "www.example.com", "", "-.-.", "4111-1111.1111_1111"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	e, err := NewEngine(Config{HMACKey: []byte("k")}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string, name bool) {
		n := 0
		out := e.Redact(v, name, func(m Match) {
			n++
			if !strings.Contains(m.Evidence, "*") {
				t.Fatalf("unmasked evidence %q", m.Evidence)
			}
		})
		if n == 0 && out != v {
			t.Fatalf("nothing found but %q became %q", v, out)
		}
		if n > 0 && out == v {
			t.Fatalf("%d values found in %q but it came back unchanged", n, v)
		}
	})
}

// BenchmarkRedactName is the cost of the redaction point on an ordinary
// name (every record pays it a few times).
func BenchmarkRedactName(b *testing.B) {
	e, err := NewEngine(Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Redact("ec2-3-91-12-4.compute-1.amazonaws.com", true, nil)
	}
}
