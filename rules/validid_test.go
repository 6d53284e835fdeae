package rules

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidID checks validID against the regexp it replaced: every string
// of up to three bytes over an alphabet with one byte of each class, and
// the length limits.
func TestValidID(t *testing.T) {
	oracle := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	alphabet := []string{"a", "Z", "7", ".", "_", "-", " ", "\n", "/", "é", "\x00", "\xff"}
	cases := []string{"", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65),
		"r" + strings.Repeat("-", 63), "r" + strings.Repeat("-", 64), "pci.card-to-ai_1", "pci card", "pci\n"}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		cases = append(cases, prefix)
		if n == 0 {
			return
		}
		for _, a := range alphabet {
			gen(prefix+a, n-1)
		}
	}
	gen("", 3)
	for _, s := range cases {
		if got, want := validID(s), oracle.MatchString(s); got != want {
			t.Errorf("validID(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
