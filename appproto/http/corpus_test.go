package http

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusEntry renders one input in the native fuzzing corpus format.
func corpusEntry(args ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			b.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		}
	}
	return []byte(b.String())
}

// TestFuzzCorpus keeps testdata/fuzz seeded with the real captures' streams
// (regenerate with -update) and checks the committed corpus is there.
func TestFuzzCorpus(t *testing.T) {
	dirs := map[string][][]byte{}
	if *update {
		var conns []*conn
		for _, name := range []string{"arkime_http-post-upload.pcap", "arkime_v6-http.pcap", "ndpi_http-manipulated.pcap", "ndpi_http_ua_splitted_in_two_pkts.pcapng", "cce_credit-cards.pcap"} {
			conns = append(conns, readTCP(t, filepath.Join(pcapDir, name))...)
		}
		for i, c := range conns {
			a, b := c.halves[c.a].bytesOf(), c.halves[c.b].bytesOf()
			if Sniff(a) != SniffRequest {
				a, b = b, a
			}
			if Sniff(a) != SniffRequest {
				continue
			}
			dirs["FuzzRequestParser"] = append(dirs["FuzzRequestParser"], corpusEntry(a[:min(len(a), 16<<10)], uint64(i)))
			dirs["FuzzResponseParser"] = append(dirs["FuzzResponseParser"], corpusEntry(b[:min(len(b), 16<<10)], uint64(i), byte(1)))
		}
		text := []byte(strings.Repeat("token=sk-live-0000&ssn=000-00-0000\n", 30))
		for i, enc := range [][]byte{gzipped(text), zlibbed(text), rawDeflated(text), zstded(text), brotlied(text), brotlied(gzipped(text))} {
			dirs["FuzzContentDecoding"] = append(dirs["FuzzContentDecoding"], corpusEntry(enc, byte(i), uint64(i*7)))
		}
		for dir, entries := range dirs {
			path := filepath.Join("testdata", "fuzz", dir)
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			for i, e := range entries {
				if err := os.WriteFile(filepath.Join(path, fmt.Sprintf("seed-%02d", i)), e, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, dir := range []string{"FuzzRequestParser", "FuzzResponseParser", "FuzzContentDecoding"} {
		ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", dir))
		if err != nil || len(ents) == 0 {
			t.Errorf("fuzz corpus %s missing (run with -update): %v", dir, err)
		}
	}
}
