package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// The end-to-end captures of the modern plaintext protocols, recorded from
// real clients and servers by the appproto packages' tests (see
// testdata/README.md): each must come out as a named, inspected record with
// its findings in the direction they travelled.
func TestModernProtocols(t *testing.T) {
	type finding struct{ typ, dir, evidence string }
	for _, tc := range []struct {
		file      string
		app, name string
		version   string
		streams   int
		grpc      *record.GRPC
		want      []finding
	}{
		// 8 concurrent requests over prior-knowledge h2c: cards in
		// compressed request bodies (…1111) and one only in an HPACK-coded
		// header (…4444). (The responses' SSN is the classifier's
		// placeholder 078-05-1120, rightly not reported.)
		{file: "h2c.pcap", app: "http", name: "api.openai.example", version: "2", streams: 8, want: []finding{
			{"credit_card", "out", "1111"}, {"credit_card", "out", "4444"},
		}},
		// HTTP/1.1 "Upgrade: h2c" to x/net's h2c handler: stream 1 is the
		// HTTP/1 request, stream 3 posts the card after the switch.
		{file: "h2c-upgrade.pcap", app: "http", name: "upgrade.example", version: "2", streams: 2,
			want: []finding{{"credit_card", "out", "1111"}}},
		// coder/websocket with permessage-deflate (context takeover): cards
		// in the client's masked, compressed messages.
		{file: "ws-deflate-context-takeover.pcap", app: "websocket", want: []finding{{"credit_card", "out", "1111"}}},
		// RFC 8441 extended CONNECT over h2c, masked deflated client frames.
		{file: "ws-h2.pcap", app: "websocket", name: "chat.example.com", version: "2", streams: 1,
			want: []finding{{"credit_card", "out", "1111"}}},
		// grpc-go with gzip: the card nested in a protobuf Struct.
		{file: "grpc-gzip.pcap", app: "http", name: "vault.internal.example", version: "2", streams: 4,
			grpc: &record.GRPC{Service: "tapdlp.test.Vault", Method: "Store"},
			want: []finding{{"credit_card", "out", "1111"}}},
		// Server-sent events (three responses on one h2c connection): the
		// card in an event's data, server to client.
		{file: "sse.pcap", app: "http", version: "2", streams: 3, want: []finding{{"credit_card", "in", "1111"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			lines := replayRecords(t, "", 1, filepath.Join("..", "testdata", "appproto", tc.file))
			var flows []record.Flow
			for _, l := range lines {
				var r record.Flow
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatal(err)
				}
				if r.Type == "flow" {
					flows = append(flows, r)
				}
			}
			if len(flows) != 1 {
				t.Fatalf("%d flow records:\n%v", len(flows), lines)
			}
			r := flows[0]
			t.Log(lines[0])
			if r.App != tc.app {
				t.Errorf("app %q, want %q", r.App, tc.app)
			}
			if tc.name != "" && (r.Dst.Name != tc.name || r.Dst.NameSource != "http") {
				t.Errorf("dst %q from %q, want %q from http", r.Dst.Name, r.Dst.NameSource, tc.name)
			}
			if r.HTTP == nil || r.HTTP.Version != tc.version {
				t.Errorf("http %+v, want version %q", r.HTTP, tc.version)
			} else if tc.streams > 0 && r.HTTP.Streams != tc.streams {
				t.Errorf("http.streams %d, want %d", r.HTTP.Streams, tc.streams)
			}
			if (tc.grpc == nil) != (r.GRPC == nil) || (tc.grpc != nil && *tc.grpc != *r.GRPC) {
				t.Errorf("grpc %+v, want %+v", r.GRPC, tc.grpc)
			}
			if r.Inspected == nil || r.Inspected.Encrypted {
				t.Errorf("inspected %+v: want inspected, not encrypted", r.Inspected)
			}
		next:
			for _, w := range tc.want {
				for _, f := range r.Sensitive {
					if f.Type != w.typ || f.Direction != w.dir {
						continue
					}
					if w.evidence == "" {
						continue next
					}
					for _, e := range f.Evidence {
						if len(e) >= 4 && e[len(e)-4:] == w.evidence {
							continue next
						}
					}
				}
				t.Errorf("no %s finding %s ending %q in %+v", w.typ, w.dir, w.evidence, r.Sensitive)
			}
		})
	}
}

// The HTTP/2, WebSocket, gRPC and SSE parsers count into the pipeline's
// shared ParserStats, which /metrics exposes.
func TestParserStatsCounted(t *testing.T) {
	cfg, err := parseTestConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 2
	var buf bytes.Buffer
	sink := record.NewWriterSink(&buf)
	p, err := New(cfg, Options{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"h2c.pcap", "ws-deflate-context-takeover.pcap", "grpc-gzip.pcap", "sse.pcap"}
	for i, f := range files {
		files[i] = filepath.Join("..", "testdata", "appproto", f)
	}
	if _, err := p.Replay(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	_ = sink.Close()
	ps := p.ParserStats()
	for name, n := range map[string]uint64{
		"http2 streams": ps.HTTP2.Streams.Load(), "http2 frames": ps.HTTP2.Frames.Load(),
		"websocket messages": ps.WebSocket.Messages.Load(), "grpc messages": ps.GRPC.Messages.Load(),
		"sse events": ps.SSE.Events.Load(),
	} {
		if n == 0 {
			t.Errorf("%s: 0, want counted", name)
		}
	}
}
