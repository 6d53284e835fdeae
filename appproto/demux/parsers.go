package demux

import (
	"github.com/tapdlp/tapdlp/appproto/dns"
	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/appproto/quic"
	apptls "github.com/tapdlp/tapdlp/appproto/tls"
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/record"
)

// keepPending is the most ciphertext buffer (kept while a flow waited for
// its key) a recycled TLS parser keeps for the next flow.
const keepPending = 32 << 10

// tlsParser reads the client's ClientHello (SNI, ALPN, JA4). Without keys
// the rest of a TLS flow is encrypted and not wanted. With a key source
// (Config.Keys) it also feeds both directions to a tlsdecrypt.Flow, and it
// is the Handler of that flow: the first plaintext hands the flow off
// (Decrypted, with the ALPN), after which the Flow keeps sending the
// ciphertext here (Flow.decrypting) while the plaintext goes through
// recognition and the parser chosen for it.
type tlsParser struct {
	fl   *Flow
	p    apptls.Parser
	done bool
	dec  *tlsdecrypt.Flow // kept when recycled; in use when decrypt is set
	// decrypt: this flow is being decrypted (keys were configured when it
	// was recognised).
	decrypt bool
	gen     uint64 // key source generation at the last Poll
}

func (t *tlsParser) reset(fl *Flow) {
	t.fl, t.done = fl, false
	t.p.Reset()
	d := fl.d
	t.decrypt = d.cfg.Keys != nil && (d.cfg.KeysConfigured || d.cfg.Keys.Generation() > 0)
	if t.dec != nil && t.dec.Stats().PendingBytes > keepPending {
		// The last flow buffered much ciphertext waiting for its key: do
		// not keep that buffer for every recycled flow.
		t.dec = nil
	}
	if t.decrypt {
		if t.dec == nil {
			t.dec = tlsdecrypt.NewFlow(d.cfg.Keys, t, d.tlsc)
		} else {
			t.dec.Reset(d.cfg.Keys, t, d.tlsc)
		}
		t.gen = d.cfg.Keys.Generation()
	}
}

// finished reports whether the parser has nothing more to learn and no
// later call needs it: the ClientHello was read (or given up on) and the
// flow is not decrypted.
func (t *tlsParser) finished() bool { return t.done && !t.decrypt }

func (t *tlsParser) Feed(dir Dir, b []byte) bool {
	if !t.fl.decrypting {
		t.fl.res.Encrypted = true
	}
	if dir == Out && !t.done {
		if t.p.Feed(b) {
			t.done = true
			if t.p.Status() == apptls.Done && !t.p.IsServer {
				t.fl.setTLS(&t.p.Hello, apptls.TransportTCP, FromSNI)
			}
		}
	}
	if !t.decrypt {
		return dir == Out && !t.done
	}
	t.dec.Feed(dir == Out, b)
	t.outcome()
	switch t.dec.Reason() {
	case tlsdecrypt.ReasonUnsupportedSuite, tlsdecrypt.ReasonUnsupportedVersion, tlsdecrypt.ReasonMalformed:
		return false // nothing more of this flow can be decrypted
	}
	return true
}

// Plaintext implements tlsdecrypt.Handler: decrypted application data
// re-enters the Flow as the bytes of the protocol the ALPN names.
func (t *tlsParser) Plaintext(fromClient bool, data []byte) {
	dir := In
	if fromClient {
		dir = Out
	}
	fl := t.fl
	if !fl.decrypting {
		fl.switchTo(Handoff{Kind: Decrypted, Hint: t.dec.ALPN()}, dir, nil)
	}
	fl.plain(dir, data)
}

func (t *tlsParser) Gap(dir Dir, _ int) {
	if t.decrypt {
		t.dec.Gap(dir == Out)
		t.outcome()
	}
}

func (t *tlsParser) Close() {
	if t.decrypt {
		t.dec.Finish()
		t.outcome()
	}
}

// poll retries the key lookup of a flow waiting for its key when the key
// source gained keys since the last poll.
func (t *tlsParser) poll() {
	if !t.decrypt {
		return
	}
	if g := t.fl.d.cfg.Keys.Generation(); g != t.gen {
		t.gen = g
		t.dec.Poll()
	}
	t.outcome()
}

// outcome copies the decryption outcome into the Result.
func (t *tlsParser) outcome() {
	r := t.dec.Reason()
	t.fl.res.Decrypt = r
	if rt := t.fl.res.TLS; rt != nil && r != tlsdecrypt.ReasonNone {
		rt.Decrypted = r == tlsdecrypt.ReasonDecrypted
		rt.DecryptReason = ""
		if !rt.Decrypted {
			rt.DecryptReason = r.String()
		}
	}
}

