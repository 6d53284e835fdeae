package aiapi

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"unicode/utf8"
)

// collect records every scalar string value the walker reports.
type collect struct{ strs []string }

func (c *collect) scalar(_ []elem, kind byte, v []byte) {
	if kind == 's' {
		c.strs = append(c.strs, string(v))
	}
}
func (c *collect) open([]elem, byte)  {}
func (c *collect) close([]elem, byte) {}

// stdStrings returns the string values (not keys) of a JSON document in
// order, as encoding/json decodes them.
func stdStrings(b []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []string
	// expectKey per open container: true inside an object before a key.
	var stack []bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, true)
			case '[':
				stack = append(stack, false)
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if len(stack) > 0 && stack[len(stack)-1] && isKeyPos(dec) {
				continue
			}
			out = append(out, v)
		}
	}
}

// isKeyPos: encoding/json's Decoder does not say whether a string token
// was a key; after a key the decoder's next byte is the value, so the
// input offset tells: a key is followed (after blanks) by ':'.
func isKeyPos(dec *json.Decoder) bool {
	rest, _ := io.ReadAll(io.LimitReader(dec.Buffered(), 64))
	for _, c := range rest {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

func FuzzJSONWalker(f *testing.F) {
	for _, s := range []string{
		`{"a":"b","c":["d",1,true,null,{"e":"f\u00e9\ud83d\ude00"}]}`,
		`{"x":"\ud800\u0041","y":"\udc00","z":"\"\\\/\b\f\n\r\t"}`,
		`["a", "b"]`, `"s"`, `{"k":-1.5e+3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || !utf8.Valid(b) {
			// Invalid input: the walker must not panic.
			w := walker{b: b, maxDepth: 64, v: &collect{}}
			w.run()
			return
		}
		want, ok := stdStrings(b)
		if !ok {
			return
		}
		c := &collect{}
		w := walker{b: b, maxDepth: 10000, v: c}
		if err := w.run(); err != nil {
			t.Fatalf("valid JSON rejected: %v", err)
		}
		if len(c.strs) != len(want) {
			t.Fatalf("strings %q, encoding/json %q", c.strs, want)
		}
		for i := range want {
			if c.strs[i] != want[i] {
				t.Fatalf("string %d: %q, encoding/json %q", i, c.strs[i], want[i])
			}
		}
	})
}
