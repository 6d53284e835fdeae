package demux

import (
	"bytes"

	"github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/appproto/websocket"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/reassembly"
)

// Flow is one flow's application layer: recognition state, the chosen
// parser and what it learned. The caller embeds or recycles Flows (Reset
// keeps their buffers), so a new flow rarely allocates.
type Flow struct {
	d    *Demux
	f    *reassembly.Flow
	sink Sink
	res  Result
	cur  Parser // nil while undecided
	ts   int64  // packet time of the bytes being parsed

	// Undecided state per direction: the first bytes, buffered up to
	// MaxUndecided (the buffer is allocated on the first flow that needs
	// it and kept).
	pend [2][]byte

	// The parsers, one of which is cur. Each is taken from the Demux's pool
	// when the flow first needs it and given back when the flow ends or the
	// parser has nothing more to learn (see pool.go): a flow that never
	// carries payload (a scan, a SYN flood) costs only the fields above.
	tls  *tlsParser
	http *httpParser
	dns  *dnsParser
	quic *quicParser
	h2   *h2Parser
	ws   *wsParser
	park *httpPark // an idle HTTP/1 connection's state while its parser is pooled
	raw  rawParser

	// The small fields share one word (a session embedding the Flow fits a
	// smaller size class).
	tcp  bool
	hint Proto // protocol a hand-off said the next bytes are (Unknown: sniff)
	// decrypting: the flow's TLS is being decrypted and its plaintext
	// parsed; the stream's bytes (ciphertext) go to tls, the plaintext it
	// yields to cur (see tlsParser.Plaintext).
	decrypting bool
	done       [2]bool // direction no longer wanted (told to reassembly or to be told)
	resniff    uint8   // chunks of an unrecognised stream checked for HTTP (see rawParser)
}

// requests is the sink when it follows requests one by one (nil
// otherwise). Asked for on use rather than kept: a field would push the
// session embedding the Flow into a larger size class.
func (fl *Flow) requests() RequestSink {
	r, _ := fl.sink.(RequestSink)
	return r
}

// Reset readies fl for flow f (valid until its final record), reporting to
// sink.
func (fl *Flow) Reset(d *Demux, f *reassembly.Flow, sink Sink) {
	fl.Release()
	fl.d, fl.f, fl.sink = d, f, sink
	fl.tcp = f.Proto == capture.ProtoTCP
	fl.res = Result{}
	fl.ts = 0
	fl.cur, fl.hint = nil, Unknown
	fl.decrypting = false
	fl.pend[0], fl.pend[1] = fl.pend[0][:0], fl.pend[1][:0]
	fl.done = [2]bool{}
	fl.raw.reset(fl)
}

// Result returns what the flow's payload told so far.
func (fl *Flow) Result() *Result { return &fl.res }

// Data delivers the next bytes of dir at packet time ts (reassembly.Stream's
// contract: b is only valid during the call) and returns whether more of
// dir is wanted.
func (fl *Flow) Data(dir Dir, b []byte, ts int64) bool {
	fl.ts = ts
	if fl.decrypting {
		return fl.tls.Feed(dir, b)
	}
	return fl.plain(dir, b)
}

// plain delivers the next bytes of dir's application stream: the stream
// itself, or the plaintext of a decrypted TLS flow.
func (fl *Flow) plain(dir Dir, b []byte) bool {
	if fl.done[dir] {
		return false
	}
	if fl.cur == nil && fl.hint == HTTP2 && dir == Out && http2.Sniff(b) == http2.SniffNo {
		fl.hint = Unknown // ALPN said h2 but the client speaks something else: sniff
	}
	if fl.cur == nil && fl.hint != Unknown {
		fl.choose(fl.hint)
	}
	if fl.cur == nil {
		if !fl.tcp {
			fl.choose(fl.decideDatagram(dir, b))
		} else {
			more, _ := fl.recognise(dir, b)
			return more
		}
	}
	return fl.feed(dir, b)
}

// feed hands b to the current parser and remembers a direction it no
// longer wants.
func (fl *Flow) feed(dir Dir, b []byte) bool {
	more := fl.cur.Feed(dir, b)
	if !more {
		fl.done[dir] = true
	}
	if fl.cur == fl.http {
		fl.parkHTTP()
	} else if !more {
		fl.retire()
	}
	return more
}

// Gap reports n bytes of dir lost for good. Before the protocol is known,
// it decides on what was buffered (the bytes after a hole cannot be
// recognised from their start).
func (fl *Flow) Gap(dir Dir, n int) {
	if fl.decrypting {
		// The record framing of dir is lost: the decryptor stops it, and
		// the plaintext parser loses what those records carried.
		fl.tls.Gap(dir, n)
	}
	if fl.cur == nil {
		fl.decideNow(dir)
	}
	if fl.cur != nil && !fl.done[dir] {
		fl.cur.Gap(dir, n)
	}
}

