package demux

import (
	"unsafe"

	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/record"
)

// Parser state is held by a flow only while its protocol needs it, and
// recycled through its Demux (one per worker, so no locking and no
// sync.Pool traffic between workers): a parser is taken when recognition
// chooses it and given back when the flow ends (Flow.Release) or, for a TLS
// ClientHello or QUIC Initial read without decryption, as soon as it has
// told what it could (Flow.retire). With 100,000 open flows this measured
// 704 B less per TLS flow; an idle recycled Flow holds no parser at all.

// maxFreeParsers bounds the recycled parsers of each kind a Demux keeps: a
// burst of short flows reuses them, a flood does not pin them afterwards.
const maxFreeParsers = 256

// parserPool is a Demux's recycled parsers, by kind.
type parserPool struct {
	tls  freeList[tlsParser]
	http freeList[httpParser]
	dns  freeList[dnsParser]
	quic freeList[quicParser]
	h2   freeList[h2Parser]
	ws   freeList[wsParser]
	park freeList[httpPark]

	// Result facts (see names.go).
	tlsRec  freeList[record.TLS]
	httpRec freeList[record.HTTP]
	dnsRec  freeList[record.DNS]
}

// freeList is a bounded stack of recycled *T.
type freeList[T any] struct{ free []*T }

// get returns a recycled *T, or a new one (the caller resets it).
func (l *freeList[T]) get() *T {
	if p := l.pop(); p != nil {
		return p
	}
	return new(T)
}

// pop returns a recycled *T, nil when there is none.
func (l *freeList[T]) pop() *T {
	n := len(l.free)
	if n == 0 {
		return nil
	}
	p := l.free[n-1]
	l.free[n-1] = nil
	l.free = l.free[:n-1]
	return p
}

// put recycles p (dropped beyond maxFreeParsers).
func (l *freeList[T]) put(p *T) {
	if p != nil && len(l.free) < maxFreeParsers {
		l.free = append(l.free, p)
	}
}

// finished is the parser of a flow whose parser was retired: nothing more
// of either direction is wanted (the retired parser said so already).
type finished struct{}

func (finished) Feed(Dir, []byte) bool { return false }
func (finished) Gap(Dir, int)          {}
func (finished) Close()                {}

// Release gives the flow's parsers and its Result's TLS, HTTP and DNS
// facts back to its Demux. The pipeline calls it once the flow's final
// record is written (copied: nothing may still point into the Result);
// Reset calls it too. The Flow must not be used again until the next Reset.
func (fl *Flow) Release() {
	if fl.d == nil {
		return
	}
	fl.releaseParsers()
	fl.cur = nil
	p := &fl.d.pool
	p.tlsRec.put(fl.res.TLS)
	p.httpRec.put(fl.res.HTTP)
	p.dnsRec.put(fl.res.DNS)
	fl.res.TLS, fl.res.HTTP, fl.res.DNS = nil, nil, nil
}

// ReleaseParsers gives the flow's parsers back to its Demux but keeps its
// Result, for a flow that closed and lingers until its final record:
// nothing more is parsed (Data and Gap are ignored from now on), while the
// record still reads the facts the parsers left. Release later gives the
// Result back.
func (fl *Flow) ReleaseParsers() {
	if fl.d == nil {
		return
	}
	fl.releaseParsers()
	fl.cur = finished{}
}

func (fl *Flow) releaseParsers() {
	p := &fl.d.pool
	p.tls.put(fl.tls)
	p.http.put(fl.http)
	p.dns.put(fl.dns)
	p.quic.put(fl.quic)
	p.h2.put(fl.h2)
	p.ws.put(fl.ws)
	p.park.put(fl.park)
	fl.tls, fl.http, fl.dns, fl.quic, fl.h2, fl.ws, fl.park = nil, nil, nil, nil, nil, nil, nil
}

