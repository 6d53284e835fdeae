package pipeline

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/record"
)

const truncCard = "4111 1111 1111 1111"

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

// upload is a browser's multipart/form-data body (boundary XyZ) with a
// text field and one file part.
func upload(file []byte, ctype string) []byte {
	var b bytes.Buffer
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export\"\r\nContent-Type: " + ctype + "\r\n\r\n")
	b.Write(file)
	b.WriteString("\r\n--XyZ--\r\n")
	return b.Bytes()
}

// post is an HTTP/1.1 request with extra head lines and a body.
func post(head string, body []byte) []byte {
	return append([]byte("POST /upload HTTP/1.1\r\nHost: files.example\r\n"+head+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
}

// exchange is a whole TCP connection carrying req from the client and
// resp from the server, as 1448-byte segments.
func exchange(req, resp []byte) [][]byte {
	c := pcapgen.NewTCPConn(ap("10.9.0.5:41000"), ap("192.0.2.99:80"), 1000, 9000)
	pk := c.Packets(c.Handshake())
	pk = append(pk, c.Packets(c.Send(true, req))...)
	if len(resp) > 0 {
		pk = append(pk, c.Packets(c.Send(false, resp))...)
	}
	return append(pk, c.Packets(c.Close(true))...)
}

// replayInspect replays pkts and returns the TCP flow record and the
// pipeline's inspection counters.
func replayInspect(t *testing.T, cfgYAML string, pkts [][]byte) (record.Flow, []TruncationCount) {
	t.Helper()
	cfg, err := parseTestConfig(cfgYAML)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 1
	var buf bytes.Buffer
	sink := record.NewWriterSink(&buf)
	p, err := New(cfg, Options{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), []string{writeCapture(t, pkts)}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	var flows []record.Flow
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var f record.Flow
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type == "flow" && f.Proto == "tcp" {
			flows = append(flows, f)
		}
	}
	if len(flows) != 1 {
		t.Fatalf("%d TCP flow records, want 1:\n%s", len(flows), buf.String())
	}
	return flows[0], p.InspectionStats().Truncations()
}

func hasType(f record.Flow, typ string) bool {
	for _, s := range f.Sensitive {
		if s.Type == typ {
			return true
		}
	}
	return false
}

// TestInspectionNeverStopsSilently replays generated HTTP traffic in which
// inspection stops early or cannot decode (issue 11 item 5): the value must
// still be found wherever the receiving host could read it, and the record
// must say why inspection was cut short, with a counter per reason.
func TestInspectionNeverStopsSilently(t *testing.T) {
	csv := []byte("name,card\nalice," + truncCard + "\n")
	padding := bytes.Repeat([]byte("A"), 80<<10) // ~80 KB that compresses ~1000:1
	many := new(strings.Builder)
	for i := range 129 {
		many.WriteString("X-H" + strconv.Itoa(i) + ": v\r\n")
	}
	tests := []struct {
		name    string
		cfg     string
		pkts    func(t *testing.T) [][]byte
		found   string   // a type that must be found ("" none required)
		reasons []string // exactly these truncation reasons
	}{
		{
			name: "gzip body with 80 KB of padding before the card",
			pkts: func(t *testing.T) [][]byte {
				body := gz(t, append(append(padding, "\ncard="...), truncCard...))
				return exchange(post("Content-Encoding: gzip\r\n", body), nil)
			},
			found: "credit_card",
		},
		{
			name: "gzip bomb: zeros (1 GiB with TAPDLP_SLOW=1)",
			pkts: func(t *testing.T) [][]byte {
				n := 32 << 20
				if os.Getenv("TAPDLP_SLOW") != "" {
					n = 1 << 30
				}
				bomb := gz(t, make([]byte, n))
				resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "+strconv.Itoa(len(bomb))+"\r\n\r\n"), bomb...)
				return exchange([]byte("GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n"), resp)
			},
			reasons: []string{"inspect_bytes", "decompression_bomb"},
		},
		{
			name: "129 short headers, which servers accept",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post(many.String(), []byte("card="+truncCard)), nil)
			},
			found: "credit_card", reasons: []string{"parser_stopped"},
		},
		{
			name: "header line beyond the head limit",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("X-Long: "+strings.Repeat("b", 40<<10)+"\r\n", []byte("card="+truncCard)), nil)
			},
			found: "credit_card", reasons: []string{"parser_stopped"},
		},
		{
			name: "garbage after a valid request",
			pkts: func(t *testing.T) [][]byte {
				return exchange([]byte("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n\x00\x01 ssn 123-45-6789 card "+truncCard+"\n"), nil)
			},
			found: "credit_card", reasons: []string{"parser_stopped"},
		},
		{
			name: "request transfer-encoding that is not chunked",
			pkts: func(t *testing.T) [][]byte {
				return exchange([]byte("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: frob\r\n\r\ncard="+truncCard+"\n"), nil)
			},
			found: "credit_card", reasons: []string{"undecodable_coding", "parser_stopped"},
		},
		{
			name: "plaintext labelled gzip",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Encoding: gzip\r\n", []byte("card="+truncCard)), nil)
			},
			found: "credit_card", reasons: []string{"decode_error"},
		},
		{
			name: "plaintext labelled br",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Encoding: br\r\n", []byte("card="+truncCard+"&note=hello there")), nil)
			},
			found: "credit_card", reasons: []string{"decode_error"},
		},
		{
			name: "unknown content coding",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Encoding: x-bogus\r\n", []byte("card="+truncCard)), nil)
			},
			found: "credit_card", reasons: []string{"undecodable_coding"},
		},
		{
			name: "codings stacked deeper than the decoder undoes",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Encoding: gzip, gzip, gzip\r\n", []byte("card="+truncCard)), nil)
			},
			found: "credit_card", reasons: []string{"nesting_depth"},
		},
		{
			name: "a .gz upload of a CSV as application/gzip",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: application/gzip\r\n", gz(t, csv)), nil)
			},
			found: "credit_card",
		},
		{
			name: "a .zst file as application/octet-stream",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: application/octet-stream\r\n", zst(t, csv)), nil)
			},
			found: "credit_card",
		},
		{
			name: "a .zip upload as application/zip",
			pkts: func(t *testing.T) [][]byte {
				var buf bytes.Buffer
				w := zip.NewWriter(&buf)
				f, _ := w.Create("export/cards.csv")
				f.Write(csv)
				w.Close()
				return exchange(post("Content-Type: application/zip\r\n", buf.Bytes()), nil)
			},
			found: "credit_card",
		},
		{
			name: "bare base64 of a card in a JSON body",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: application/json\r\n", []byte(`{"v":"NDExMTExMTExMTExMTExMQ=="}`)), nil)
			},
			found: "credit_card",
		},
		{
			name: "a .gz file in a multipart/form-data upload",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: multipart/form-data; boundary=XyZ\r\n", upload(gz(t, csv), "application/gzip")), nil)
			},
			found: "credit_card",
		},
		{
			name: "a .zip file in a multipart/form-data upload",
			pkts: func(t *testing.T) [][]byte {
				var buf bytes.Buffer
				w := zip.NewWriter(&buf)
				f, _ := w.Create("export/cards.csv")
				f.Write(csv)
				w.Close()
				return exchange(post("Content-Type: multipart/form-data; boundary=XyZ\r\n", upload(buf.Bytes(), "application/zip")), nil)
			},
			found: "credit_card",
		},
		{
			name: "a .zst file in a multipart/form-data upload, card behind 80 KB of padding",
			pkts: func(t *testing.T) [][]byte {
				body := upload(zst(t, append(append(padding, "\ncard="...), truncCard...)), "application/octet-stream")
				return exchange(post("Content-Type: multipart/form-data; boundary=XyZ\r\n", body), nil)
			},
			found: "credit_card",
		},
		{
			name: "a gzip bomb in a multipart/form-data upload",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: multipart/form-data; boundary=XyZ\r\n", upload(gz(t, make([]byte, 16<<20)), "application/gzip")), nil)
			},
			reasons: []string{"inspect_bytes", "decompression_bomb"},
		},
		{
			name: "a corrupt .gz file in a multipart/form-data upload",
			pkts: func(t *testing.T) [][]byte {
				file := append([]byte{0x1f, 0x8b, 8, 0, 0xff, 0xff, 0xff, 0xff, 0xff}, "card="+truncCard+"\n"...)
				return exchange(post("Content-Type: multipart/form-data; boundary=XyZ\r\n", upload(file, "application/gzip")), nil)
			},
			found: "credit_card", reasons: []string{"decode_error"},
		},
		{
			name: "unpadded base64 of a card in a JSON body",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: application/json\r\n", []byte(`{"v":"NDExMTExMTExMTExMTExMQ"}`)), nil)
			},
			found: "credit_card",
		},
		{
			name: "unpadded base64 of a bare SSN in a query parameter",
			pkts: func(t *testing.T) [][]byte {
				return exchange([]byte("GET /lookup?id=7&ssn=NTM2MjIxMjM0&lang=en HTTP/1.1\r\nHost: a.example\r\n\r\n"), nil)
			},
			found: "us_ssn",
		},
		{
			name: "URL-encoded digits in a text/plain form body",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("Content-Type: text/plain\r\n", []byte("a=1&pan=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31&b=2")), nil)
			},
			found: "credit_card",
		},
		{
			name: "a flow left out by sampling",
			cfg:  "inspection:\n  sample_one_in: 1000000\n  always_inspect: []\n",
			pkts: func(t *testing.T) [][]byte {
				return exchange(post("", []byte("card="+truncCard)), nil)
			},
			reasons: []string{"sampling"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts := tc.pkts(t) // building the capture (compressing a GiB) is not the replay's time
			start := time.Now()
			f, counts := replayInspect(t, tc.cfg, pkts)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("replay took %v", d)
			}
			if tc.found != "" && !hasType(f, tc.found) {
				t.Errorf("%s not found: sensitive %+v inspected %+v", tc.found, f.Sensitive, f.Inspected)
			}
			in := f.Inspected
			var got []string
			if in != nil {
				got = in.TruncatedReasons
				if in.Truncated != (len(got) > 0) {
					t.Errorf("truncated %v with reasons %v", in.Truncated, got)
				}
			}
			if !slices.Equal(got, tc.reasons) {
				t.Errorf("truncated_reasons %v, want %v (inspected %+v)", got, tc.reasons, in)
			}
			if tc.found != "" && (in == nil || in.Out == 0) {
				t.Errorf("nothing inspected: %+v", in)
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
			if len(counts) != int(demux.NumTruncations)-1 {
				t.Errorf("%d counters", len(counts))
			}
		})
	}
}
