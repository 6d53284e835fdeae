package classify

import "github.com/tapdlp/tapdlp/internal/bodydec"

// Multipart decoder phases.
const (
	mpSniff      uint8 = iota // boundary unknown: read the first line
	mpPlain                   // not multipart after all: pass through
	mpPreamble                // before the first delimiter
	mpAfterDelim              // rest of a delimiter line ("--" ends the body)
	mpHeaders                 // part headers, scanned as text
	mpBody                    // part body, decoded by its Content-Type
	mpEpilogue                // after the close delimiter
)

// Part body encodings.
const (
	partPlain uint8 = iota
	partJSON
	partForm
	partB64
)

// mpDec streams multipart/form-data: part headers are emitted as text (they
// carry field names, useful context), part bodies through the decoder their
// Content-Type or Content-Transfer-Encoding asks for, and a newline between
// parts so values of different parts never join. The delimiter is matched
// byte by byte, so it may straddle any number of calls.
type mpDec struct {
	delim [4 + maxBoundary]byte // "\r\n--" boundary
	dlen  int
	k     int // delimiter bytes matched so far (held back, not emitted)
	phase uint8
	after uint8
	dash  bool
	line  [256]byte
	ll    int
	part  uint8
	url   urlDec
	js    jsonDec
	b64   b64Dec

	// A plain part's first bytes decide whether it is a .gz, .zst or .zip
	// file (bodydec.Sniff), opened as the HTTP parser opens such a body,
	// under the decoding budget.
	sniff   bool
	magic   [bodydec.SniffLen]byte
	nmagic  int
	arch    bodydec.Decoder
	archOut []byte // the output being built while the decoder runs
	held    []byte // the file's first bytes, up to maxHeld, scanned raw if it fails
	raw     bool   // the file failed to decode: the rest of the part is raw
	decoded int64  // bytes the current part decoded to
	budget  int64  // decoded bytes one part may deliver (inspect_bytes)
	trunc   DecodeTrunc
}

// DecodeTrunc is why decoding inside a Stream's content stopped early or
// fell back to raw bytes (an archive in a multipart part); bits.
type DecodeTrunc uint8

// Decoding truncations.
const (
	// DecodeBudget: a part decoded to more than the budget
	// (inspect_bytes); the rest was not decoded.
	DecodeBudget DecodeTrunc = 1 << iota
	// DecodeBomb: as DecodeBudget, at a ratio no real content has.
	DecodeBomb
	// DecodeError: the file was corrupt or cut; the rest of the part was
	// scanned raw.
	DecodeError
)

// maxHeld bounds the start of a file part kept to be scanned raw when it
// turns out corrupt (a file labelled gzip that is not, a cut archive).
const maxHeld = 16 << 10

// defaultPartBudget bounds a part's decoded bytes when inspection has no
// cap; partBombRatio names a part cut at the budget a bomb.
const (
	defaultPartBudget = 1 << 20
	partBombRatio     = 100
)

// DecodeTruncations reports why decoding inside the Stream's content
// stopped early, since the last Reset.
func (st *Stream) DecodeTruncations() DecodeTrunc {
	if st.mp == nil {
		return 0
	}
	return st.mp.trunc
}

// stop ends a file part's decoding because the Stream reached its
// inspect_bytes cap: a decoder still producing was cut by the budget (a
// bomb at a ratio no real content has). Its coroutine is freed now.
func (d *mpDec) stop() {
	if d.arch.Active() && !d.arch.Failed() && !d.arch.Ended() {
		d.trunc |= DecodeBudget
		if d.decoded > partBombRatio*max(d.arch.CompressedIn(), 1) {
			d.trunc |= DecodeBomb
		}
	}
	d.arch.End()
}

// release ends a decoder in progress (it holds a coroutine and pooled
// state) and forgets the truncations: the Stream is reused.
func (d *mpDec) release() {
	d.arch.End()
	d.trunc = 0
}

