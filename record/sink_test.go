package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestWriterSinkLines(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriterSink(&buf)
	for _, r := range []string{`{"a":1}`, `{"b":2}`} {
		if err := s.Write(Encoded{Kind: KindFlow, JSON: []byte(r)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("got %q", got)
	}
	if err := s.Write(Encoded{Kind: KindFlow, JSON: []byte("{}")}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds {
		back, ok := ParseKind(k.String())
		if !ok || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), back, ok)
		}
	}
	if _, ok := ParseKind("sensitive"); ok {
		t.Error("ParseKind accepted an unknown type")
	}
	if Kind(0).String() != "unknown" || Kind(99).String() != "unknown" {
		t.Error("invalid kinds must not name a type")
	}
}

// Route must agree with the "type" field each record type writes, and
// carry the community_id: sinks route on it instead of parsing the JSON.
func TestRouteMatchesJSON(t *testing.T) {
	for _, v := range []Routed{
		&Flow{Type: "flow", CommunityID: "1:abc="},
		&Alert{Type: "alert", CommunityID: "1:def="},
		&Volume{Type: "volume", Key: "svc|dst"},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Type        string `json:"type"`
			CommunityID string `json:"community_id"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		k, key := v.Route()
		if k.String() != m.Type || key != m.CommunityID {
			t.Errorf("%T: Route() = %v, %q; JSON has type %q community_id %q", v, k, key, m.Type, m.CommunityID)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	tm := TimeFromNanos(1763823845123456789)
	b, _ := tm.MarshalJSON()
	if string(b) != `"2025-11-22T15:04:05.123456Z"` {
		t.Errorf("MarshalJSON = %s", b)
	}
	var back Time
	if err := back.UnmarshalJSON(b); err != nil || back.UnixMicro() != tm.UnixMicro() {
		t.Errorf("round trip: %v %v", back, err)
	}
}
