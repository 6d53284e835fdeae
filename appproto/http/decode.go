package http

import "github.com/tapdlp/tapdlp/internal/bodydec"

// decoder undoes a body's content and transfer codings with the decoder the
// app-layer parsers share (internal/bodydec: stages run as
// coroutines, decoders pooled), translating this package's Coding values.
type decoder struct {
	bodydec.Decoder
	codings [MaxCodings]bodydec.Coding
}

// bodydecCoding maps this package's codings to the shared decoder's.
var bodydecCoding = [...]bodydec.Coding{
	CodingNone:    bodydec.CodingNone,
	CodingGzip:    bodydec.CodingGzip,
	CodingDeflate: bodydec.CodingDeflate,
	CodingZstd:    bodydec.CodingZstd,
	CodingBrotli:  bodydec.CodingBrotli,
	CodingUnknown: bodydec.CodingUnknown,
	CodingZip:     bodydec.CodingZip,
}

func (d *decoder) begin(codings []Coding) {
	n := min(len(codings), MaxCodings)
	for i, c := range codings[:n] {
		d.codings[i] = bodydec.CodingUnknown
		if int(c) < len(bodydecCoding) {
			d.codings[i] = bodydecCoding[c]
		}
	}
	d.Begin(d.codings[:n])
}

// decodeSink hands the decoder's output to the Parser's cap and ratio
// checks (a pointer conversion: passing it allocates nothing).
type decodeSink Parser

func (s *decodeSink) Decoded(b []byte) bool { return (*Parser)(s).decoded(b) }

func (d *decoder) push(b []byte, p *Parser) error { return d.Push(b, (*decodeSink)(p)) }
func (d *decoder) finish(p *Parser) error         { return d.Finish((*decodeSink)(p)) }
func (d *decoder) end()                           { d.End() }