// Close says the flow ended: a direction still undecided is decided on its
// prefix, and the parser flushes partial messages.
func (fl *Flow) Close() {
	if fl.tls != nil && (fl.decrypting || fl.cur == fl.tls) {
		fl.tls.Close() // a last key lookup may still hand plaintext over
		if fl.cur == fl.tls {
			return
		}
	}
	if fl.cur == nil && (len(fl.pend[Out]) > 0 || len(fl.pend[In]) > 0) {
		fl.decideNow(Out)
	}
	if fl.cur != nil {
		fl.cur.Close()
	}
}

// decideNow decides an undecided flow on its buffered bytes (final), or as
// Other when nothing was buffered.
func (fl *Flow) decideNow(dir Dir) {
	if len(fl.pend[dir]) == 0 && len(fl.pend[1-dir]) > 0 {
		dir = 1 - dir
	}
	b := fl.pend[dir]
	if len(b) == 0 {
		fl.choose(Other)
		return
	}
	fl.d.stats.DecidedAtEnd.Add(1)
	p, _ := decide(true, dir, fl.f.SrcPort, fl.f.DstPort, b, true)
	fl.choose(p)
	fl.flushPending(Out)
	fl.flushPending(In)
}

// decideDatagram recognises a UDP flow from its first datagram.
func (fl *Flow) decideDatagram(dir Dir, b []byte) Proto {
	p, _ := decide(false, dir, fl.f.SrcPort, fl.f.DstPort, b, true)
	return p
}

// recognise is the undecided TCP state. It buffers dir's first bytes until
// a sniffer decides or MaxUndecided is reached, then chooses the parser and
// feeds it what was buffered (both directions, in arrival order) and the
// rest of b. decided is false while still undecided (more is then true).
func (fl *Flow) recognise(dir Dir, b []byte) (more, decided bool) {
	pend := fl.pend[dir]
	if len(pend) == 0 {
		// The common case: a first segment that decides on its own is
		// neither copied nor buffered. The sniffers see at most
		// MaxUndecided bytes, as they would had the bytes come in pieces.
		head := b[:min(len(b), MaxUndecided)]
		final := len(head) == MaxUndecided
		if p, ok := decide(true, dir, fl.f.SrcPort, fl.f.DstPort, head, final); ok {
			if final && isGuess(dir, head) {
				fl.d.stats.DecidedByBound.Add(1)
			}
			fl.choose(p)
			fl.flushPending(1 - dir)
			return fl.feedOrDone(dir, b), true
		}
	}
	if pend == nil {
		pend = make([]byte, 0, MaxUndecided)
	}
	k := min(len(b), MaxUndecided-len(pend))
	pend = append(pend, b[:k]...)
	fl.pend[dir] = pend
	rest := b[k:]
	final := len(pend) == MaxUndecided
	if !final && len(pend)-k >= lineQuiet && bytes.IndexByte(b[:k], '\n') < 0 {
		return true, false // no sniffer's verdict can have changed (see lineQuiet)
	}
	p, ok := decide(true, dir, fl.f.SrcPort, fl.f.DstPort, pend, final)
	if !ok {
		return true, false
	}
	if final && isGuess(dir, pend) {
		fl.d.stats.DecidedByBound.Add(1)
	}
	fl.choose(p)
	fl.flushPending(1 - dir)
	fl.flushPending(dir)
	if fl.done[dir] {
		return false, true
	}
	if len(rest) == 0 {
		return true, true
	}
	return fl.feed(dir, rest), true
}

// isGuess reports whether a final decision on b differs from what the
// sniffers could tell without the bound: the flow was decided by it.
func isGuess(dir Dir, b []byte) bool {
	for i := range table {
		r := &table[i]
		if r.tcp && r.sniff != nil && r.sniff(dir, b, false) == needMore {
			return true
		}
	}
	return false
}

func (fl *Flow) feedOrDone(dir Dir, b []byte) bool {
	if fl.done[dir] {
		return false
	}
	return fl.feed(dir, b)
}

// flushPending feeds dir's buffered first bytes to the chosen parser.
func (fl *Flow) flushPending(dir Dir) {
	b := fl.pend[dir]
	fl.pend[dir] = b[:0]
	if len(b) > 0 && !fl.done[dir] {
		fl.feed(dir, b)
	}
}

