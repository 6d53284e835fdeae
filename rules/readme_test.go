package rules

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeExamples compiles every YAML block of README.md that is a rules
// document, so the documentation cannot drift from the parser.
func TestReadmeExamples(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(data), "```yaml\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("no yaml blocks")
	}
	for i, b := range blocks {
		b = b[:strings.Index(b, "```")]
		if strings.HasPrefix(b, "threshold:") {
			b = "rules:\n  - id: x\n    " + strings.ReplaceAll(strings.TrimSpace(b), "\n", "\n    ") + "\n"
		}
		rs, err := Parse("README.md", []byte(b))
		if err != nil {
			t.Fatalf("block %d: %v\n%s", i, err, b)
		}
		if _, err := Compile(rs, Options{}); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
	}
}