// retire gives back the current parser when it has nothing more to learn
// and no later call needs it: a TLS parser that read the ClientHello (or
// gave up on it) and does not decrypt, a QUIC parser past its Initials, a
// DNS parser that recorded the question and the first response.
// The flow keeps what they told (Result); the parser state goes back to the
// pool at once instead of living as long as the connection.
func (fl *Flow) retire() {
	switch {
	case fl.tls != nil && fl.cur == fl.tls:
		if !fl.tls.finished() || fl.decrypting {
			return
		}
		fl.d.pool.tls.put(fl.tls)
		fl.tls = nil
	case fl.dns != nil && fl.cur == fl.dns:
		if !fl.dns.finished() {
			return
		}
		fl.d.pool.dns.put(fl.dns)
		fl.dns = nil
	case fl.quic != nil && fl.cur == fl.quic:
		if !fl.quic.finished() {
			return
		}
		fl.d.pool.quic.put(fl.quic)
		fl.quic = nil
	default:
		return
	}
	fl.cur = finished{}
}

// What each parser costs while a flow holds it (see StateBytes).
const (
	tlsParserBytes  = int64(unsafe.Sizeof(tlsParser{}))
	httpParserBytes = int64(unsafe.Sizeof(httpParser{}))
	dnsParserBytes  = int64(unsafe.Sizeof(dnsParser{}))
	quicParserBytes = int64(unsafe.Sizeof(quicParser{}))
	h2ParserBytes   = int64(unsafe.Sizeof(h2Parser{}))
	wsParserBytes   = int64(unsafe.Sizeof(wsParser{}))
	httpParkBytes   = int64(unsafe.Sizeof(httpPark{}))
)

// StateBytes is the parser state the flow holds now beyond the Flow
// itself: its parsers and its undecided-prefix buffers. The pipeline
// charges it against the flow table's byte budget (flows.memcap) and
// releases it as parsers are given back.
func (fl *Flow) StateBytes() int64 {
	n := int64(cap(fl.pend[0]) + cap(fl.pend[1]))
	if fl.tls != nil {
		n += tlsParserBytes
	}
	if fl.http != nil {
		n += httpParserBytes
	}
	if fl.dns != nil {
		n += dnsParserBytes
	}
	if fl.quic != nil {
		n += quicParserBytes
	}
	if fl.h2 != nil {
		n += h2ParserBytes
	}
	if fl.ws != nil {
		n += wsParserBytes
	}
	if fl.park != nil {
		n += httpParkBytes
	}
	return n
}

// httpPark is an idle HTTP/1 connection whose parser went back to the pool:
// both sides were between messages with nothing buffered, so what is left
// to keep is the request/response pairing (the methods of requests still
// awaiting their response) and each side's message count. The next bytes
// or gap take a parser again and continue the stream. Measured with
// 100,000 open flows: an idle HTTP connection holds 88 B here instead of
// a 2.7 KB parser.
type httpPark struct {
	fl   *Flow
	pair httpparse.Pairing
	msgs [2]int
}

// parkHTTP gives the idle HTTP parser back, keeping what continuing the
// stream needs (see httpPark); it does nothing while a message, a header
// block or an upgrade is in progress.
func (fl *Flow) parkHTTP() {
	h := fl.http
	if !h.idle() {
		return
	}
	pk := fl.d.pool.park.get()
	pk.fl, pk.pair = fl, h.pair
	pk.msgs = [2]int{h.p[httpparse.Request].Messages(), h.p[httpparse.Response].Messages()}
	fl.d.pool.http.put(h)
	fl.http, fl.park, fl.cur = nil, pk, pk
}

// unpark takes a parser for the parked connection and continues its stream.
func (pk *httpPark) unpark() *httpParser {
	fl := pk.fl
	h := fl.d.pool.http.get()
	h.reset(fl)
	h.start()
	h.pair = pk.pair
	h.p[httpparse.Request].Resume(pk.msgs[0])
	h.p[httpparse.Response].Resume(pk.msgs[1])
	fl.d.pool.park.put(pk)
	fl.http, fl.park, fl.cur = h, nil, h
	return h
}

func (pk *httpPark) Feed(dir Dir, b []byte) bool { return pk.unpark().Feed(dir, b) }
func (pk *httpPark) Gap(dir Dir, n int)          { pk.unpark().Gap(dir, n) }

// Close: an idle connection has no message to flush.
func (pk *httpPark) Close() {}
