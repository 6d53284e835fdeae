package scenarios

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/zstd"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// InspectCase is one flow of inspect.pcap: the client port that identifies
// it, the decoding path its value travels through, and what must be found.
type InspectCase struct {
	Port     uint16
	Path     string
	Type     string // the sensitive type to find
	Dir      string // out or in
	Evidence string // the masked evidence expected
	Value    string // the raw value planted (leak tests look for it)
}

// visa returns a Luhn-valid 16-digit Visa number ending in a chosen check.
func visa(i int) string {
	d := []byte(fmt.Sprintf("4%014d", 530000000000+int64(i)*7919))
	sum := 0
	for k := 0; k < 15; k++ {
		v := int(d[14-k] - '0')
		if k%2 == 0 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return string(d) + string(rune('0'+(10-sum%10)%10))
}

func cardEvidence(c string) string { return strings.Repeat("*", len(c)-4) + c[len(c)-4:] }

// InspectCases lists the flows of inspect.pcap.
func InspectCases() []InspectCase {
	var cs []InspectCase
	add := func(path, typ, dir, evidence, value string) {
		cs = append(cs, InspectCase{Port: uint16(42000 + len(cs)), Path: path, Type: typ, Dir: dir, Evidence: evidence, Value: value})
	}
	for i, p := range []string{"plain", "json-escaped", "form", "gzip", "deflate", "zstd", "br", "chunked",
		"multipart", "query", "smtp", "split-segments", "out-of-order", "base64", "response-body"} {
		c := visa(i)
		dir := "out"
		if p == "response-body" {
			dir = "in"
		}
		add(p, "credit_card", dir, cardEvidence(c), c)
	}
	key := "sk-proj-" + pseudoRandom(48)
	add("authorization-header", "openai_api_key", "out", "sk-p****", key)
	return cs
}

// pseudoRandom is a deterministic mixed-case alphanumeric string.
func pseudoRandom(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}

// Inspect builds inspect.pcap: every decoding path content inspection must
// see through, one flow each (see InspectCases).
func Inspect() ([]byte, error) {
	c := newCapture(layers.LinkTypeEthernet)
	for _, k := range InspectCases() {
		client := fmt.Sprintf("10.7.0.5:%d", k.Port)
		server := "198.51.100.77:80"
		host := "ingest.unknown-saas.example"
		v := k.Value
		jsonBody := []byte(`{"customer":"Jane","card":"` + v + `","note":"x"}`)
		req := func(headers []string, body []byte) []byte {
			return HTTPRequest("POST", "/v1/records", host, headers, body)
		}
		ok := HTTPResponse(200, "application/json", []byte(`{"ok":true}`))
		switch k.Path {
		case "plain":
			c.conversation(client, server, 1, req([]string{"Content-Type: text/plain"}, []byte("pay with card "+v+" today")), ok)
		case "json-escaped":
			var esc strings.Builder
			for _, d := range v {
				fmt.Fprintf(&esc, `\u%04x`, d)
			}
			c.conversation(client, server, 2, req([]string{"Content-Type: application/json"}, []byte(`{"card":"`+esc.String()+`"}`)), ok)
		case "form":
			spaced := v[:4] + "+" + v[4:8] + "%20" + v[8:12] + "+" + v[12:]
			c.conversation(client, server, 3, req([]string{"Content-Type: application/x-www-form-urlencoded"}, []byte("name=Jane&cc="+spaced+"&exp=12%2F29")), ok)
		case "gzip":
			c.conversation(client, server, 4, req([]string{"Content-Type: application/json", "Content-Encoding: gzip"}, Gzip(jsonBody)), ok)
		case "deflate":
			var b bytes.Buffer
			w := zlib.NewWriter(&b)
			w.Write(jsonBody)
			w.Close()
			c.conversation(client, server, 5, req([]string{"Content-Type: application/json", "Content-Encoding: deflate"}, b.Bytes()), ok)
		case "zstd":
			enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			z := enc.EncodeAll(jsonBody, nil)
			enc.Close()
			c.conversation(client, server, 6, req([]string{"Content-Type: application/json", "Content-Encoding: zstd"}, z), ok)
		case "br":
			var b bytes.Buffer
			w := brotli.NewWriter(&b)
			w.Write(jsonBody)
			w.Close()
			c.conversation(client, server, 7, req([]string{"Content-Type: application/json", "Content-Encoding: br"}, b.Bytes()), ok)
		case "chunked":
			c.conversation(client, server, 8, HTTPChunked("POST", "/v1/records", host, []string{"Content-Type: application/json"}, jsonBody, 5), ok)
		case "multipart":
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.SetBoundary("tapdlp-boundary-42")
			mw.WriteField("name", "Jane")
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="file"; filename="cards.csv"`)
			h.Set("Content-Type", "text/csv")
			pw, _ := mw.CreatePart(h)
			pw.Write([]byte("id,card\n1," + v + "\n"))
			mw.Close()
			c.conversation(client, server, 9, req([]string{"Content-Type: " + mw.FormDataContentType()}, b.Bytes()), ok)
		case "query":
			c.conversation(client, server, 10, HTTPRequest("GET", "/pay?cc="+v[:4]+"-"+v[4:8]+"-"+v[8:12]+"-"+v[12:]+"&amount=10", host, nil, nil), ok)
		case "smtp":
			c.conversation(client, "203.0.113.25:25", 11, nil, []byte("220 mx ESMTP\r\n"), []byte("EHLO ws\r\n"), []byte("250 ok\r\n"),
				[]byte("DATA\r\n"), []byte("354 go\r\n"), []byte("Subject: x\r\n\r\ncard "+v+" exp 01/30\r\n.\r\n"), []byte("250 queued\r\n"))
		case "split-segments", "out-of-order":
			conn := pcapgen.NewTCPConn(ap(client), ap(server), 12, 13)
			conn.MSS = 7
			c.segs(conn, conn.Handshake())
			segs := conn.Send(true, req([]string{"Content-Type: application/json"}, jsonBody))
			if k.Path == "out-of-order" {
				for i := 0; i+1 < len(segs); i += 2 {
					segs[i], segs[i+1] = segs[i+1], segs[i]
				}
			}
			c.segs(conn, segs)
			c.segs(conn, conn.Send(false, ok))
			c.segs(conn, conn.Close(true))
		case "base64":
			blob := base64.StdEncoding.EncodeToString([]byte("customer card number " + v + " expiry 12/29"))
			c.conversation(client, server, 14, req([]string{"Content-Type: application/json"}, []byte(`{"attachment":"`+blob+`"}`)), ok)
		case "response-body":
			c.conversation(client, server, 15, HTTPRequest("GET", "/account", host, nil, nil),
				HTTPResponse(200, "text/html", []byte("<p>Your card "+v+" was charged.</p>")))
		case "authorization-header":
			c.conversation(client, server, 16, HTTPRequest("GET", "/v1/models", "api.partner-llm.example", []string{"Authorization: Bearer " + v}, nil), ok)
		default:
			return nil, fmt.Errorf("no builder for path %q", k.Path)
		}
	}
	return c.bytes()
}