func (d *mpDec) init(boundary []byte, budget int64) {
	d.arch.End()
	trunc, out, held := d.trunc, d.archOut[:0], d.held[:0]
	*d = mpDec{trunc: trunc, archOut: out, held: held, budget: budget}
	if d.budget < 0 {
		d.budget = defaultPartBudget
	}
	if len(boundary) == 0 {
		d.phase = mpSniff
		return
	}
	d.setDelim(boundary)
}

func (d *mpDec) setDelim(boundary []byte) {
	copy(d.delim[:], "\r\n--")
	d.dlen = 4 + copy(d.delim[4:], boundary)
	d.phase = mpPreamble
	d.k = 2 // the body may start with the delimiter, without a line break
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (d *mpDec) decode(dst, src []byte) []byte {
	for k := 0; k < len(src); k++ {
		c := src[k]
		switch d.phase {
		case mpSniff:
			d.line[d.ll] = c
			d.ll++
			if c != '\n' && d.ll < len(d.line) {
				continue
			}
			l := trimEOL(d.line[:d.ll])
			dst = append(dst, d.line[:d.ll]...)
			d.ll = 0
			if c == '\n' && len(l) > 2 && len(l) <= 2+maxBoundary && l[0] == '-' && l[1] == '-' {
				d.setDelim(l[2:])
				d.phase = mpHeaders
				d.part = partPlain
			} else {
				d.phase = mpPlain
			}
		case mpPlain, mpEpilogue:
			return append(dst, src[k:]...)
		case mpPreamble, mpBody:
			if c == d.delim[d.k] {
				d.k++
				if d.k == d.dlen {
					d.k = 0
					dst = d.endPart(dst)
					d.phase, d.after, d.dash = mpAfterDelim, 0, false
				}
				continue
			}
			if d.k > 0 {
				dst = d.body(dst, d.delim[:d.k])
				d.k = 0
				if c == d.delim[0] {
					d.k = 1
					continue
				}
			}
			e := k
			for e < len(src) && src[e] != '\r' {
				e++
			}
			dst = d.body(dst, src[k:e])
			k = e - 1
		case mpAfterDelim:
			d.after++
			switch {
			case d.after == 1 && c == '-':
				d.dash = true
			case d.after == 2 && d.dash && c == '-':
				d.phase = mpEpilogue
				dst = append(dst, '\n')
			case c == '\n':
				d.phase, d.ll, d.part = mpHeaders, 0, partPlain
				dst = append(dst, '\n')
			}
		case mpHeaders:
			dst = append(dst, c)
			if c != '\n' {
				if d.ll < len(d.line) {
					d.line[d.ll] = c
					d.ll++
				}
				continue
			}
			l := trimEOL(d.line[:d.ll])
			d.ll = 0
			if len(l) == 0 {
				d.phase, d.k = mpBody, 0
				d.sniff, d.nmagic, d.decoded, d.raw = d.part == partPlain, 0, 0, false
				d.held = d.held[:0]
			} else {
				d.header(l)
			}
		}
	}
	return dst
}

func (d *mpDec) header(l []byte) {
	switch {
	case hasFoldPrefix(l, "content-type:"):
		v := l[len("content-type:"):]
		switch {
		case containsFold(v, "x-www-form-urlencoded"):
			d.part = partForm
		case containsFold(v, "json"):
			d.part = partJSON
		}
	case hasFoldPrefix(l, "content-transfer-encoding:"):
		if containsFold(l[len("content-transfer-encoding:"):], "base64") {
			d.part = partB64
		}
	}
}

// containsFold reports whether b contains the lower-case literal p, ignoring
// ASCII case in b.
func containsFold(b []byte, p string) bool {
	for k := 0; k+len(p) <= len(b); k++ {
		if hasFoldPrefix(b[k:], p) {
			return true
		}
	}
	return false
}

func (d *mpDec) body(dst, b []byte) []byte {
	if d.phase == mpPreamble {
		return append(dst, b...)
	}
	switch d.part {
	case partJSON:
		return d.js.decode(dst, b)
	case partForm:
		return d.url.decode(dst, b, true)
	case partB64:
		return d.b64.decode(dst, b)
	}
	if d.sniff {
		n := copy(d.magic[d.nmagic:], b)
		d.nmagic += n
		b = b[n:]
		if d.nmagic < len(d.magic) {
			return dst
		}
		d.sniff = false
		if c := bodydec.Sniff(d.magic[:]); c != bodydec.CodingNone {
			d.arch.Begin([]bodydec.Coding{c})
			dst = d.push(dst, d.magic[:])
		} else {
			dst = append(dst, d.magic[:]...)
		}
	}
	if d.arch.Active() && !d.raw {
		return d.push(dst, b)
	}
	return append(dst, b...)
}

// push feeds a file part's bytes to its decoder. When the decoder fails,
// it is ended and the rest of the part (from the chunk it failed on) is
// scanned raw; when the budget stops it, the rest is skipped.
func (d *mpDec) push(dst, b []byte) []byte {
	if d.arch.Failed() {
		return dst
	}
	if d.arch.CompressedIn()+int64(len(b)) <= maxHeld+bodydec.SniffLen {
		d.held = append(d.held, b...)
	} else {
		d.held = d.held[:0] // too long to replay: a failure scans from its chunk on
	}
	d.archOut = dst
	err := d.arch.Push(b, d)
	dst, d.archOut = d.archOut, nil
	if err != nil {
		return d.fallback(dst, b)
	}
	return dst
}

// fallback: the file part failed to decode. The rest of it is scanned
// raw, and its start too when it was held (a file that was not coded at
// all is then scanned whole, however it was cut).
func (d *mpDec) fallback(dst, b []byte) []byte {
	d.trunc |= DecodeError
	d.raw = true
	if len(d.held) > 0 {
		dst = append(dst, '\n')
		dst = append(dst, d.held...)
		d.held = d.held[:0]
		return dst
	}
	return append(dst, b...)
}

// Decoded receives a file part's decoded bytes under the budget
// (bodydec.Sink). Only the budget stops decoding; the ratio names a part
// cut there a bomb.
func (d *mpDec) Decoded(b []byte) bool {
	room := d.budget - d.decoded
	if int64(len(b)) <= room {
		d.decoded += int64(len(b))
		d.archOut = append(d.archOut, b...)
		return true
	}
	d.archOut = append(d.archOut, b[:max(room, 0)]...)
	d.decoded = d.budget
	d.trunc |= DecodeBudget
	if d.decoded > partBombRatio*max(d.arch.CompressedIn(), 1) {
		d.trunc |= DecodeBomb
	}
	return false
}

func (d *mpDec) endPart(dst []byte) []byte {
	if d.sniff && d.nmagic > 0 {
		dst = append(dst, d.magic[:d.nmagic]...) // too short to be a file
	}
	d.sniff, d.nmagic = false, 0
	if d.arch.Active() {
		if !d.arch.Failed() && !d.raw {
			d.archOut = dst
			err := d.arch.Finish(d)
			dst, d.archOut = d.archOut, nil
			if err != nil {
				dst = d.fallback(dst, nil)
			}
		}
		d.arch.End()
		d.raw = false
		d.held = d.held[:0]
		dst = append(dst, '\n')
	}
	switch d.part {
	case partJSON:
		dst = d.js.flush(dst)
	case partForm:
		dst = d.url.flush(dst)
	case partB64:
		d.b64 = b64Dec{}
	}
	d.part = partPlain
	return dst
}

// flush emits whatever is held at the end of the body.
func (d *mpDec) flush(dst []byte) []byte {
	switch d.phase {
	case mpSniff:
		dst = append(dst, d.line[:d.ll]...)
	case mpPreamble, mpBody:
		dst = d.body(dst, d.delim[:d.k])
		dst = d.endPart(dst)
	}
	d.ll, d.k = 0, 0
	return dst
}