// setTLS records a ClientHello's facts and names the destination by SNI.
// The strings come from the worker's name cache and JA4 memo, the record
// from its pool: a flow to a known name with a known fingerprint allocates
// nothing.
func (fl *Flow) setTLS(h *apptls.ClientHello, transport byte, src NameSource) {
	d := fl.d
	rt := fl.res.TLS
	if rt == nil {
		rt = d.pool.newTLS()
		fl.res.TLS = rt
	} else {
		*rt = record.TLS{ALPN: rt.ALPN[:0]}
	}
	rt.SNI = d.names.str(h.SNIBytes())
	rt.Version = apptls.VersionString(h.Version())
	rt.JA4 = d.ja4.JA4(h, transport)
	if len(h.ALPN) > 0 {
		rt.ALPN = append(rt.ALPN, h.ALPN...)
	} else {
		rt.ALPN = nil
	}
	if rt.SNI != "" {
		fl.setName(rt.SNI, src)
	}
}

// quicParser reads the ClientHello from a QUIC connection's Initial
// packets.
type quicParser struct {
	fl   *Flow
	conn quic.Conn
}

func (q *quicParser) reset(fl *Flow) {
	q.fl = fl
	q.conn.Reset()
}

func (q *quicParser) Feed(dir Dir, b []byte) bool {
	q.fl.res.Encrypted = true
	if dir != Out {
		return false
	}
	if !q.conn.Feed(b) {
		return true
	}
	if q.conn.Status() == quic.Done {
		q.fl.setTLS(&q.conn.Hello, apptls.TransportQUIC, FromQUIC)
	}
	return false
}

// finished reports whether the Initials were read (or given up on).
func (q *quicParser) finished() bool { return q.conn.Status() != quic.NeedMore }

func (q *quicParser) Gap(Dir, int) {}
func (q *quicParser) Close()       {}

// dnsParser records a DNS flow's first question and answers, over UDP
// (one message per datagram) or TCP (length-prefixed messages).
type dnsParser struct {
	fl    *Flow
	framr [2]dns.TCPFramer
}

func (p *dnsParser) reset(fl *Flow) {
	p.fl = fl
	p.framr[0].Reset()
	p.framr[1].Reset()
}

func (p *dnsParser) Feed(dir Dir, b []byte) bool {
	if !p.fl.tcp {
		p.message(dir, b)
		return !p.finished()
	}
	f := &p.framr[dir]
	f.Feed(b)
	for {
		msg, ok := f.Next()
		if !ok {
			return !p.finished()
		}
		p.message(dir, msg)
	}
}

// finished reports whether the flow's record has its question and its
// first response: later messages change nothing (see message), so the
// parser can go back to the pool.
func (p *dnsParser) finished() bool {
	rec := p.fl.res.DNS
	return rec != nil && rec.RCode != "" && rec.Query != ""
}

// Gap: a DNS-over-TCP stream cannot resynchronise inside a message.
func (p *dnsParser) Gap(dir Dir, _ int) { p.framr[dir].Reset() }
func (p *dnsParser) Close()             {}

// maxDNSAnswers bounds the answers one record lists.
const maxDNSAnswers = 16

// message records the first question and the first response's answers,
// and hands the answers to the DNS consumer unless the dispatcher learns
// them (DispatcherLearnsDNS: the two never both learn one response).
func (p *dnsParser) message(dir Dir, msg []byte) {
	fl := p.fl
	m := &fl.d.dnsm.msg
	if m.Parse(msg) != nil {
		return
	}
	rec := fl.res.DNS
	if rec == nil {
		rec = fl.d.pool.newDNS()
		fl.res.DNS = rec
	}
	if rec.Query == "" && len(m.QName()) > 0 {
		rec.Query = fl.d.names.str(m.QName())
		rec.QType = dns.TypeString(m.QType)
	}
	if !m.Header.Response() || rec.RCode != "" {
		return
	}
	srcPort, client := fl.f.SrcPort, fl.f.Dst
	if dir == In {
		srcPort, client = fl.f.DstPort, fl.f.Src
	}
	if !DispatcherLearnsDNS(fl.f.Proto, srcPort) {
		fl.d.dnsm.learn(fl.d.cfg.Answers, &fl.d.names, client, fl.ts)
	}
	rec.RCode = dns.RCodeString(m.Header.RCode())
	for i := 0; i < m.NumAddrs() && len(rec.Answers) < maxDNSAnswers; i++ {
		a, _, _, _ := m.Addr(i)
		var text [64]byte // an IPv6 address with a zone is at most 45+ bytes
		rec.Answers = append(rec.Answers, fl.d.names.str(a.AppendTo(text[:0])))
	}
}

