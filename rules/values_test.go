package rules

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1024", 1024, true}, {"500MB", 500e6, true}, {"500mb", 500e6, true}, {"1.5GiB", 1.5 * (1 << 30), true},
		{"2 KiB", 2048, true}, {"7B", 7, true}, {"1TB", 1e12, true}, {"0", 0, true},
		{"64k", 64 << 10, true}, {"3m", 3 << 20, true}, {"1e3", 0, false}, // config.ParseSize's grammar
		{"", 0, false}, {"MB", 0, false}, {"-1MB", 0, false}, {"1XB", 0, false}, {"NaN", 0, false},
		{"99999999999999999999", 0, false}, {"20000000TB", 0, false}, {"1e30GB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseCmp(t *testing.T) {
	tests := []struct {
		in    string
		sizes bool
		want  cmp
		ok    bool
	}{
		{">1MB", true, cmp{opGT, 1e6}, true}, {">=64k", true, cmp{opGE, 64 << 10}, true}, {">= 3", false, cmp{opGE, 3}, true}, {"<2", false, cmp{opLT, 2}, true},
		{"<=2", false, cmp{opLE, 2}, true}, {"==4", false, cmp{opEQ, 4}, true}, {"=4", false, cmp{opEQ, 4}, true},
		{"!=4", false, cmp{opNE, 4}, true}, {"4", false, cmp{opEQ, 4}, true},
		{">1MB", false, cmp{}, false}, {">>1", false, cmp{}, false}, {"", false, cmp{}, false}, {"=>1", false, cmp{}, false},
	}
	for _, tt := range tests {
		got, err := parseCmp(tt.in, tt.sizes)
		if (err == nil) != tt.ok || tt.ok && got != tt.want {
			t.Errorf("parseCmp(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, c := range []struct {
		c    cmp
		v    uint64
		want bool
	}{
		{cmp{opGT, 3}, 4, true}, {cmp{opGT, 3}, 3, false}, {cmp{opGE, 3}, 3, true}, {cmp{opLT, 3}, 3, false},
		{cmp{opLE, 3}, 3, true}, {cmp{opEQ, 3}, 3, true}, {cmp{opNE, 3}, 3, false},
	} {
		if c.c.match(c.v) != c.want {
			t.Errorf("%v match %d != %v", c.c, c.v, c.want)
		}
	}
}

func TestNamePatterns(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"*.adyen.com", "a.adyen.com", true},
		{"*.adyen.com", "a.b.adyen.com", true},
		{"*.adyen.com", "A.ADYEN.COM.", true},
		{"*.adyen.com", "adyen.com", false},
		{"*.adyen.com", "adyen.com.evil", false},
		{"*.adyen.com", "xadyen.com", false},
		{"*.adyen.com", "a..adyen.com", false},
		{"*.*.adyen.com", "a.b.adyen.com", true},
		{"*.*.adyen.com", "a.adyen.com", false},
		{"api.*.com", "api.x.com", true},
		{"api.*.com", "api.com", false},
		{"api*.x.com", "api.x.com", true},
		{"api*.x.com", "api-2.x.com", true},
		{"*api*.x.com", "my-api-1.x.com", true},
		{"a.b", "a.b", true},
		{"a.b", "a.bc", false},
		{"*", "x", true},
		{"*", "", false},
		{"*.com", ".com", false},
	}
	for _, tt := range tests {
		p, err := compileNamePattern(tt.pat)
		if err != nil {
			t.Fatalf("%q: %v", tt.pat, err)
		}
		if got := p.match(tt.name); got != tt.want {
			t.Errorf("%q match %q = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "a..b", "**.a.com", "a.**"} {
		if _, err := compileNamePattern(bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestGlobLabelHostile(t *testing.T) {
	// Many stars against a long non-matching value stays fast and correct.
	p := "*a*a*a*a*a*a*a*a*a*a*b"
	s := make([]byte, 4000)
	for i := range s {
		s[i] = 'a'
	}
	if globLabel(p, string(s)) {
		t.Fatal("matched without b")
	}
}
