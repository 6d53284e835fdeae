package tlsdecrypt

import (
	"encoding/binary"
)

// Reason is a flow's decryption outcome; its String is what records carry
// (`tls.decrypted: true`, or the reason it was not).
type Reason uint8

// Outcomes, from least to most significant: a later, more significant
// outcome replaces an earlier one (an authentication failure after some
// decrypted records makes the flow auth_failed).
const (
	ReasonNone               Reason = iota // no encrypted record seen yet
	ReasonNoKey                            // encrypted records, no key (yet)
	ReasonDecrypted                        // every encrypted record seen was decrypted
	ReasonTruncated                        // decrypted, but part was lost: pending buffer overflow or a stream gap
	ReasonUnsupportedVersion               // SSL 3.0 to TLS 1.1
	ReasonUnsupportedSuite                 // a suite this package does not decrypt (CBC, CCM, …)
	ReasonMalformed                        // the record or handshake layer broke its own rules
	ReasonAuthFailed                       // a record failed authentication: wrong key or tampered data

	// NumReasons is the number of outcomes (for per-outcome counters).
	NumReasons
)

var reasonNames = [NumReasons]string{
	ReasonNone:               "",
	ReasonNoKey:              "no_key",
	ReasonDecrypted:          "decrypted",
	ReasonTruncated:          "truncated",
	ReasonUnsupportedVersion: "unsupported_version",
	ReasonUnsupportedSuite:   "unsupported_suite",
	ReasonMalformed:          "malformed",
	ReasonAuthFailed:         "auth_failed",
}

// ParseReason returns the outcome a record spells s ("no_key", …); ok is
// false for "" and unknown spellings.
func ParseReason(s string) (Reason, bool) {
	for r := ReasonNoKey; r < NumReasons; r++ {
		if reasonNames[r] == s {
			return r, true
		}
	}
	return ReasonNone, false
}

// String returns the record spelling ("" for ReasonNone).
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "invalid"
}

// Handler receives a flow's decrypted application data.
type Handler interface {
	// Plaintext is called with application data of one direction, in
	// stream order, as each record is decrypted. data is the flow's
	// reused buffer: it is only valid during the call; copy what you
	// keep. The flow's ALPN is final before the first call for a
	// direction (except for 0-RTT data, which precedes the server's
	// EncryptedExtensions).
	Plaintext(fromClient bool, data []byte)
}

// Config bounds a Flow. Zero values mean the defaults.
type Config struct {
	// MaxPending bounds the encrypted bytes one flow buffers while its
	// key has not arrived; default 256 KiB. Beyond it records are dropped
	// (counted) and the flow ends truncated once the key comes.
	MaxPending int
	// Budget, when set, bounds the pending bytes of every flow sharing it
	// (see PendingBudget); nil: only MaxPending applies.
	Budget *PendingBudget
	// MaxHandshakeMsg bounds one buffered handshake message (ClientHello,
	// ServerHello, EncryptedExtensions); default 64 KiB. Larger ones
	// (certificates) are skipped, not buffered.
	MaxHandshakeMsg int
	// Scratch, when set, is the plaintext buffer shared by the flows of
	// one worker (a worker runs one flow at a time, and plaintext is only
	// valid during Handler.Plaintext); nil: each flow allocates its own
	// (16 KiB + 2 KiB, on its first decrypted record).
	Scratch *Scratch
}

// Scratch is a plaintext buffer several flows of one goroutine share.
type Scratch struct{ b []byte }

const (
	defaultMaxPending = 256 << 10
	defaultMaxHSMsg   = 64 << 10
	// maxCiphertext is the largest TLS 1.2 record body (RFC 5246 §6.2.3);
	// TLS 1.3 allows 2^14+256.
	maxCiphertext = 1<<14 + 2048
)

// FlowStats counts one flow's records and losses.
type FlowStats struct {
	Records        uint64 // records seen, both directions
	Decrypted      uint64 // records decrypted
	PlainBytes     uint64 // application bytes handed to the Handler
	AuthFailures   uint64
	PendingBytes   uint64 // encrypted bytes buffered while waiting for a key (high-water sum)
	PendingDropped uint64 // encrypted bytes dropped: pending buffer full
	NoKeyBytes     uint64 // encrypted bytes never decrypted for want of a key (set by Finish)
	EarlySkipped   uint64 // 0-RTT records without CLIENT_EARLY_TRAFFIC_SECRET
	KeyUpdates     uint64
	Alerts         uint64 // encrypted alerts (close_notify mostly)
}

