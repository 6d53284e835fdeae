package pipeline

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Zeek's credit-card-exposure script finds five test cards in this capture;
// the replay (reassembly, HTTP parsing, detectors together) must find at
// least those. Compared by masked evidence: a test must not print numbers.
func TestZeekCardBaseline(t *testing.T) {
	f, err := os.Open(filepath.Join(pcapDir, "cce_credit-cards.pcap.zeek-baseline.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cardInData := regexp.MustCompile(`CellBody>(\d{12,19})<`)
	var want []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := cardInData.FindStringSubmatch(sc.Text()); m != nil && !strings.HasPrefix(sc.Text(), "#") {
			want = append(want, strings.Repeat("*", len(m[1])-4)+m[1][len(m[1])-4:])
		}
	}
	if len(want) != 5 {
		t.Fatalf("read %d cards from Zeek's baseline, want 5", len(want))
	}
	got := map[string]bool{}
	count := 0
	for _, l := range replayRecords(t, "inspection: {max_evidence: 32}", 1, filepath.Join(pcapDir, "cce_credit-cards.pcap")) {
		var r struct {
			Sensitive []struct {
				Type     string
				Count    int
				Evidence []string
			}
		}
		json.Unmarshal([]byte(l), &r)
		for _, s := range r.Sensitive {
			if s.Type == "credit_card" {
				count += s.Count
				for _, e := range s.Evidence {
					got[e] = true
				}
			}
		}
	}
	// The evidence cap is raised above the number of cards, so every one of
	// Zeek's cards must be among the evidence.
	if count < len(want) {
		t.Fatalf("found %d cards, Zeek finds %d", count, len(want))
	}
	shown := 0
	for _, w := range want {
		if got[w] {
			shown++
		}
	}
	t.Logf("cards found: %d (Zeek: %d); baseline cards among the shown evidence: %d", count, len(want), shown)
	if shown != len(want) {
		t.Errorf("%d of Zeek's %d cards among the evidence %v", shown, len(want), got)
	}
}
