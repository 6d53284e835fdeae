package tlsdecrypt

import (
	"bytes"
	"errors"
)

// Label is the kind of secret on one NSS key log line.
type Label uint8

// Labels of the NSS key log format
// (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/).
const (
	LabelUnknown         Label = iota
	LabelClientRandom          // CLIENT_RANDOM: TLS 1.2 master secret (48 bytes)
	LabelClientEarly           // CLIENT_EARLY_TRAFFIC_SECRET (0-RTT)
	LabelClientHandshake       // CLIENT_HANDSHAKE_TRAFFIC_SECRET
	LabelServerHandshake       // SERVER_HANDSHAKE_TRAFFIC_SECRET
	LabelClientTraffic0        // CLIENT_TRAFFIC_SECRET_0
	LabelServerTraffic0        // SERVER_TRAFFIC_SECRET_0
	LabelExporter              // EXPORTER_SECRET: tolerated, not used
	LabelEarlyExporter         // EARLY_EXPORTER_SECRET: tolerated, not used
	numLabels
)

var labelNames = [numLabels]string{
	LabelUnknown:         "",
	LabelClientRandom:    "CLIENT_RANDOM",
	LabelClientEarly:     "CLIENT_EARLY_TRAFFIC_SECRET",
	LabelClientHandshake: "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	LabelServerHandshake: "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	LabelClientTraffic0:  "CLIENT_TRAFFIC_SECRET_0",
	LabelServerTraffic0:  "SERVER_TRAFFIC_SECRET_0",
	LabelExporter:        "EXPORTER_SECRET",
	LabelEarlyExporter:   "EARLY_EXPORTER_SECRET",
}

// String returns the key log spelling of the label ("" for unknown).
func (l Label) String() string {
	if l < numLabels {
		return labelNames[l]
	}
	return ""
}

func parseLabel(b []byte) Label {
	for l := LabelClientRandom; l < numLabels; l++ {
		if string(b) == labelNames[l] {
			return l
		}
	}
	return LabelUnknown
}

// Limits of the key log reader.
const (
	// MaxLineBytes bounds one key log line. The longest valid line
	// (CLIENT_HANDSHAKE_TRAFFIC_SECRET, a 32-byte random, a 64-byte secret)
	// is under 300 bytes; longer lines are counted as bad and skipped.
	MaxLineBytes = 1024
	// MaxSecretLen is the longest secret kept (SHA-512-sized); TLS uses 32
	// or 48 bytes.
	MaxSecretLen = 64
	// DefaultMaxFileBytes bounds one key log file read whole (LoadFile).
	DefaultMaxFileBytes = 256 << 20
)

// Line is one parsed key log line. It holds key material: never log it.
type Line struct {
	Label        Label
	ClientRandom [32]byte
	Secret       [MaxSecretLen]byte
	SecretLen    uint8
}

// ParseStats counts what a key log parser saw. It never holds a line's
// text: key logs are secrets, and a bad line is only counted.
type ParseStats struct {
	Lines    uint64 // non-blank, non-comment lines
	Secrets  uint64 // lines with a label this package uses
	Ignored  uint64 // well-formed lines with a tolerated label (exporter secrets)
	Unknown  uint64 // well-formed lines with an unknown label (e.g. RSA)
	Bad      uint64 // malformed lines (wrong field count, bad hex, wrong length)
	TooLong  uint64 // lines longer than MaxLineBytes, skipped
	Comments uint64 // '#' lines
}

// Add adds o to s.
func (s *ParseStats) Add(o ParseStats) {
	s.Lines += o.Lines
	s.Secrets += o.Secrets
	s.Ignored += o.Ignored
	s.Unknown += o.Unknown
	s.Bad += o.Bad
	s.TooLong += o.TooLong
	s.Comments += o.Comments
}

// sub returns s - o, field by field (o is an earlier snapshot of s).
func (s ParseStats) sub(o ParseStats) ParseStats {
	return ParseStats{Lines: s.Lines - o.Lines, Secrets: s.Secrets - o.Secrets, Ignored: s.Ignored - o.Ignored,
		Unknown: s.Unknown - o.Unknown, Bad: s.Bad - o.Bad, TooLong: s.TooLong - o.TooLong, Comments: s.Comments - o.Comments}
}

