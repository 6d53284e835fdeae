// Package testenv holds helpers shared by tests across the module. Its one
// job today is gating slow cross-checks: oracles such as tcpdump, tshark,
// a headless browser and the network-namespace end-to-end runs take most of
// the suite's time, so `go test ./...` skips them unless the environment
// variable TAPDLP_SLOW=1 asks for them (.ci/run sets it, so CI keeps every
// oracle). It must not be imported by non-test code.
package testenv

import (
	"os"
	"testing"
)

// SlowEnv is the environment variable that enables slow tests.
const SlowEnv = "TAPDLP_SLOW"

// SlowEnabled reports whether slow cross-checks were asked for
// (TAPDLP_SLOW=1) and -short was not given.
func SlowEnabled() bool {
	return os.Getenv(SlowEnv) == "1" && !testing.Short()
}

// Slow skips t unless slow cross-checks were asked for. Call it first in a
// test whose oracle (an external tool, a browser, network namespaces) or
// run time does not fit the one-minute `go test ./...` budget.
func Slow(t testing.TB) {
	t.Helper()
	if !SlowEnabled() {
		t.Skipf("slow cross-check: set %s=1 to run it (CI does)", SlowEnv)
	}
}

// Strings returns every string of at most n symbols over alphabet (each
// symbol one string, possibly of several bytes), the empty string first:
// the exhaustive small inputs a hand-written matcher is checked against the
// regexp it replaced on.
func Strings(alphabet []string, n int) []string {
	out := []string{""}
	for level, from := 0, 0; level < n; level++ {
		to := len(out)
		for _, prefix := range out[from:to] {
			for _, a := range alphabet {
				out = append(out, prefix+a)
			}
		}
		from = to
	}
	return out
}
