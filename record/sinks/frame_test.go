package sinks

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// enc wraps a test record's JSON with the kind and key the pipeline would
// pass beside it (taken here, in tests only, from the JSON itself).
func enc(b []byte) record.Encoded {
	var m struct {
		Type        string `json:"type"`
		CommunityID string `json:"community_id"`
	}
	_ = json.Unmarshal(b, &m)
	k, _ := record.ParseKind(m.Type)
	return record.Encoded{Kind: k, Key: m.CommunityID, JSON: b}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, rec := range []record.Encoded{
		{Kind: record.KindFlow, Key: "1:abc=", JSON: []byte(`{"type":"flow"}`)},
		{Kind: record.KindVolume, JSON: []byte(`{"type":"volume"}`)},
		{Kind: record.KindAlert, Key: strings.Repeat("k", 255), JSON: []byte(`{}`)},
	} {
		kind, key, js := unframe(frame(rec))
		if kind != rec.Kind || string(key) != rec.Key || !bytes.Equal(js, rec.JSON) {
			t.Errorf("round trip of %+v: %v %q %q", rec, kind, key, js)
		}
	}
	// A key too long to carry is dropped, the record kept.
	kind, key, js := unframe(frame(record.Encoded{Kind: record.KindFlow, Key: strings.Repeat("k", 256), JSON: []byte(`{}`)}))
	if kind != record.KindFlow || len(key) != 0 || string(js) != `{}` {
		t.Errorf("long key: %v %q %q", kind, key, js)
	}
	for _, b := range [][]byte{nil, {1}, {1, 5, 'a'}} {
		if kind, _, _ := unframe(b); kind != 0 {
			t.Errorf("unframe(%v) kind %v, want 0", b, kind)
		}
	}
}

// The severity rides in the kind byte's high bits through queue and spool;
// an entry of a spool written before it existed reads as no severity.
func TestFrameSeverity(t *testing.T) {
	for _, sev := range []record.Severity{record.SevNone, record.SevLow, record.SevMedium, record.SevHigh, record.SevCritical} {
		b := frame(record.Encoded{Kind: record.KindAlert, Key: "k", JSON: []byte(`{}`), Severity: sev})
		kind, key, js := unframe(b)
		if kind != record.KindAlert || string(key) != "k" || string(js) != "{}" || frameSeverity(b) != sev {
			t.Errorf("sev %d: got kind %v key %q json %q sev %d", sev, kind, key, js, frameSeverity(b))
		}
	}
	old := []byte{byte(record.KindAlert), 0, '{', '}'}
	if k, _, _ := unframe(old); k != record.KindAlert || frameSeverity(old) != record.SevNone {
		t.Errorf("old entry: kind %v sev %d", k, frameSeverity(old))
	}
}
