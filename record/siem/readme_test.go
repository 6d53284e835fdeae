package siem

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// TestREADMEExamples keeps the README's ECS and EVE example lines equal to
// rendering the demo capture's first alert (testdata/golden/demo.jsonl).
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "### Outputs for SIEMs")
	if i < 0 {
		t.Fatal(`README has no "Outputs for SIEMs" section`)
	}
	var ecsLine, eveLine string
	for _, l := range strings.Split(text[i:], "\n") {
		switch {
		case ecsLine == "" && strings.HasPrefix(l, `{"@timestamp"`):
			ecsLine = l
		case eveLine == "" && strings.HasPrefix(l, `{"timestamp"`):
			eveLine = l
		}
	}
	f, err := os.Open("../../testdata/golden/demo.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var a record.Alert
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), `{"type":"alert"`) {
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if a.Rule == "" {
		t.Fatal("no alert in the demo golden records")
	}
	s := &record.Sensor{Name: "edge-1", Host: "tap01", Interface: "eth1"}
	if got := string(AppendECS(nil, &a, s)); got != ecsLine {
		t.Errorf("README ECS example is stale; want\n%s", got)
	}
	var eve []string
	AppendEVE(nil, &a, s, func(b []byte) { eve = append(eve, string(b)) })
	if len(eve) != 1 || eve[0] != eveLine {
		t.Errorf("README EVE example is stale; want\n%v", eve)
	}
}
