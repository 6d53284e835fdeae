package sinks

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/testenv"
)

// TestValidName checks validName against the regexp it replaced: every
// string of up to three bytes over an alphabet with one byte of each class,
// and the length limits.
func TestValidName(t *testing.T) {
	oracle := regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	alphabet := []string{"a", "z", "A", "0", "9", "_", "-", ".", " ", "\n", "é", "\x00"}
	cases := []string{"", strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("-", 64), "siem-kafka_2", "Siem"}
	cases = append(cases, testenv.Strings(alphabet, 3)...)
	for _, s := range cases {
		if got, want := validName(s), oracle.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
