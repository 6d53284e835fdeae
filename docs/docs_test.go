package docs

import (
	"encoding/json"
	"io/fs"
	"testing"
)

// Every embedded schema is JSON, declares draft 2020-12 and has an $id,
// and the three record types and the shared definitions are all there.
func TestSchemasEmbedded(t *testing.T) {
	names, err := fs.Glob(Schemas, "schema/*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"schema/flow.schema.json": false, "schema/alert.schema.json": false,
		"schema/volume.schema.json": false, "schema/common.schema.json": false}
	for _, n := range names {
		raw, err := Schemas.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID == "" {
			t.Errorf("%s: $schema %q, $id %q", n, doc.Schema, doc.ID)
		}
		want[n] = true
	}
	for n, ok := range want {
		if !ok {
			t.Errorf("%s not embedded", n)
		}
	}
}