// httpParser runs an HTTP/1 parser per side, paired so responses know
// their request's method, and turns their events into Result facts and
// Sink calls (httpEvents).
type httpParser struct {
	fl   *Flow
	p    [2]httpparse.Parser // by side: Request (Out), Response (In)
	pair httpparse.Pairing

	// The switch a request announced (CONNECT or Upgrade), its Upgrade
	// token (lowercased, cut at len(upgrade)), and whether a tunnel stop
	// during the current Feed asks for it.
	announce  HandoffKind
	upgrade   [32]byte
	nupgrade  int
	switching bool

	// What an upgrade's new parser needs from the exchange: the request's
	// HTTP2-Settings (h2c) and the 101's Sec-WebSocket-Extensions, cut at
	// the buffers' lengths (longer values are not legitimate).
	settings  [128]byte
	nsettings int
	wsext     [256]byte
	nwsext    int

	// gaveUp: the side's parser stopped for a reason other than a tunnel
	// during the current Feed; what it left is scanned raw.
	gaveUp [2]bool
}

func (h *httpParser) reset(fl *Flow) {
	h.fl = fl
	h.pair.Reset()
	h.announce, h.nupgrade, h.switching = 0, 0, false
	h.nsettings, h.nwsext = 0, 0
	h.gaveUp = [2]bool{}
}

func (h *httpParser) start() {
	cfg := h.fl.d.http
	ev := (*httpEvents)(h)
	h.pair.Reset()
	h.p[httpparse.Request].Reset(httpparse.Request, cfg, &h.pair, ev)
	h.p[httpparse.Response].Reset(httpparse.Response, cfg, &h.pair, ev)
}

func (h *httpParser) Feed(dir Dir, b []byte) bool {
	side := sideOf(dir)
	p := &h.p[side]
	enc := h.fl.res.Encrypted
	if p.Stopped() {
		// Not HTTP after all (or a tunnel): scan what follows as raw bytes.
		return !enc && h.fl.sink.Raw(dir, b)
	}
	p.Feed(b)
	if h.gaveUp[side] {
		// The parser gave up (malformed, over a limit): what it had not
		// parsed — a head it could not deliver, the rest of b — is
		// scanned raw, like everything after it.
		h.gaveUp[side] = false
		sink := h.fl.sink
		sink.Truncated(dir, TruncParserStopped)
		more := true
		if held := p.Held(); len(held) > 0 {
			more = sink.Raw(dir, held)
		}
		if n := p.Unread(); n > 0 && more {
			more = sink.Raw(dir, b[len(b)-n:])
		}
		return more && !enc
	}
	if h.switching {
		h.switching = false
		kind := h.announce
		if kind == 0 {
			kind = Upgrade // a 101 answers an Upgrade request the parser did not see
		}
		ho := Handoff{Kind: kind}
		if kind == Upgrade {
			ho.Hint = string(h.upgrade[:h.nupgrade])
		}
		if more, switched := h.fl.switchTo(ho, dir, b[len(b)-p.Unread():]); switched {
			return more
		}
	}
	return !p.Stopped() || !h.fl.res.Encrypted
}

func (h *httpParser) Gap(dir Dir, n int) {
	h.fl.sink.Truncated(dir, TruncGap)
	h.p[sideOf(dir)].Gap(n)
}

// idle reports whether both sides are between messages with nothing
// buffered and no switch pending: the parser may then be parked (see
// httpPark).
func (h *httpParser) idle() bool {
	return h.announce == 0 && h.nupgrade == 0 && !h.switching && h.nsettings == 0 && h.nwsext == 0 &&
		h.p[0].Idle() && h.p[1].Idle()
}

func (h *httpParser) Close() {
	h.p[0].Close()
	h.p[1].Close()
}

func sideOf(dir Dir) httpparse.Side {
	if dir == Out {
		return httpparse.Request
	}
	return httpparse.Response
}

func dirOf(side httpparse.Side) Dir {
	if side == httpparse.Request {
		return Out
	}
	return In
}

// httpEvents receives the HTTP parsers' events for a flow.
type httpEvents httpParser

func (e *httpEvents) Start(m *httpparse.Message) {
	fl := e.fl
	dir := dirOf(m.Side)
	fl.sink.MessageStart(dir, m.ContentType, m.Boundary)
	if m.Side == httpparse.Response {
		if fl.res.HTTP != nil && fl.res.HTTP.Status == 0 {
			fl.res.HTTP.Status = m.Status
		}
		return
	}
	fl.sink.URL(dir, m.Path, m.Query)
	if req := fl.requests(); req != nil {
		req.RequestStart(0, m.Method, m.Host, m.Path, m.ContentType)
	}
	if string(m.Method) == "CONNECT" {
		e.announce = Connect
	}
	if fl.res.HTTP == nil {
		names := &fl.d.names
		rh := fl.d.pool.newHTTP()
		rh.Method = names.method(m.Method)
		rh.Host = names.str(m.Host)
		rh.URI = fl.sink.Redact(m.Path)
		rh.UserAgent = names.str(m.UserAgent)
		fl.res.HTTP = rh
		if len(m.Host) > 0 && fl.res.NameSource == NoName {
			src := FromHTTP
			if string(m.Method) == "CONNECT" {
				src = FromConnect
			}
			fl.setName(fl.res.HTTP.Host, src)
		}
	}
	fl.res.HTTP.Requests++
}

