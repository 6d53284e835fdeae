package aiapi

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteSeedCorpus writes the committed seed corpus (every table case)
// under testdata/fuzz when TAPDLP_WRITE_CORPUS=1.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("TAPDLP_WRITE_CORPUS") != "1" {
		t.Skip("set TAPDLP_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDescribe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range aiCases {
		r := tc.req
		name := strings.NewReplacer(" ", "-", ",", "", "/", "-").Replace(tc.name)
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\nstring(%q)\nstring(%q)\n[]byte(%q)\nbool(%v)\n", r.Host, r.Path, r.ContentType, r.Body, r.BodyTruncated)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
