package destinations

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"api.openai.com", "api.openai.com", nil},
		{"API.OpenAI.COM", "api.openai.com", nil},
		{"api.openai.com.", "api.openai.com", nil},
		{"Api.OpenAI.com.", "api.openai.com", nil},
		{"_companion-link._tcp.local", "_companion-link._tcp.local", nil},
		{"münchen.de", "xn--mnchen-3ya.de", nil},
		{"MÜNCHEN.de.", "xn--mnchen-3ya.de", nil},
		{"XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de", nil},
		{"оpenai.com", "xn--penai-iye.com", nil}, // Cyrillic о: a valid IDN, not openai.com
		{"xn--penai-iye.com", "xn--penai-iye.com", nil},
		{"faß.de", "xn--fa-hia.de", nil}, // IDNA2008: ß is kept
		{"", "", ErrEmptyName},
		{".", "", ErrEmptyName},
		{"a..b", "", ErrEmptyLabel},
		{".a.b", "", ErrEmptyLabel},
		{"a.b..", "", ErrEmptyLabel},
		{strings.Repeat("a", 64) + ".com", "", ErrLabelTooLong},
		{strings.Repeat("a.", 127) + "com", "", ErrNameTooLong},
		{"xn--penai-dxa.com", "", ErrBadIDN}, // punycode that does not decode to a valid label
		{"xn--aaa.com", "", ErrBadIDN},
		{"exa mple.com", "", ErrBadNameChar},
		{"example.com:443", "", ErrBadNameChar},
		{"a/b.com", "", ErrBadNameChar},
		{"evil\x00.com", "", ErrBadNameChar},
		{"\xff\xfe.com", "", ErrBadIDN},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNormalizeCanonicalDoesNotAllocate(t *testing.T) {
	name := "bucket.s3.dualstack.eu-west-1.amazonaws.com"
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := Normalize(name); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Normalize allocates %v times for a canonical name", n)
	}
}

func TestRegistrableDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"api.openai.com", "openai.com"},
		{"openai.com", "openai.com"},
		{"a.b.example.co.uk", "example.co.uk"},
		{"com", ""},
		{"co.uk", ""},
		{"localhost", ""},
		{"", ""},
		// Private PSL suffixes: each bucket / app is its own domain.
		{"mybucket.s3.us-east-1.amazonaws.com", "mybucket.s3.us-east-1.amazonaws.com"},
	}
	for _, tt := range tests {
		if got := RegistrableDomain(tt.in); got != tt.want {
			t.Errorf("RegistrableDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// x/net/publicsuffix first tries netip.ParseAddr, whose error allocates
	// once; that is the whole cost.
	if n := testing.AllocsPerRun(1000, func() { RegistrableDomain("x.api.openai.com") }); n > 1 {
		t.Fatalf("RegistrableDomain allocates %v times, want <= 1", n)
	}
}
