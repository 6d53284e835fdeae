package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// `rules test` gives the same table on every run and with any number of
// workers: a flow-count threshold across flows of several workers and the
// default pack's de-duplication are decided in input order (pipeline/doc.go).
func TestRulesTestIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("- id: t.many\n  severity: low\n  when: {proto: [tcp]}\n  threshold: {flows: 3, per: [dst.ip], window: 1m}\n  dedup: {window: 2s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	capture := "../../testdata/pcap/ndpi_1kxun.pcap"
	var want string
	for _, workers := range []int{1, 2, 4, 1, 3} {
		cfg := filepath.Join(dir, fmt.Sprintf("w%d.yaml", workers))
		if err := os.WriteFile(cfg, fmt.Appendf(nil, "workers: %d\n", workers), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, "rules", "test", "-c", cfg, rules, capture)
		if code != 0 {
			t.Fatalf("workers %d: exit %d: %s", workers, code, errOut)
		}
		// Records of closed flows are written once their close completed
		// and flows.tcp_close_grace passed (their ts, which the window
		// and de-duplication use, is the first tick after it), not after
		// the linger; the copy of a final ACK within the grace is counted.
		if !regexpFields(out, "t.many", "low", "54", "22", "32") {
			t.Errorf("workers %d: table:\n%s", workers, out)
		}
		if want == "" {
			want = out
		} else if out != want {
			t.Errorf("workers %d: table differs:\n%s\nwant:\n%s", workers, out, want)
		}
	}
}
