package sinks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/recordschema"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/siem"
)

// memSink keeps copies of what it was given.
type memSink struct{ recs []record.Encoded }

func (m *memSink) Write(rec record.Encoded) error {
	rec.JSON = append([]byte(nil), rec.JSON...)
	m.recs = append(m.recs, rec)
	return nil
}
func (m *memSink) Close() error { return nil }

func fmtFlow() *record.Flow {
	t := record.TimeFromNanos(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	return &record.Flow{Type: "flow", TS: t, FlowID: "c1dd3c751dee5576", CommunityID: "1:cKfC06fnW05SE6/wRwMrMJGoNG0=",
		Start: t, End: t, State: "closed", Proto: "tcp", Src: record.Src{IP: "10.0.0.5", Port: 51600},
		Dst: record.Dst{IP: "198.51.100.20", Port: 80}, App: "http", HTTP: &record.HTTP{Method: "POST", Host: "x.example", URI: "/u"}}
}

func fmtAlert(sev string) *record.Alert {
	t := record.TimeFromNanos(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	return &record.Alert{Type: "alert", TS: t, Rule: "r1", Severity: sev, Src: record.Src{IP: "10.0.0.5", Port: 1},
		Dst: record.Dst{IP: "198.51.100.20", Port: 80}, Reason: "x"}
}

func produce(r *Router, v record.Routed) record.Encoded {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	k, key := v.Route()
	return r.Render(v, record.Encoded{Kind: k, Key: key, JSON: b})
}

func TestRouterFormats(t *testing.T) {
	r := NewRouter()
	native, ecs1, ecs2, eve := &memSink{}, &memSink{}, &memSink{}, &memSink{}
	r.Add("native", native, nil, RecordTypes...)
	r.Add("ecs1", ecs1, nil, RecordTypes...)
	r.Add("ecs2", ecs2, nil, "flow")
	r.Add("eve", eve, nil, RecordTypes...)
	r.SetFormat("ecs1", siem.ECS)
	r.SetFormat("ecs2", siem.ECS)
	r.SetFormat("eve", siem.EVE)
	r.SetSensor(record.Sensor{Name: "edge-1", Host: "node7", Interface: "eth0"})

	vol := &record.Volume{Type: "volume", Key: "k", Window: "5m"}
	for _, v := range []record.Routed{fmtFlow(), fmtAlert("high"), vol} {
		rec := produce(r, v)
		if rec.Alt[siem.ECS] == nil || rec.Alt[siem.EVE] == nil || rec.Alt[siem.Native] != nil {
			t.Fatalf("Render filled %v", rec.Alt)
		}
		if err := r.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if len(native.recs) != 3 {
		t.Fatalf("native sink got %d records", len(native.recs))
	}
	for _, rec := range native.recs {
		if err := recordschema.Validate(rec.JSON); err != nil {
			t.Errorf("native record with sensor: %v\n%s", err, rec.JSON)
		}
		var m struct{ Sensor record.Sensor }
		if err := json.Unmarshal(rec.JSON, &m); err != nil || m.Sensor != (record.Sensor{Name: "edge-1", Host: "node7", Interface: "eth0"}) {
			t.Errorf("sensor %+v (%v) in %s", m.Sensor, err, rec.JSON)
		}
	}
	if len(ecs1.recs) != 3 || len(ecs2.recs) != 1 {
		t.Fatalf("ecs sinks got %d and %d records", len(ecs1.recs), len(ecs2.recs))
	}
	if string(ecs1.recs[0].JSON) != string(ecs2.recs[0].JSON) || !strings.Contains(string(ecs1.recs[0].JSON), `"observer":{"name":"edge-1"`) {
		t.Errorf("ECS documents differ or lack observer:\n%s\n%s", ecs1.recs[0].JSON, ecs2.recs[0].JSON)
	}
	// EVE: flow + http for the flow, alert for the alert, nothing for volume.
	var types []string
	for _, rec := range eve.recs {
		var m struct {
			EventType string `json:"event_type"`
			Host      string
			InIface   string `json:"in_iface"`
		}
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			t.Fatalf("%v: %s", err, rec.JSON)
		}
		if m.Host != "edge-1" || m.InIface != "eth0" {
			t.Errorf("host %q in_iface %q", m.Host, m.InIface)
		}
		types = append(types, m.EventType)
	}
	if strings.Join(types, ",") != "flow,http,alert" {
		t.Errorf("EVE events %v", types)
	}
	if eve.recs[2].Severity != record.SevHigh || eve.recs[2].Kind != record.KindAlert {
		t.Errorf("alert carried severity %d kind %v", eve.recs[2].Severity, eve.recs[2].Kind)
	}
}

func TestRouterNativeOnlyRendersNothing(t *testing.T) {
	r := NewRouter()
	r.Add("n", &memSink{}, nil, RecordTypes...)
	rec := produce(r, fmtFlow())
	if rec.Alt != nil || strings.Contains(string(rec.JSON), "sensor") {
		t.Errorf("native-only router without sensor changed the record: %s %v", rec.JSON, rec.Alt)
	}
}

func TestRouterNotRendered(t *testing.T) {
	r := NewRouter()
	st := new(Stats)
	s := &memSink{}
	r.Add("e", s, st, RecordTypes...)
	r.SetFormat("e", siem.ECS)
	b, _ := json.Marshal(fmtFlow())
	err := r.Write(record.Encoded{Kind: record.KindFlow, JSON: b})
	if !errors.Is(err, ErrNotRendered) || st.Dropped(DropNotRendered) != 1 || len(s.recs) != 0 {
		t.Errorf("err %v, dropped %d, written %d", err, st.Dropped(DropNotRendered), len(s.recs))
	}
}

func TestBuildFormat(t *testing.T) {
	dir := t.TempDir()
	cfg := OutputsConfig{Sinks: []OutputConfig{
		{Name: "ecs", Type: "file", Format: "ecs", File: FileConfig{Path: dir + "/ecs.json"}},
		{Name: "n", Type: "file", File: FileConfig{Path: dir + "/n.json"}},
	}}
	r, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.sinks[0].format != siem.ECS || r.sinks[1].format != siem.Native || !r.need[siem.ECS] || r.need[siem.EVE] {
		t.Errorf("formats %v %v need %v", r.sinks[0].format, r.sinks[1].format, r.need)
	}
	cfg.Sinks[0].Format = "leef"
	if err := Validate(&cfg); err == nil || !strings.Contains(err.Error(), "outputs.sinks[0].format") {
		t.Errorf("Validate(format leef) = %v", err)
	}
}