// errBadLine is returned by ParseLine; it names no content.
var errBadLine = errors.New("tlsdecrypt: malformed key log line")

// ParseLine parses one key log line (without its newline; a trailing CR
// and surrounding blanks are tolerated). It returns ok=false with a nil
// error for comments and blank lines. The error never contains input text.
func ParseLine(b []byte, out *Line) (ok bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '#' {
		return false, nil
	}
	var f [3][]byte
	n := 0
	for len(b) > 0 {
		if n == 3 {
			return false, errBadLine
		}
		i := bytes.IndexAny(b, " \t")
		if i < 0 {
			f[n], b = b, nil
		} else {
			f[n], b = b[:i], bytes.TrimLeft(b[i:], " \t")
		}
		n++
	}
	if n != 3 {
		return false, errBadLine
	}
	out.Label = parseLabel(f[0])
	if len(f[1]) != 64 || !unhex(out.ClientRandom[:], f[1]) {
		return false, errBadLine
	}
	sl := len(f[2]) / 2
	if len(f[2])%2 != 0 || sl == 0 || sl > MaxSecretLen || !unhex(out.Secret[:sl], f[2]) {
		if out.Label == LabelUnknown {
			// Unknown lines (RSA premaster lines) have other shapes; only
			// the field count is checked for them.
			out.SecretLen = 0
			return true, nil
		}
		return false, errBadLine
	}
	out.SecretLen = uint8(sl)
	switch out.Label {
	case LabelClientRandom:
		if sl != 48 {
			return false, errBadLine
		}
	case LabelUnknown:
	default:
		if sl != 32 && sl != 48 && sl != 64 {
			return false, errBadLine
		}
	}
	return true, nil
}

func unhex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := hexVal(src[2*i])
		lo, ok2 := hexVal(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// LineParser turns key log text fed in arbitrary chunks (a file read in
// pieces, a followed file, a pcapng Decryption Secrets Block) into Lines.
// A partial last line is kept (at most MaxLineBytes) until its newline
// arrives. It is not safe for concurrent use.
type LineParser struct {
	// Emit receives each line with a label; the Line is reused after the
	// call returns.
	Emit  func(*Line)
	Stats ParseStats

	partial [MaxLineBytes]byte
	n       int
	tooLong bool // the current line overflowed and is being skipped
	line    Line
}

// Write consumes b; it never fails (it implements io.Writer).
func (p *LineParser) Write(b []byte) (int, error) {
	total := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
			b = b[i+1:]
		} else {
			b = nil
		}
		if !p.tooLong {
			if p.n+len(chunk) > len(p.partial) {
				p.tooLong = true
				p.n = 0
			} else {
				p.n += copy(p.partial[p.n:], chunk)
			}
		}
		if i >= 0 {
			p.endLine()
		}
	}
	return total, nil
}

// Flush ends a last line that has no newline (end of file).
func (p *LineParser) Flush() {
	if p.n > 0 || p.tooLong {
		p.endLine()
	}
}

func (p *LineParser) endLine() {
	if p.tooLong {
		p.Stats.Lines++
		p.Stats.TooLong++
		p.tooLong = false
		p.n = 0
		return
	}
	raw := p.partial[:p.n]
	p.n = 0
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return
	}
	if t[0] == '#' {
		p.Stats.Comments++
		return
	}
	p.Stats.Lines++
	ok, err := ParseLine(t, &p.line)
	clear(raw) // do not leave key material in the partial buffer
	switch {
	case err != nil:
		p.Stats.Bad++
	case !ok:
	case p.line.Label == LabelUnknown:
		p.Stats.Unknown++
	case p.line.Label == LabelExporter || p.line.Label == LabelEarlyExporter:
		p.Stats.Ignored++
	default:
		p.Stats.Secrets++
		if p.Emit != nil {
			p.Emit(&p.line)
		}
	}
	p.line = Line{}
}