// TLS 1.3 phases of one direction.
const (
	phaseClear = iota // before encryption
	phaseEarly        // client 0-RTT
	phaseHS           // handshake traffic keys
	phaseApp          // application traffic keys
	phaseDead         // desynchronised or failed: nothing more is read
)

// dirState is one direction's record and handshake reader.
type dirState struct {
	hdr   [5]byte
	hn    int    // header bytes held
	rec   []byte // partial record body, cap maxCiphertext once used
	need  int    // body length of the current record
	ccs   bool   // TLS 1.2: ChangeCipherSpec seen, records are encrypted
	phase int
	hc    halfConn
	// early: the client's 0-RTT protection (client direction only).
	early    halfConn
	hasEarly bool
	gotHS    bool // a record decrypted with the handshake key (no more 0-RTT)
	hs       hsReader
}

// Flow decrypts one TLS connection. Feed it each direction's reassembled
// bytes in order; it is not safe for concurrent use (one worker owns a
// flow). Records may be split across Feed calls at any byte.
type Flow struct {
	cfg  Config
	keys KeySource
	h    Handler

	dir [2]dirState // [0] server→client, [1] client→server

	clientRandom [32]byte
	serverRandom [32]byte
	haveCH       bool
	haveSH       bool
	earlyOffered bool
	version      uint16
	suiteID      uint16
	suite        *suite
	alpn         string

	ready    bool   // keys installed
	tried    bool   // a lookup was made
	triedGen uint64 // store generation at the last failed lookup
	secrets  Secrets

	pending  []byte // [dir][type][len u16][record header version u16][body]…
	reserved int    // bytes of pending taken from cfg.Budget
	dropped  bool   // pending overflowed

	reason Reason
	st     FlowStats
	plain  []byte
}

// NewFlow returns a flow decrypting with keys from ks and handing
// plaintext to h.
func NewFlow(ks KeySource, h Handler, cfg Config) *Flow {
	f := &Flow{}
	f.Reset(ks, h, cfg)
	return f
}

// Reset makes f a fresh flow, keeping its buffers.
func (f *Flow) Reset(ks KeySource, h Handler, cfg Config) {
	f.releasePending()
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = defaultMaxPending
	}
	if cfg.MaxHandshakeMsg <= 0 {
		cfg.MaxHandshakeMsg = defaultMaxHSMsg
	}
	recs := [2][]byte{f.dir[0].rec[:0], f.dir[1].rec[:0]}
	hsb := [2][]byte{f.dir[0].hs.body[:0], f.dir[1].hs.body[:0]}
	plain, pending := f.plain, f.pending[:0]
	*f = Flow{cfg: cfg, keys: ks, h: h, plain: plain, pending: pending}
	for i := range f.dir {
		f.dir[i].rec = recs[i]
		f.dir[i].hs.body = hsb[i]
	}
}

// Reason returns the outcome so far: a flow still waiting for its key
// reports no_key.
func (f *Flow) Reason() Reason { return f.reason }

// Stats returns the flow's counters.
func (f *Flow) Stats() FlowStats { return f.st }

// Version returns the negotiated version (0 before the ServerHello).
func (f *Flow) Version() uint16 { return f.version }

// CipherSuite returns the negotiated suite (0 before the ServerHello).
func (f *Flow) CipherSuite() uint16 { return f.suiteID }

// ALPN returns the negotiated application protocol ("h2", "http/1.1"),
// "" when none was negotiated or it is not known (yet). The string is
// built once per flow.
func (f *Flow) ALPN() string { return f.alpn }

// ClientRandom returns the ClientHello random once seen.
func (f *Flow) ClientRandom() ([32]byte, bool) { return f.clientRandom, f.haveCH }

func (f *Flow) mark(r Reason) {
	if r > f.reason {
		f.reason = r
	}
}

