// Package recordschema validates native records (JSON lines) against the
// published schemas in docs/schema. Tests use it to hold every record the
// suite produces to the documented contract; it is not used at run time.
package recordschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tapdlp/tapdlp/docs"
)

const baseURL = "https://tapdlp.dev/schema/"

var (
	once    sync.Once
	byType  map[string]*jsonschema.Schema
	loadErr error
)

func load() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	names, err := fs.Glob(docs.Schemas, "schema/*.schema.json")
	if err != nil {
		loadErr = err
		return
	}
	for _, n := range names {
		raw, err := docs.Schemas.ReadFile(n)
		if err != nil {
			loadErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			loadErr = fmt.Errorf("%s: %w", n, err)
			return
		}
		if err := c.AddResource(baseURL+path.Base(n), doc); err != nil {
			loadErr = fmt.Errorf("%s: %w", n, err)
			return
		}
	}
	byType = map[string]*jsonschema.Schema{}
	for _, t := range []string{"flow", "alert", "volume"} {
		s, err := c.Compile(baseURL + t + ".schema.json")
		if err != nil {
			loadErr = fmt.Errorf("compile %s schema: %w", t, err)
			return
		}
		byType[t] = s
	}
}

// Validate checks one record (a JSON object) against the schema its "type"
// names. An unknown type is an error.
func Validate(line []byte) error {
	once.Do(load)
	if loadErr != nil {
		return loadErr
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("not a JSON object")
	}
	t, _ := m["type"].(string)
	s := byType[t]
	if s == nil {
		return fmt.Errorf("unknown record type %q", t)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("%s record: %v", t, err)
	}
	return nil
}

// ValidateLines validates every non-empty line and returns the problems,
// each prefixed with its 1-based line number.
func ValidateLines(data []byte) []string {
	var out []string
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if err := Validate(l); err != nil {
			out = append(out, fmt.Sprintf("line %d: %v", i+1, err))
		}
	}
	return out
}

// mustJSON is a test convenience for building records from Go values.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
