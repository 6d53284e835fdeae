package rules

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/testenv"
)

// TestValidID checks validID against the regexp it replaced: every string
// of up to three bytes over an alphabet with one byte of each class, and
// the length limits.
func TestValidID(t *testing.T) {
	oracle := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	alphabet := []string{"a", "Z", "7", ".", "_", "-", " ", "\n", "/", "é", "\x00", "\xff"}
	cases := []string{"", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65),
		"r" + strings.Repeat("-", 63), "r" + strings.Repeat("-", 64), "pci.card-to-ai_1", "pci card", "pci\n"}
	cases = append(cases, testenv.Strings(alphabet, 3)...)
	for _, s := range cases {
		if got, want := validID(s), oracle.MatchString(s); got != want {
			t.Errorf("validID(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
