// Package e2e holds the end-to-end tests of `tapdlp run`: they build network
// namespaces joined by veth pairs and a bridge, run the real binary on a
// host-side interface, drive real clients and servers (the test binary
// re-executed in a namespace) or tcpreplay through it, and check the flow
// records against what was sent and against `tapdlp replay`. They need root
// and iproute2 and skip with a message otherwise. The package has no code
// of its own: it must not become a library other packages import.
package e2e
