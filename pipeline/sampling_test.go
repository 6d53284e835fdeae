package pipeline

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

type sampledFlow struct {
	Dst       struct{ Category string }
	Sensitive []struct {
		Type   string
		Hashes []string
	}
	Inspected *struct {
		Out     uint64
		Skipped string
	}
}

func demoFlows(t *testing.T, cfg string) []sampledFlow {
	var out []sampledFlow
	for _, l := range replayRecords(t, cfg, 1, filepath.Join(pcapDir, "demo.pcap")) {
		if !strings.Contains(l, `"type":"flow"`) {
			continue
		}
		var f sampledFlow
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// sample_one_in skips most flows, except categories always inspected once
// the destination is known; the record says why a flow was not scanned.
func TestSampling(t *testing.T) {
	for _, f := range demoFlows(t, "inspection: {sample_one_in: 1000000, always_inspect: []}\n") {
		if len(f.Sensitive) > 0 {
			t.Errorf("%s flow scanned although sampled out", f.Dst.Category)
		}
		if f.Inspected != nil && f.Inspected.Out > 0 {
			t.Errorf("%s flow inspected %d bytes", f.Dst.Category, f.Inspected.Out)
		}
	}
	found := map[string]bool{}
	for _, f := range demoFlows(t, "inspection: {sample_one_in: 1000000, always_inspect: [unknown]}\n") {
		if len(f.Sensitive) > 0 {
			found[f.Dst.Category] = true
		}
		if f.Dst.Category == "cloud_storage" && f.Inspected != nil && f.Inspected.Skipped != "sampling" {
			t.Errorf("cloud_storage flow: skipped %q, want sampling", f.Inspected.Skipped)
		}
	}
	if !found["unknown"] || found["cloud_storage"] {
		t.Errorf("findings by category %v: want unknown only (always inspected)", found)
	}
	for _, f := range demoFlows(t, "inspection: {enabled: false}\n") {
		if len(f.Sensitive) > 0 || (f.Inspected != nil && f.Inspected.Out > 0) {
			t.Errorf("%s flow scanned with inspection disabled", f.Dst.Category)
		}
		if f.Inspected != nil && f.Inspected.Skipped != "disabled" {
			t.Errorf("%s flow: skipped %q, want disabled", f.Dst.Category, f.Inspected.Skipped)
		}
	}
}

// With a key, findings carry keyed hashes: the same value in two flows
// hashes alike (correlation without the value); another key hashes
// differently.
func TestHMACHashes(t *testing.T) {
	hashes := func(key string) map[string]bool {
		set := map[string]bool{}
		for _, f := range demoFlows(t, "inspection: {hmac_key: "+key+"}\n") {
			for _, s := range f.Sensitive {
				if s.Type == "credit_card" {
					for _, h := range s.Hashes {
						if !strings.HasPrefix(h, "hmac:") {
							t.Errorf("hash %q lacks the hmac: prefix", h)
						}
						set[h] = true
					}
				}
			}
		}
		return set
	}
	a, b := hashes("correlation-key-1"), hashes("correlation-key-2")
	// 4111111111111111 appears in the HTTP flow and in the SMTP flow: one hash.
	if len(a) != 3 {
		t.Errorf("%d distinct card hashes, want 3 (three distinct cards, one of them in two flows)", len(a))
	}
	for h := range a {
		if b[h] {
			t.Error("two keys produced the same hash")
		}
	}
	for _, f := range demoFlows(t, "") {
		for _, s := range f.Sensitive {
			if len(s.Hashes) > 0 {
				t.Errorf("%s: hashes without a key", s.Type)
			}
		}
	}
}
