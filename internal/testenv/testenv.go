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