func (e *httpEvents) Header(m *httpparse.Message, name, value []byte) {
	if m.Side == httpparse.Request && !m.InTrailer && len(name) == 7 && httpparse.EqualFoldLower(name, "upgrade") {
		e.announce = Upgrade
		e.nupgrade = copy(e.upgrade[:], value)
		for i, c := range e.upgrade[:e.nupgrade] {
			if 'A' <= c && c <= 'Z' {
				e.upgrade[i] = c + 'a' - 'A'
			}
		}
	}
	switch {
	case m.Side == httpparse.Request && !m.InTrailer && len(name) == 14 && httpparse.EqualFoldLower(name, "http2-settings"):
		e.nsettings = copy(e.settings[:], value)
	case m.Side == httpparse.Response && !m.InTrailer && len(name) == 24 && httpparse.EqualFoldLower(name, "sec-websocket-extensions"):
		e.nwsext = copy(e.wsext[:], value)
	}
	e.fl.sink.Header(dirOf(m.Side), name, value)
}

// Body: bytes the parser could not decode (an unknown or too deep coding,
// a body that failed to decode) are scanned as they are: a body labelled
// gzip may be plaintext, and an unknown coding may be no coding at all.
func (e *httpEvents) Body(m *httpparse.Message, data []byte) {
	e.fl.sink.Body(dirOf(m.Side), data)
	if req := e.fl.requests(); m.Side == httpparse.Request && req != nil {
		req.RequestBody(0, data)
	}
}

func (e *httpEvents) End(m *httpparse.Message) {
	dir := dirOf(m.Side)
	if t := httpTruncation(m.Flags); t != TruncNone {
		e.fl.sink.Truncated(dir, t)
	}
	e.fl.sink.MessageEnd(dir)
	if req := e.fl.requests(); m.Side == httpparse.Request && req != nil {
		req.RequestEnd(0)
	}
}

// httpTruncation maps how an HTTP/1 body was delivered to why its
// inspection was cut short or degraded (the most telling reason).
func httpTruncation(f httpparse.Flags) Truncation {
	switch {
	case f.Has(httpparse.FlagBomb):
		return TruncBomb
	case f.Has(httpparse.FlagTruncated):
		return TruncDecodeBudget
	case f.Has(httpparse.FlagNested):
		return TruncNesting
	case f.Has(httpparse.FlagDecodeError):
		return TruncDecodeError
	case f.Has(httpparse.FlagUndecoded):
		return TruncUndecodable
	}
	return TruncNone
}

// Stop: after a CONNECT 2xx or a 101 the stream is a tunnel, handed off
// when the Feed that stopped returns (see Feed and Flow.switchTo); a side
// that turns out not to be HTTP is scanned as raw bytes from here on.
func (e *httpEvents) Stop(side httpparse.Side, reason httpparse.Reason) {
	switch {
	case reason != httpparse.ReasonTunnel:
		e.gaveUp[side] = true
	case e.fl.res.Handoff.Kind == 0:
		e.switching = true
	}
}

// rawParser handles payload of no recognised protocol: it is scanned raw,
// and the first chunks of a TCP flow are re-sniffed for an HTTP start line,
// so a flow picked up in the middle of a message is parsed from its next
// message on.
type rawParser struct {
	fl *Flow // its count of re-sniffed chunks is fl.resniff (one byte in the Flow's small fields)
}

func (r *rawParser) reset(fl *Flow) { r.fl, fl.resniff = fl, 0 }

// maxResniff bounds how many chunks of an unrecognised stream are checked
// for an HTTP start line.
const maxResniff = 8

func (r *rawParser) Feed(dir Dir, b []byte) bool {
	fl := r.fl
	if !fl.tcp {
		return fl.sink.Raw(dir, b)
	}
	if fl.resniff < maxResniff && !portIn(fl.f.DstPort, noHTTPResniff[:]) {
		fl.resniff++
		if sn := httpparse.Sniff(b); (sn == httpparse.SniffRequest && dir == Out) ||
			(sn == httpparse.SniffResponse && dir == In) {
			fl.choose(HTTP)
			return fl.feed(dir, b)
		}
	}
	return fl.sink.Raw(dir, b) || fl.resniff < maxResniff
}

func (r *rawParser) Gap(Dir, int) {}
func (r *rawParser) Close()       {}
