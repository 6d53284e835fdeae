package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An indicator list makes a destination a threat: dst.category threat,
// dst.ioc names the list, and the default pack's IOC rule alerts.
func TestIOCHit(t *testing.T) {
	list := filepath.Join(t.TempDir(), "feed.txt")
	os.WriteFile(list, []byte("# test feed\nshady-uploads.example\n203.0.113.25\n"), 0o644)
	cfg := "destinations: {ioc_files: [{path: " + list + ", name: test-feed}]}\n"
	var threat, alerts int
	for _, l := range replayRecords(t, cfg, 1, filepath.Join(pcapDir, "demo.pcap")) {
		if strings.Contains(l, `"type":"flow"`) && strings.Contains(l, `"category":"threat"`) {
			threat++
			if !strings.Contains(l, `"ioc":{"list":"test-feed"}`) {
				t.Errorf("threat flow without dst.ioc: %.300s", l)
			}
		}
		if strings.Contains(l, `"type":"alert"`) && strings.Contains(l, `"rule":"default.ioc-hit"`) {
			alerts++
		}
	}
	// The domain (and its subdomain collect.shady-uploads.example) and the
	// SMTP server's address are on the list.
	if threat != 2 || alerts != 2 {
		t.Errorf("%d threat flows and %d IOC alerts, want 2 and 2", threat, alerts)
	}
}