// stopped: the flow will decrypt nothing more.
func (f *Flow) stopped() bool {
	return f.reason == ReasonUnsupportedVersion || f.reason == ReasonUnsupportedSuite ||
		(f.dir[0].phase == phaseDead && f.dir[1].phase == phaseDead)
}

// Feed consumes the next reassembled bytes of one direction. data is not
// retained.
func (f *Flow) Feed(fromClient bool, data []byte) {
	d := 0
	if fromClient {
		d = 1
	}
	ds := &f.dir[d]
	for len(data) > 0 && ds.phase != phaseDead && !f.stopped() {
		if ds.hn < 5 {
			n := copy(ds.hdr[ds.hn:], data)
			ds.hn += n
			data = data[n:]
			if ds.hn < 5 {
				return
			}
			typ := ds.hdr[0]
			ds.need = int(binary.BigEndian.Uint16(ds.hdr[3:]))
			if typ < 20 || typ > 24 || ds.hdr[1] != 3 || ds.need > maxCiphertext {
				f.kill(d, ReasonMalformed)
				return
			}
			ds.rec = ds.rec[:0]
		}
		if len(ds.rec) == 0 && len(data) >= ds.need {
			// Whole record in the caller's bytes: no copy.
			body := data[:ds.need]
			data = data[ds.need:]
			ds.hn = 0
			f.record(d, ds.hdr[0], binary.BigEndian.Uint16(ds.hdr[1:]), body)
			continue
		}
		if cap(ds.rec) < maxCiphertext {
			ds.rec = make([]byte, 0, maxCiphertext)
		}
		n := min(ds.need-len(ds.rec), len(data))
		ds.rec = append(ds.rec, data[:n]...)
		data = data[n:]
		if len(ds.rec) == ds.need {
			ds.hn = 0
			f.record(d, ds.hdr[0], binary.BigEndian.Uint16(ds.hdr[1:]), ds.rec)
			ds.rec = ds.rec[:0]
		}
	}
}

// Gap tells the flow that bytes of one direction were lost: its record
// framing is gone, so that direction stops.
func (f *Flow) Gap(fromClient bool) {
	d := 0
	if fromClient {
		d = 1
	}
	f.kill(d, ReasonTruncated)
}

func (f *Flow) kill(d int, r Reason) {
	f.dir[d].phase = phaseDead
	f.mark(r)
}

// Poll retries a key lookup for a flow that waits for its key, and
// decrypts what was buffered if the key is there now. The pipeline calls
// it when the store's generation changed (Feed retries on its own).
func (f *Flow) Poll() {
	if !f.ready && len(f.pending) > 0 {
		f.tryKeys()
		if f.ready {
			f.drainPending()
		}
	}
}

// Finish ends the flow: a last key lookup, then anything still buffered is
// counted as never decrypted.
func (f *Flow) Finish() {
	f.Poll()
	if !f.ready && len(f.pending) > 0 {
		f.st.NoKeyBytes += uint64(f.pendingBodyBytes())
		f.mark(ReasonNoKey)
	}
	f.pending = f.pending[:0]
	f.releasePending()
	f.secrets = Secrets{}
}

func (f *Flow) pendingBodyBytes() int {
	n := 0
	for p := f.pending; len(p) >= 6; {
		l := int(binary.BigEndian.Uint16(p[2:]))
		n += l
		p = p[6+l:]
	}
	return n
}

// encrypted reports whether a record of type typ in direction d is
// protected.
func (f *Flow) encrypted(d int, typ byte) bool {
	switch f.version {
	case VersionTLS13:
		return typ == 23
	case VersionTLS12:
		return f.dir[d].ccs && typ != 20
	}
	return typ == 23 // version unknown: 0-RTT data before the ServerHello
}

func (f *Flow) record(d int, typ byte, ver uint16, body []byte) {
	f.st.Records++
	if !f.encrypted(d, typ) {
		switch typ {
		case 20: // change_cipher_spec
			if f.version == VersionTLS12 {
				f.dir[d].ccs = true
				if f.ready {
					f.dir[d].phase = phaseApp
				}
			}
		case 22:
			f.dir[d].hs.feed(f, d, body)
		}
		return
	}
	if f.reason == ReasonNone {
		f.mark(ReasonNoKey)
	}
	if !f.ready {
		f.tryKeys()
		if f.ready && len(f.pending) > 0 {
			f.drainPending()
		}
	}
	if !f.ready {
		f.queue(d, typ, ver, body)
		return
	}
	f.decrypt(d, typ, ver, body)
}

