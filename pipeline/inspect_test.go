package pipeline

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/record"
)

// Every decoding path content inspection must see through, end to end: one
// flow per path in inspect.pcap, each carrying its own value.
func TestInspectionPaths(t *testing.T) {
	found := map[uint16][]struct {
		Type, Direction string
		Evidence        []string
	}{}
	for _, l := range replayRecords(t, "", 2, filepath.Join(pcapDir, "inspect.pcap")) {
		var r struct {
			Type      string
			Src       struct{ Port uint16 }
			Sensitive []struct {
				Type, Direction string
				Evidence        []string
			}
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Type == "flow" {
			for _, f := range r.Sensitive {
				found[r.Src.Port] = append(found[r.Src.Port], struct {
					Type, Direction string
					Evidence        []string
				}{f.Type, f.Direction, f.Evidence})
			}
		}
	}
	for _, c := range scenarios.InspectCases() {
		t.Run(c.Path, func(t *testing.T) {
			for _, f := range found[c.Port] {
				if f.Type == c.Type && f.Direction == c.Dir {
					for _, e := range f.Evidence {
						if e == c.Evidence {
							return
						}
					}
				}
			}
			t.Errorf("%s: want %s (%s) with evidence %s; found %+v", c.Path, c.Type, c.Dir, c.Evidence, found[c.Port])
		})
	}
}

func TestRedactPath(t *testing.T) {
	cfg, _ := parseTestConfig("")
	p, err := New(cfg, Options{Sink: nopSink{}})
	if err != nil {
		t.Fatal(err)
	}
	h := newFlowHandler(p)
	for in, want := range map[string]string{
		"/users/536-22-8741/profile": "/users/*****8741/profile",
		"/cards/4111111111111111":    "/cards/************1111",
		"/v1/records":                "/v1/records",
	} {
		if got := h.redact([]byte(in)); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

type nopSink struct{}

func (nopSink) Write(record.Encoded) error { return nil }
func (nopSink) Close() error               { return nil }
