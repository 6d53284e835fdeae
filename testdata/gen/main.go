// Command gen rewrites the generated captures in testdata/pcap:
//
//	go run ./testdata/gen
//
// The scenarios live in internal/pcapgen/scenarios; a test there checks that
// the committed files are exactly what they build.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
)

func main() {
	files, err := scenarios.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	dir := filepath.Join("testdata", "pcap")
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d bytes\n", filepath.Join(dir, name), len(b))
	}
}