func (f *Flow) queue(d int, typ byte, ver uint16, body []byte) {
	if !f.haveCH {
		// Picked up mid-stream: without the ClientHello random no key can
		// ever match, so nothing is buffered.
		f.st.NoKeyBytes += uint64(len(body))
		return
	}
	if f.dropped || len(f.pending)+6+len(body) > f.cfg.MaxPending ||
		(f.cfg.Budget != nil && !f.cfg.Budget.take(6+len(body))) {
		f.dropped = true
		f.st.PendingDropped += uint64(len(body))
		return
	}
	if f.cfg.Budget != nil {
		f.reserved += 6 + len(body)
	}
	f.pending = append(f.pending, byte(d), typ, byte(len(body)>>8), byte(len(body)), byte(ver>>8), byte(ver))
	f.pending = append(f.pending, body...)
	f.st.PendingBytes += uint64(len(body))
}

// releasePending returns what the flow took from the shared budget.
func (f *Flow) releasePending() {
	if f.reserved > 0 && f.cfg.Budget != nil {
		f.cfg.Budget.give(f.reserved)
	}
	f.reserved = 0
}

func (f *Flow) drainPending() {
	p := f.pending
	for len(p) >= 6 && !f.stopped() {
		d, typ := int(p[0]), p[1]
		l := int(binary.BigEndian.Uint16(p[2:]))
		ver := binary.BigEndian.Uint16(p[4:])
		body := p[6 : 6+l]
		p = p[6+l:]
		f.decrypt(d, typ, ver, body)
	}
	clear(f.pending)
	f.pending = f.pending[:0]
	f.releasePending()
	if f.dropped {
		// Records after the overflow are gone: the record sequence and
		// the handshake cannot be followed further.
		f.kill(0, ReasonTruncated)
		f.kill(1, ReasonTruncated)
	}
}

// tryKeys looks the client random up and installs keys when the version,
// suite and the needed secrets are all known.
func (f *Flow) tryKeys() {
	if f.keys == nil || !f.haveCH || !f.haveSH || f.suite == nil {
		return
	}
	gen := f.keys.Generation()
	if f.tried && gen == f.triedGen {
		return
	}
	f.tried, f.triedGen = true, gen
	if !f.keys.Lookup(&f.clientRandom, &f.secrets) {
		return
	}
	s := f.suite
	c, sv := &f.dir[1], &f.dir[0]
	if !s.tls13 {
		if f.secrets.Master.n != 48 {
			return
		}
		if err := keys12(s, f.secrets.Master.bytes(), &f.clientRandom, &f.serverRandom, &c.hc, &sv.hc); err != nil {
			return
		}
		for i := range f.dir {
			if f.dir[i].ccs {
				f.dir[i].phase = phaseApp
			}
		}
		f.ready = true
		return
	}
	if !f.secrets.has13() {
		return
	}
	if err := sv.hc.set13(s, f.secrets.ServerHS.bytes()); err != nil {
		return
	}
	if err := c.hc.set13(s, f.secrets.ClientHS.bytes()); err != nil {
		return
	}
	sv.phase, c.phase = phaseHS, phaseHS
	if f.earlyOffered && f.secrets.ClientEarly.n > 0 {
		if err := c.early.set13(s, f.secrets.ClientEarly.bytes()); err == nil {
			c.hasEarly = true
			c.phase = phaseEarly
		}
	}
	f.ready = true
}

// plainBuf returns the flow's plaintext buffer.
func (f *Flow) plainBuf() []byte {
	p := &f.plain
	if f.cfg.Scratch != nil {
		p = &f.cfg.Scratch.b
	}
	if cap(*p) < maxCiphertext {
		*p = make([]byte, 0, maxCiphertext)
	}
	return (*p)[:0]
}