// choose installs the parser for p, fresh for the bytes that follow.
func (fl *Flow) choose(p Proto) {
	fl.res.App = p
	switch p {
	case TLS:
		if fl.tls == nil {
			fl.tls = fl.d.pool.tls.get()
		}
		fl.tls.reset(fl)
		fl.cur = fl.tls
	case HTTP:
		if fl.http == nil {
			fl.http = fl.d.pool.http.get()
		}
		fl.http.reset(fl)
		fl.http.start()
		fl.cur = fl.http
	case DNS:
		if fl.dns == nil {
			fl.dns = fl.d.pool.dns.get()
		}
		fl.dns.reset(fl)
		fl.cur = fl.dns
	case QUIC:
		if fl.quic == nil {
			fl.quic = fl.d.pool.quic.get()
		}
		fl.quic.reset(fl)
		fl.cur = fl.quic
	case HTTP2:
		if fl.h2 == nil {
			fl.h2 = fl.d.pool.h2.get()
		}
		fl.h2.reset(fl)
		fl.cur = fl.h2
	default:
		fl.res.App = Other
		fl.cur = &fl.raw
	}
}

// Poll retries the key lookup of a TLS flow still waiting for its key
// (when the key source gained keys) and brings Result.Decrypt up to date;
// the pipeline calls it before it writes the flow's record.
func (fl *Flow) Poll() {
	if fl.tls != nil && (fl.decrypting || fl.cur == fl.tls) {
		fl.tls.poll()
	}
}

// switchTo routes a parser's hand-off (see Handoff): the bytes of dir
// after the switch start with rest (the remainder of the chunk that carried
// it; the other direction's next bytes follow the switch too). This is the
// one place that decides what parses a flow after an Upgrade, a CONNECT or
// decryption; each new protocol adapter is a case here:
//
//   - Decrypted: the plaintext re-enters recognition, with the ALPN as the
//     protocol when a parser for it exists ("http/1.1" → HTTP, "h2" →
//     HTTP2). The ciphertext keeps going to the TLS parser
//     (Flow.decrypting), which hands plaintext to plain.
//   - Upgrade "h2c": HTTP/2 from here on, stream 1 being the HTTP/1
//     request (its HTTP2-Settings value sets the server's HPACK table).
//   - Upgrade "websocket": WebSocket frames both ways (permessage-deflate
//     as the 101's Sec-WebSocket-Extensions negotiated).
//   - Other upgrades and Connect: no parser reads them (tunnelled bytes
//     are usually TLS), so the flow stays opaque (Encrypted) and the
//     current parser keeps it.
//
// It returns whether more of dir is wanted and whether the flow switched.
func (fl *Flow) switchTo(h Handoff, dir Dir, rest []byte) (more, switched bool) {
	fl.res.Handoff = h
	switch h.Kind {
	case Decrypted:
		fl.cur, fl.hint = nil, protoForALPN(h.Hint)
		fl.res.Encrypted = false // the content is readable now
		// The pending buffers may still be the bytes the TLS parser is
		// reading (flushPending): recognition of the plaintext gets fresh
		// ones rather than overwriting them.
		fl.pend[Out], fl.pend[In] = nil, nil
		fl.done = [2]bool{}
		fl.decrypting = fl.tls != nil && fl.tls.decrypt
	case Upgrade:
		if !fl.upgrade(h.Hint) {
			fl.res.Encrypted = true
			return false, false
		}
		fl.done = [2]bool{}
	default:
		fl.res.Encrypted = true
		return false, false
	}
	if len(rest) == 0 {
		return true, true
	}
	return fl.plain(dir, rest), true
}

// upgrade installs the parser for an HTTP/1.1 upgrade to token, with what
// the HTTP/1 parser kept of the exchange; false when none reads it.
func (fl *Flow) upgrade(token string) bool {
	hp := fl.http
	switch token {
	case "h2c":
		fl.choose(HTTP2)
		if hp != nil {
			fl.h2.startUpgraded(hp.settings[:hp.nsettings])
		}
		if fl.res.HTTP != nil {
			fl.res.HTTP.Version = "2"
		}
		return true
	case "websocket":
		var ext websocket.Extensions
		if hp != nil {
			ext = websocket.ParseExtensions(hp.wsext[:hp.nwsext])
		}
		if fl.ws == nil {
			fl.ws = fl.d.pool.ws.get()
		}
		fl.ws.reset(fl, ext)
		fl.res.App = WebSocket
		fl.cur = fl.ws
		return true
	}
	return false
}

// protoForALPN maps a negotiated ALPN protocol id to the protocol that
// parses it, Unknown when none does (recognition then sniffs).
func protoForALPN(alpn string) Proto {
	switch alpn {
	case "http/1.1", "http/1.0":
		return HTTP
	case "h2":
		return HTTP2
	}
	return Unknown
}

// setName records the destination name the payload gave (the callers
// decide precedence: a TLS or QUIC name always wins, an HTTP name only
// when none is known) and has the flow evaluated.
func (fl *Flow) setName(name string, src NameSource) {
	fl.res.Name, fl.res.NameSource = name, src
	fl.sink.Changed()
}
