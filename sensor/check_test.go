package sensor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/config"
)

// Check finds what run or replay would refuse, each with file:line of the
// key that causes it, and passes a configuration they would accept.
func TestCheckFindsWhatARunWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	badCatalog := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(badCatalog, []byte("services: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	goodIOC := filepath.Join(dir, "ioc.txt")
	if err := os.WriteFile(goodIOC, []byte("203.0.113.7\nexfil.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	aFile := filepath.Join(dir, "file")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error; none: Check passes
	}{
		{"good", "capture:\n  bpf_filter: not port 22\nmetrics:\n  listen: 127.0.0.1:9740\ndestinations:\n  ioc_files: [{path: " + goodIOC + "}]\n", nil},
		{"good service-name port, all addresses", "metrics:\n  listen: \":http\"\n", nil},
		{"BPF syntax", "workers: 1\ncapture:\n  bpf_filter: port and and 22\n", []string{"tapdlp.yaml:3: capture.bpf_filter"}},
		{"listen without port", "metrics:\n  listen: 127.0.0.1\n", []string{"tapdlp.yaml:2: metrics.listen"}},
		{"listen port out of range", "\n\nmetrics:\n  listen: 0.0.0.0:70000\n", []string{"tapdlp.yaml:4: metrics.listen", "70000"}},
		{"catalog file missing", "destinations:\n  catalog_files: [" + missing + "]\n", []string{"destinations", "missing"}},
		{"catalog file does not parse", "destinations:\n  catalog_files: [" + badCatalog + "]\n", []string{"catalog.yaml"}},
		{"IOC file missing", "destinations:\n  ioc_files: [{path: " + missing + "}]\n", []string{"missing"}},
		{"range file missing", "destinations:\n  range_files: [{path: " + missing + ", format: aws}]\n", []string{"missing"}},
		{"HMAC key file missing", "inspection:\n  hmac_key_file: " + missing + "\n", []string{"tapdlp.yaml:2: inspection.hmac_key_file"}},
		{"unknown capture user", "capture:\n  user: no-such-user-tapdlp\n", []string{"tapdlp.yaml:2: capture.user"}},
		{"sink settings", "outputs:\n  sinks:\n    - {name: s, type: syslog, address: \"\"}\n", []string{"tapdlp.yaml:"}},
		{"alert pcaps, directory to be created", "alerts:\n  pcap_dir: " + filepath.Join(missing, "pcaps") + "\n", nil},
		{"alert pcaps, directory is a file", "\nalerts:\n  pcap_dir: " + aFile + "\n", []string{"tapdlp.yaml:3: alerts.pcap_dir", "not a directory"}},
		{"alert pcaps, under a file", "alerts:\n  pcap_dir: " + filepath.Join(aFile, "x") + "\n", []string{"tapdlp.yaml:2: alerts.pcap_dir"}},
		{"alert pcaps, flow bytes past memory", "alerts:\n  pcap_dir: " + dir + "\n  pcap_memory: 1MiB\n  pcap_flow_bytes: 2MiB\n",
			[]string{"tapdlp.yaml:4: alerts.pcap_flow_bytes", "2MiB"}},
		{"alert pcaps, bad size", "alerts:\n  pcap_dir: " + dir + "\n  pcap_file_size: 12 parsecs\n", []string{"tapdlp.yaml:3: alerts.pcap_file_size"}},
		{"alert pcaps, small files, no files", "alerts:\n  pcap_dir: " + dir + "\n  pcap_file_size: 1KiB\n  pcap_max_files: 0\n",
			[]string{"tapdlp.yaml:3: alerts.pcap_file_size", "tapdlp.yaml:4: alerts.pcap_max_files"}},
		{"alert pcaps, total below one file", "alerts:\n  pcap_dir: " + dir + "\n  pcap_max_bytes: 1MiB\n", []string{"tapdlp.yaml:3: alerts.pcap_max_bytes", "64MiB"}},
		{"every problem, not the first", "capture:\n  bpf_filter: port and and 22\nmetrics:\n  listen: nowhere\n",
			[]string{"tapdlp.yaml:2: capture.bpf_filter", "tapdlp.yaml:4: metrics.listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tapdlp.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err == nil {
				err = Check(cfg)
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