func (f *Flow) decrypt(d int, typ byte, ver uint16, body []byte) {
	ds := &f.dir[d]
	if ds.phase == phaseDead {
		return
	}
	if !f.suite.tls13 {
		pt, err := ds.hc.open(f.plainBuf(), typ, ver, body)
		if err != nil {
			f.authFailed(d)
			return
		}
		f.st.Decrypted++
		f.mark(ReasonDecrypted)
		f.content(d, typ, pt)
		return
	}
	var pt []byte
	var err error
	if ds.phase == phaseEarly {
		// 0-RTT records until EndOfEarlyData; if the server refused early
		// data the client goes straight to its handshake key.
		pt, err = ds.early.open(f.plainBuf(), typ, ver, body)
		if err != nil {
			ds.phase = phaseHS
		}
	}
	if ds.phase != phaseEarly {
		pt, err = ds.hc.open(f.plainBuf(), typ, ver, body)
		if err != nil {
			if d == 1 && f.earlyOffered && !ds.gotHS && ds.phase == phaseHS {
				// 0-RTT data we hold no key for (or that the server
				// refused): skipped, not an authentication failure.
				f.st.EarlySkipped++
				return
			}
			f.authFailed(d)
			return
		}
		if ds.phase == phaseHS {
			ds.gotHS = true
		}
	}
	// Inner plaintext: content, type, zero padding (RFC 8446 §5.2).
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 {
		f.kill(d, ReasonMalformed)
		return
	}
	f.st.Decrypted++
	f.mark(ReasonDecrypted)
	f.content(d, pt[i], pt[:i])
}

func (f *Flow) authFailed(d int) {
	f.st.AuthFailures++
	f.kill(d, ReasonAuthFailed)
}

func (f *Flow) content(d int, typ byte, pt []byte) {
	switch typ {
	case 23:
		if len(pt) > 0 && f.h != nil {
			f.st.PlainBytes += uint64(len(pt))
			f.h.Plaintext(d == 1, pt)
		}
	case 22:
		f.dir[d].hs.feed(f, d, pt)
	case 21:
		f.st.Alerts++
	}
}

// hsReader splits a direction's handshake bytes into messages, buffering
// only the ones the flow reads.
type hsReader struct {
	hdr    [4]byte
	hn     int
	typ    byte
	remain int
	keep   bool
	body   []byte
}

// Handshake message types read.
const (
	hsClientHello         = 1
	hsServerHello         = 2
	hsEndOfEarlyData      = 5
	hsEncryptedExtensions = 8
	hsFinished            = 20
	hsKeyUpdate           = 24
)

func (r *hsReader) feed(f *Flow, d int, b []byte) {
	for len(b) > 0 {
		if r.hn < 4 {
			n := copy(r.hdr[r.hn:], b)
			r.hn += n
			b = b[n:]
			if r.hn < 4 {
				return
			}
			r.typ = r.hdr[0]
			r.remain = int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
			switch r.typ {
			case hsClientHello, hsServerHello, hsEncryptedExtensions, hsKeyUpdate:
				r.keep = r.remain <= f.cfg.MaxHandshakeMsg
			default:
				r.keep = false
			}
			r.body = r.body[:0]
		}
		n := min(r.remain, len(b))
		if r.keep {
			r.body = append(r.body, b[:n]...)
		}
		r.remain -= n
		b = b[n:]
		if r.remain == 0 {
			r.hn = 0
			var body []byte
			if r.keep {
				body = r.body
			}
			f.handshake(d, r.typ, body)
			if f.stopped() || f.dir[d].phase == phaseDead {
				return
			}
		}
	}
}

func (f *Flow) handshake(d int, typ byte, body []byte) {
	ds := &f.dir[d]
	switch typ {
	case hsClientHello:
		if d == 1 && body != nil {
			f.clientHello(body)
		}
	case hsServerHello:
		if d == 0 && body != nil && ds.phase == phaseClear {
			f.serverHello(body)
		}
	case hsEncryptedExtensions:
		if d == 0 && body != nil {
			if r := (reader{b: body, ok: true}); true {
				exts := r.bytes(int(r.u16()))
				if r.ok {
					f.extensions(exts, false)
				}
			}
		}
	case hsEndOfEarlyData:
		if d == 1 && ds.phase == phaseEarly {
			ds.phase = phaseHS
		}
	case hsFinished:
		if f.version == VersionTLS13 && ds.phase == phaseHS {
			sec := &f.secrets.ServerApp
			if d == 1 {
				sec = &f.secrets.ClientApp
			}
			if err := ds.hc.set13(f.suite, sec.bytes()); err != nil {
				f.kill(d, ReasonMalformed)
				return
			}
			ds.phase = phaseApp
		}
	case hsKeyUpdate:
		if f.version == VersionTLS13 && ds.phase == phaseApp {
			if err := ds.hc.keyUpdate(); err != nil {
				f.kill(d, ReasonMalformed)
				return
			}
			f.st.KeyUpdates++
		}
	}
}

