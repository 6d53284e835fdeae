package pcaptest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// JA4Entry is one connection of FoxIO's JA4 snapshot (NAME.ja4.snap).
type JA4Entry struct {
	Stream    int    `yaml:"stream"`
	Transport string `yaml:"transport"`
	Src       string `yaml:"src"`
	Dst       string `yaml:"dst"`
	SrcPort   uint16 `yaml:"src_port"`
	DstPort   uint16 `yaml:"dst_port"`
	SNI       string `yaml:"tls_server_name"`
	JA4       string `yaml:"ja4"`
}

// JA4Snapshot reads an insta snapshot: a YAML header document, then the
// list of connections.
func JA4Snapshot(path string) ([]JA4Entry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs := strings.SplitN(string(raw), "\n---\n", 2)
	if len(docs) != 2 {
		return nil, fmt.Errorf("%s: not an insta snapshot", path)
	}
	var out []JA4Entry
	if err := yaml.Unmarshal([]byte(docs[1]), &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// MustJA4Snapshot is JA4Snapshot for tests: it fails t on error.
func MustJA4Snapshot(t testing.TB, path string) []JA4Entry {
	t.Helper()
	out, err := JA4Snapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
