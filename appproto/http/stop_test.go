package http

import (
	"bytes"
	"strings"
	"testing"
)

// manyHeaders is a request head with n short fields, as nginx and Go
// servers accept well beyond the parser's MaxHeaders.
func manyHeaders(n int) string {
	var sb strings.Builder
	sb.WriteString("POST /upload HTTP/1.1\r\nHost: x.example\r\n")
	for i := range n {
		sb.WriteString("X-" + itoa(i+1) + ": v\r\n")
	}
	sb.WriteString("Content-Length: 20\r\n\r\ncard=4111111111111111")
	return sb.String()
}

// TestStopLeavesUnparsed: whatever the Parser gives up on when it stops —
// an undelivered head (buffered across Feeds or not) and the rest of the
// Feed — is exactly what Held and Unread report, however the input was
// cut, so a caller can scan it raw.
func TestStopLeavesUnparsed(t *testing.T) {
	longLine := "GET / HTTP/1.1\r\nX-Long: " + strings.Repeat("a", 40<<10) + "\r\n\r\n"
	for _, tc := range []struct {
		name   string
		input  string
		from   int // offset of the first byte given up
		reason Reason
	}{
		{"129 headers", manyHeaders(129), 0, ReasonTooManyHeaders},
		{"header line too long", longLine, 0, ReasonHeaderTooLong},
		{"garbage after a request", "GET / HTTP/1.1\r\nHost: a\r\n\r\n\x00\x01garbage 4111111111111111", len("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ReasonBadStartLine},
		{"bad content-length", "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\nssn=123-45-6789", len("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"), ReasonBadLength},
		{"bogus transfer-encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: frob\r\n\r\nssn=123-45-6789", len("POST / HTTP/1.1\r\nTransfer-Encoding: frob\r\n\r\n"), ReasonBadTransferCoding},
		{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nssn=123-45-6789", len("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), ReasonBadChunk},
		{"not http", "\x16garbage card 4111111111111111", 0, ReasonNotHTTP},
	} {
		for _, step := range []int{1, 7, 1460, 1 << 20} {
			r := &recorder{}
			p := NewParser(Request, Config{}, &Pairing{}, r)
			in := []byte(tc.input)
			var gave []byte
			for off := 0; off < len(in); off += step {
				end := min(len(in), off+step)
				wasStopped := p.Stopped()
				p.Feed(in[off:end])
				switch {
				case wasStopped:
					gave = append(gave, in[off:end]...)
				case p.Stopped():
					gave = append(gave, p.Held()...)
					gave = append(gave, in[end-p.Unread():end]...)
				}
			}
			if !p.Stopped() {
				t.Fatalf("%s/%d: not stopped:\n%s", tc.name, step, r)
			}
			if want := in[tc.from:]; !bytes.Equal(gave, want) {
				t.Errorf("%s/%d: gave up %d bytes %.40q, want %d %.40q", tc.name, step, len(gave), gave, len(want), want)
			}
			if !strings.Contains(r.String(), "stop request "+tc.reason.String()) {
				t.Errorf("%s/%d: want stop %s:\n%s", tc.name, step, tc.reason, r)
			}
		}
	}
}