func (f *Flow) clientHello(body []byte) {
	r := reader{b: body, ok: true}
	r.u16()
	rnd := r.bytes(32)
	r.bytes(r.u8())
	r.bytes(int(r.u16()))
	r.bytes(r.u8())
	if !r.ok {
		f.kill(1, ReasonMalformed)
		return
	}
	if f.haveCH && [32]byte(rnd) != f.clientRandom {
		// A second ClientHello (after HelloRetryRequest) keeps the random.
		f.kill(1, ReasonMalformed)
		return
	}
	f.clientRandom = [32]byte(rnd)
	f.haveCH = true
	f.earlyOffered = false
	exts := r.bytes(int(r.u16()))
	for len(exts) >= 4 {
		typ := binary.BigEndian.Uint16(exts)
		l := int(binary.BigEndian.Uint16(exts[2:]))
		if 4+l > len(exts) {
			break
		}
		if typ == 42 { // early_data
			f.earlyOffered = true
		}
		exts = exts[4+l:]
	}
}

// helloRetryRandom marks a HelloRetryRequest (RFC 8446 §4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

func (f *Flow) serverHello(body []byte) {
	r := reader{b: body, ok: true}
	legacy := r.u16()
	rnd := r.bytes(32)
	r.bytes(r.u8())
	suiteID := r.u16()
	r.u8()
	if !r.ok {
		f.kill(0, ReasonMalformed)
		return
	}
	if [32]byte(rnd) == helloRetryRandom {
		return // the real ServerHello follows the second ClientHello
	}
	f.serverRandom = [32]byte(rnd)
	f.version = legacy
	if len(r.b) > 0 {
		exts := r.bytes(int(r.u16()))
		if !r.ok {
			f.kill(0, ReasonMalformed)
			return
		}
		f.extensions(exts, true)
	}
	f.haveSH = true
	f.suiteID = suiteID
	switch f.version {
	case VersionTLS12, VersionTLS13:
	default:
		f.mark(ReasonUnsupportedVersion)
		return
	}
	f.suite = suiteByID(suiteID, f.version == VersionTLS13)
	if f.suite == nil {
		f.mark(ReasonUnsupportedSuite)
		return
	}
	if f.version == VersionTLS13 {
		// Everything after the ServerHello is under handshake keys.
		f.dir[0].phase = phaseHS
		f.dir[1].phase = phaseHS
		if f.earlyOffered {
			f.dir[1].phase = phaseEarly
		}
	}
}

// extensions reads supported_versions (ServerHello) and ALPN (ServerHello
// in TLS 1.2, EncryptedExtensions in 1.3).
func (f *Flow) extensions(exts []byte, serverHello bool) {
	for len(exts) >= 4 {
		typ := binary.BigEndian.Uint16(exts)
		l := int(binary.BigEndian.Uint16(exts[2:]))
		if 4+l > len(exts) {
			return
		}
		data := exts[4 : 4+l]
		exts = exts[4+l:]
		switch {
		case typ == 43 && serverHello && l == 2:
			f.version = binary.BigEndian.Uint16(data)
		case typ == 16: // ALPN: list length, one name
			r := reader{b: data, ok: true}
			list := r.bytes(int(r.u16()))
			lr := reader{b: list, ok: true}
			name := lr.bytes(lr.u8())
			if lr.ok && len(name) > 0 && len(name) <= 255 {
				if f.alpn != string(name) {
					f.alpn = string(name)
				}
			}
		}
	}
}

// reader reads big-endian fields; a short read clears ok.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) u8() int {
	if len(r.b) < 1 {
		r.ok = false
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.ok = false
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if !r.ok || n > len(r.b) {
		r.ok = false
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
