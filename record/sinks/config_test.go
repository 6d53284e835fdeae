package sinks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/config"

	"github.com/tapdlp/tapdlp/record"
)

func TestValidate(t *testing.T) {
	file := func(name, path string) OutputConfig {
		return OutputConfig{Name: name, Type: "file", File: FileConfig{Path: path}}
	}
	tests := []struct {
		name string
		cfg  OutputsConfig
		want []string // substrings of the error; none: valid
	}{
		{"valid mix", OutputsConfig{StateDir: "/var/lib/tapdlp", Sinks: []OutputConfig{
			{Name: "stdout", Type: "stdout", Types: []string{"alert"}},
			file("local", "/var/log/tapdlp/flows.json"),
			{Name: "siem", Type: "syslog", Syslog: SyslogConfig{Network: "tls", Address: "siem.example:6514", Facility: "local3"}},
			{Name: "bus", Type: "kafka", Kafka: KafkaConfig{Brokers: []string{"k1:9092"}, SASL: SASLConfig{Mechanism: "scram-sha-512", Username: "u", PasswordFile: "/run/secrets/k"}}},
		}}, nil},
		{"no sinks", OutputsConfig{}, []string{"at least one sink"}},
		{"bad name", OutputsConfig{Sinks: []OutputConfig{{Name: "Bad Name", Type: "stdout"}}}, []string{`outputs.sinks[0].name: "Bad Name" must be`}},
		{"duplicate name", OutputsConfig{Sinks: []OutputConfig{file("a", "x"), file("a", "y")}}, []string{`"a" is used twice`}},
		{"same path", OutputsConfig{Sinks: []OutputConfig{file("a", "x"), file("b", "./x")}}, []string{"used by another file sink"}},
		{"unknown type", OutputsConfig{Sinks: []OutputConfig{{Name: "a", Type: "elastic"}}}, []string{`type: "elastic" is not stdout, file, syslog or kafka`}},
		{"bad record type", OutputsConfig{Sinks: []OutputConfig{{Name: "a", Type: "stdout", Types: []string{"flow", "dns", "flow"}}}}, []string{`"dns" is not one of`, `"flow" is listed twice`}},
		{"wrong block", OutputsConfig{Sinks: []OutputConfig{{Name: "a", Type: "stdout", Kafka: KafkaConfig{Acks: "all"}}}}, []string{`kafka: set, but the sink's type is "stdout"`}},
		{"queue on file", OutputsConfig{Sinks: []OutputConfig{{Name: "a", Type: "file", File: FileConfig{Path: "p"}, Queue: QueueConfig{BatchRecords: 5}}}}, []string{"only syslog and kafka sinks have a queue"}},
		{"two stdout", OutputsConfig{Sinks: []OutputConfig{{Name: "a", Type: "stdout"}, {Name: "b", Type: "stdout"}}}, []string{"only one stdout"}},
		{"file without path", OutputsConfig{Sinks: []OutputConfig{{Name: "a", Type: "file"}}}, []string{"file.path: required"}},
		{"syslog no state dir", OutputsConfig{Sinks: []OutputConfig{{Name: "s", Type: "syslog", Syslog: SyslogConfig{Address: "h:514"}}}}, []string{"set outputs.state_dir"}},
		{"syslog bad fields", OutputsConfig{StateDir: "d", Sinks: []OutputConfig{{Name: "s", Type: "syslog", Syslog: SyslogConfig{
			Network: "sctp", Address: "nohost", Facility: "local9", MaxMessageSize: 100}}}},
			[]string{`"sctp" is not tcp, tls or udp`, `"nohost" is not host:port`, `"local9" is not a syslog facility`, "out of range 480..65507"}},
		{"syslog tls on tcp", OutputsConfig{StateDir: "d", Sinks: []OutputConfig{{Name: "s", Type: "syslog", Syslog: SyslogConfig{
			Address: "h:514", TLS: TLSConfig{CAFile: "ca"}}}}}, []string{"use network: tls"}},
		{"tls cert without key", OutputsConfig{StateDir: "d", Sinks: []OutputConfig{{Name: "s", Type: "syslog", Syslog: SyslogConfig{
			Network: "tls", Address: "h:514", TLS: TLSConfig{CertFile: "c"}}}}}, []string{"cert_file and key_file go together"}},
		{"kafka bad fields", OutputsConfig{StateDir: "d", Sinks: []OutputConfig{{Name: "k", Type: "kafka", Kafka: KafkaConfig{
			Topics: map[string]string{"dns": "x", "flow": "bad topic"}, Acks: "two", Compression: "brotli",
			DeliveryTimeout: config.Duration(time.Millisecond), SASL: SASLConfig{Mechanism: "gssapi"}}}}},
			[]string{"at least one broker", `"dns" is not a record type`, `"bad topic" is not a valid topic`, `acks: "two"`, `compression: "brotli"`, "below the client's 1s minimum", `"gssapi" is not plain`}},
		{"kafka sasl without password", OutputsConfig{StateDir: "d", Sinks: []OutputConfig{{Name: "k", Type: "kafka", Kafka: KafkaConfig{
			Brokers: []string{"k:9092"}, SASL: SASLConfig{Mechanism: "plain", Username: "u"}}}}}, []string{"username and password_file are required"}},
		{"negative queue", OutputsConfig{StateDir: "d", Sinks: []OutputConfig{{Name: "k", Type: "kafka", Kafka: KafkaConfig{Brokers: []string{"k:9092"}},
			Queue: QueueConfig{SpoolSize: -1}}}}, []string{"queue: values must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(&tt.cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestBuildRoutesByType(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	cfg := OutputsConfig{Sinks: []OutputConfig{
		{Name: "console", Type: "stdout", Types: []string{"alert"}},
		{Name: "flows", Type: "file", Types: []string{"flow", "alert"}, File: FileConfig{Path: filepath.Join(dir, "flows.json")}},
	}}
	env := testEnv()
	env.stdout = &out
	r, err := build(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{`{"type":"flow","n":1}`, `{"type":"alert","n":2}`, `{"type":"volume","n":3}`, `{"n":4}`} {
		if err := r.Write(enc([]byte(rec))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"type\":\"alert\",\"n\":2}\n" {
		t.Fatalf("stdout got %q", out.String())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "flows.json"))
	if string(b) != "{\"type\":\"flow\",\"n\":1}\n{\"type\":\"alert\",\"n\":2}\n" {
		t.Fatalf("file got %q", b)
	}
	if r.Unrouted() != 2 {
		t.Fatalf("unrouted %d, want 2 (volume and untyped)", r.Unrouted())
	}
	counts := map[string]uint64{}
	r.Each(func(sink, name string, v uint64) { counts[sink+"/"+name] = v })
	if counts["console/written_total"] != 1 || counts["flows/written_total"] != 2 {
		t.Fatalf("counters %v", counts)
	}
	per := 0
	new(Stats).Each(func(string, uint64) { per++ })
	if len(counts) != 2*per {
		t.Fatalf("%d counters, want a fixed %d per sink", len(counts), per)
	}
	if err := r.Reopen(); err == nil {
		t.Fatal("Reopen after Close succeeded")
	}
}

func TestRouterWriteNoAllocs(t *testing.T) {
	r := NewRouter()
	r.Add("null", nullSink{}, nil, "flow")
	rec := enc([]byte(`{"type":"flow","community_id":"1:x"}`))
	if n := testing.AllocsPerRun(100, func() { _ = r.Write(rec) }); n != 0 {
		t.Fatalf("%v allocs per routed record", n)
	}
}

type nullSink struct{}

func (nullSink) Write(record.Encoded) error { return nil }
func (nullSink) Close() error               { return nil }

func BenchmarkRouterToDurable(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchRouterToDurable(b, "") })
	b.Run("spool", func(b *testing.B) { benchRouterToDurable(b, b.TempDir()) })
}

func benchRouterToDurable(b *testing.B, spoolDir string) {
	// A durable sink whose transport accepts everything: the cost of
	// Write (route lookup + copy into the queue, or the write-ahead append
	// to the spool) plus delivery.
	d, err := newDurable("b", acceptAll{}, queueOptions{SpoolDir: spoolDir}, new(Stats))
	if err != nil {
		b.Fatal(err)
	}
	r := NewRouter()
	r.Add("b", d, nil, "flow")
	rec := enc(kafkaRec("flow", 1))
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.JSON)))
	for b.Loop() {
		_ = r.Write(rec)
	}
	b.StopTimer()
	_ = r.Close()
}

type acceptAll struct{}

func (acceptAll) send(_ context.Context, recs [][]byte) (int, error) { return len(recs), nil }
func (acceptAll) close() error                                       { return nil }
