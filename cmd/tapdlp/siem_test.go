package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaySIEMFormats runs the demo capture through configured sinks in
// all three formats: the native file carries the sensor identity, the ECS
// and EVE files hold one document per line with observer / host set, and
// none of them holds a planted raw value.
func TestReplaySIEMFormats(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tapdlp.yaml")
	conf := fmt.Sprintf(`sensor: {name: edge-1}
outputs:
  sinks:
    - {name: native, type: file, file: {path: %[1]s/native.json}}
    - {name: ecs, type: file, format: ecs, file: {path: %[1]s/ecs.json}}
    - {name: eve, type: file, format: eve, types: [flow, alert], file: {path: %[1]s/eve.json}}
`, dir)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	demo := filepath.Join("..", "..", "testdata", "pcap", "demo.pcap")
	if code, _, errOut := run(t, "replay", "-q", "--outputs", "-c", cfg, demo); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	read := func(name string) []map[string]any {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var docs []map[string]any
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		all := ""
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v: %s", name, err, sc.Text())
			}
			docs = append(docs, m)
			all += sc.Text() + "\n"
		}
		for _, leak := range findLeaks(all, plantedValues()) {
			t.Errorf("%s contains a planted value: %s", name, leak)
		}
		return docs
	}
	native, ecs, eve := read("native.json"), read("ecs.json"), read("eve.json")
	if len(native) == 0 || len(ecs) != len(native) {
		t.Fatalf("%d native records, %d ECS documents", len(native), len(ecs))
	}
	host, _ := os.Hostname()
	for _, r := range native {
		s, _ := r["sensor"].(map[string]any)
		if s["name"] != "edge-1" || s["host"] != host || s["interface"] != "demo.pcap" {
			t.Fatalf("native sensor %v", s)
		}
	}
	alerts := 0
	for _, d := range ecs {
		o, _ := d["observer"].(map[string]any)
		if o["name"] != "edge-1" || o["hostname"] != host {
			t.Fatalf("ECS observer %v", o)
		}
		if d["event"].(map[string]any)["kind"] == "alert" {
			alerts++
		}
	}
	eveAlerts, eveFlows := 0, 0
	for _, d := range eve {
		if d["host"] != "edge-1" || d["in_iface"] != "demo.pcap" {
			t.Fatalf("EVE host %v in_iface %v", d["host"], d["in_iface"])
		}
		switch d["event_type"] {
		case "alert":
			eveAlerts++
		case "flow":
			eveFlows++
		}
	}
	if alerts == 0 || eveAlerts != alerts || eveFlows == 0 {
		t.Errorf("ECS alerts %d, EVE alerts %d, EVE flows %d", alerts, eveAlerts, eveFlows)
	}
	if !strings.Contains(fmt.Sprint(ecs), "credit_card") {
		t.Error("no card finding in the ECS output: the leak check would prove nothing")
	}
}
