package pipeline

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// wsClientFrame is one masked client data frame; rsv1 marks it
// permessage-deflate compressed.
func wsClientFrame(rsv1 bool, payload []byte) []byte {
	b0 := byte(0x81) // FIN, text
	if rsv1 {
		b0 |= 0x40
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i&3])
	}
	return out
}

// deflateMsg compresses one permessage-deflate message (RFC 7692 §7.2.1).
func deflateMsg(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// wsExchange is an HTTP/1.1 WebSocket upgrade with permessage-deflate
// (context takeover) followed by the client's messages.
func wsExchange(msgs ...[]byte) [][]byte {
	req := []byte("GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
	c := newTestConn()
	pk := c.Packets(c.Handshake())
	pk = append(pk, c.Packets(c.Send(true, req))...)
	pk = append(pk, c.Packets(c.Send(false, resp))...)
	for _, m := range msgs {
		pk = append(pk, c.Packets(c.Send(true, m))...)
	}
	return append(pk, c.Packets(c.Close(true))...)
}

// newTestConn is a client-to-server TCP connection on port 80.
func newTestConn() *pcapgen.TCPConn {
	return pcapgen.NewTCPConn(ap("10.9.0.5:41000"), ap("192.0.2.99:80"), 1000, 9000)
}

// grpcExchange is an h2c (prior knowledge) gRPC call whose request carries
// one length-prefixed message with the compressed flag set as given, under
// grpc-encoding encoding (none when empty).
func grpcExchange(t *testing.T, compressed bool, encoding string, msg []byte) [][]byte {
	t.Helper()
	var cb bytes.Buffer
	cb.WriteString(http2.ClientPreface)
	cf := http2.NewFramer(&cb, nil)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cf.WriteSettings())
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := []string{":method", "POST", ":scheme", "http", ":authority", "grpc.example", ":path", "/pay.Cards/Store",
		"content-type", "application/grpc", "te", "trailers"}
	if encoding != "" {
		fields = append(fields, "grpc-encoding", encoding)
	}
	for i := 0; i < len(fields); i += 2 {
		must(enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]}))
	}
	must(cf.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true}))
	body := []byte{0, 0, 0, 0, 0}
	if compressed {
		body[0] = 1
	}
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	body = append(body, msg...)
	for len(body) > 0 {
		n := min(len(body), 16384)
		must(cf.WriteData(1, n == len(body), body[:n]))
		body = body[n:]
	}
	c := newTestConn()
	pk := c.Packets(c.Handshake())
	pk = append(pk, c.Packets(c.Send(true, cb.Bytes()))...)
	return append(pk, c.Packets(c.Close(true))...)
}

// TestWebSocketGRPCDecodeBudget: WebSocket permessage-deflate and gRPC
// grpc-encoding gzip are budgeted by decoded bytes (inspect_bytes) like
// HTTP bodies, not stopped on compression ratio, and say why and where
// they stopped (issue 11 item 5).
func TestWebSocketGRPCDecodeBudget(t *testing.T) {
	padded := append(bytes.Repeat([]byte("A"), 80<<10), "\ncard="+truncCard+"\n"...)
	zeros := make([]byte, 16<<20)
	tests := []struct {
		name    string
		pkts    func(t *testing.T) [][]byte
		found   bool
		reasons []string
	}{
		{"websocket: card behind 80 KB of padding", func(t *testing.T) [][]byte {
			return wsExchange(wsClientFrame(true, deflateMsg(t, padded)))
		}, true, nil},
		{"websocket: bomb, then a message the lost context cannot decode", func(t *testing.T) [][]byte {
			return wsExchange(wsClientFrame(true, deflateMsg(t, zeros)), wsClientFrame(true, deflateMsg(t, []byte("card="+truncCard))))
		}, false, []string{"inspect_bytes", "decompression_bomb", "undecodable_coding"}},
		{"websocket: corrupt deflate data", func(t *testing.T) [][]byte {
			return wsExchange(wsClientFrame(true, []byte{0xff, 0xfe, 0xfd, 0xfc}))
		}, false, []string{"decode_error"}},
		{"websocket: reserved opcode stops the parser", func(t *testing.T) [][]byte {
			f := wsClientFrame(false, []byte("x"))
			f[0] = 0x83
			return wsExchange(f)
		}, false, []string{"parser_stopped"}},
		{"grpc gzip: card behind 80 KB of padding", func(t *testing.T) [][]byte {
			return grpcExchange(t, true, "gzip", gz(t, padded))
		}, true, nil},
		{"grpc gzip: bomb", func(t *testing.T) [][]byte {
			return grpcExchange(t, true, "gzip", gz(t, zeros))
		}, false, []string{"inspect_bytes", "decompression_bomb"}},
		{"grpc gzip: corrupt message", func(t *testing.T) [][]byte {
			return grpcExchange(t, true, "gzip", []byte("card="+truncCard))
		}, false, []string{"decode_error"}},
		{"grpc: compressed flag without grpc-encoding", func(t *testing.T) [][]byte {
			return grpcExchange(t, true, "", gz(t, padded))
		}, false, []string{"undecodable_coding"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk := tc.pkts(t)
			f, counts := replayInspect(t, "", pk)
			if hasType(f, "credit_card") != tc.found {
				t.Errorf("card found %v, want %v: sensitive %+v inspected %+v", !tc.found, tc.found, f.Sensitive, f.Inspected)
			}
			var got []string
			if in := f.Inspected; in != nil {
				got = in.TruncatedReasons
			}
			if !slices.Equal(got, tc.reasons) {
				t.Errorf("truncated_reasons %v, want %v (inspected %+v)", got, tc.reasons, f.Inspected)
			}
			for _, c := range counts {
				want := uint64(0)
				if slices.Contains(tc.reasons, c.Reason) {
					want = 1
				}
				if c.Count != want {
					t.Errorf("counter %s = %d, want %d", c.Reason, c.Count, want)
				}
			}
		})
	}
}
