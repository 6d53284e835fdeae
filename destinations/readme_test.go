package destinations

import (
	"os"
	"strings"
	"testing"
)

// TestREADMECatalogExample parses the catalog example of README.md, so the
// documentation cannot drift from the parser.
func TestREADMECatalogExample(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("README has no yaml example")
	}
	yml, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated yaml example")
	}
	f, err := ParseCatalog("README.md", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCatalog(f)
	checkMatches(t, c, []matchCase{
		{"crm.example.com", CategorySaaS, "Example Corp", "Example CRM"},
		{"a.tenants.example.net", CategorySaaS, "Example Corp", "Example CRM"},
		{"assistant-eu.example.com", CategoryAIML, "Example Corp", "Example AI assistant"},
		{"assistant.example.com", "", "", ""},
	})
}
