package pipeline

import (
	"github.com/tapdlp/tapdlp/appproto/dns"
	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/appproto/quic"
	apptls "github.com/tapdlp/tapdlp/appproto/tls"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/rules"
)

// appKind is the application protocol a flow was recognised as.
type appKind uint8

const (
	appUnknown appKind = iota
	appTLS
	appHTTP
	appDNS
	appQUIC
	appOther // plaintext or unrecognised payload
)

var appNames = [...]string{"", "tls", "http", "dns", "quic", ""}

// sniffLen is how many bytes of a TCP direction are gathered, at most, before
// the protocol is decided; most first segments are longer and decide at once.
const sniffLen = 24

// session is one flow's consumer (its reassembly.Stream): it recognises the
// application protocol from the first bytes, whatever the port, feeds the
// matching parser, and keeps what the parsers learned until the record is
// written. Sessions and their parsers are recycled per worker.
type session struct {
	h    *flowHandler
	flow *reassembly.Flow
	app  appKind
	tcp  bool

	sniff  [2][sniffLen]byte
	nsniff [2]int

	tlsp     apptls.Parser
	tlsDone  bool
	quicConn *quic.Conn
	http     [2]httpparse.Parser
	httpPair httpparse.Pairing
	httpSeen [2]bool
	dnsTCP   [2]dns.TCPFramer

	// What the parsers learned.
	name       string // destination name from the payload (SNI, QUIC, HTTP)
	nameSource string
	tls        *record.TLS
	httpRec    *record.HTTP
	dnsRec     *record.DNS
	encrypted  bool

	// Content inspection: one scanner stream per direction, and the content
	// type of the HTTP message being delivered on each side.
	inspect     bool
	scan        [2]classify.Stream
	httpContent [2]classify.Content
	otherChunks int     // chunks of unrecognised TCP payload re-sniffed for HTTP
	rawPending  [2]bool // raw bytes written since the direction's last Sync

	// Policy state: rules that fired so far, and what the last evaluation saw.
	ruleState   rules.FlowState
	alerts      []string
	lastEvalOut uint64
	ts          int64 // packet time of the bytes being parsed

	// Cached destination annotation (see flowHandler.annotate).
	annotated       bool
	annotName       string
	annotDst        record.Dst
	annotSrcService string
	scanner         *classify.Scanner // the scanner the streams were set up with
}

func (s *session) reset(h *flowHandler, f *reassembly.Flow) {
	s.h, s.flow = h, f
	s.app = appUnknown
	s.tcp = f.Proto == capture.ProtoTCP
	s.nsniff = [2]int{}
	s.tlsp.Reset()
	s.tlsDone = false
	if s.quicConn != nil {
		s.quicConn.Reset()
	}
	s.httpPair.Reset()
	s.httpSeen = [2]bool{}
	s.dnsTCP[0].Reset()
	s.dnsTCP[1].Reset()
	s.name, s.nameSource = "", ""
	s.tls, s.httpRec, s.dnsRec = nil, nil, nil
	s.encrypted = false
	s.inspect = h.p.inspection.sampled(f)
	if s.scanner != h.scanner {
		s.scan[0].Init(h.scanner, "out")
		s.scan[1].Init(h.scanner, "in")
		s.scanner = h.scanner
	} else {
		s.scan[0].Reset()
		s.scan[1].Reset()
	}
	s.otherChunks = 0
	s.rawPending = [2]bool{}
	s.ruleState.Reset()
	s.alerts = nil
	s.lastEvalOut = 0
	s.ts = 0
	s.annotated, s.annotName, s.annotDst, s.annotSrcService = false, "", record.Dst{}, ""
}

// Data implements reassembly.Stream.
func (s *session) Data(dir reassembly.Dir, b []byte, ts int64) bool {
	s.ts = ts
	if s.tcp {
		return s.tcpData(dir, b)
	}
	return s.udpData(dir, b, ts)
}

// Gap implements reassembly.Stream: parsers that cannot resynchronise give up.
func (s *session) Gap(dir reassembly.Dir, n int) {
	switch s.app {
	case appHTTP:
		s.http[dir].Gap(n)
	case appDNS:
		s.dnsTCP[dir].Reset()
	case appUnknown:
		s.app = appOther // a gap before the protocol was known: scan what comes as raw bytes
	}
}

func (s *session) tcpData(dir reassembly.Dir, b []byte) bool {
	if s.app == appUnknown {
		var prefix []byte
		prefix, b = s.gather(dir, b)
		if prefix == nil {
			return true // still deciding
		}
		s.app = s.detectTCP(dir, prefix)
		if s.app == appHTTP {
			s.startHTTP()
		}
		if !s.tcpApp(dir, prefix) {
			return false
		}
	}
	if len(b) == 0 {
		return true
	}
	return s.tcpApp(dir, b)
}

// gather collects the first bytes of a direction until the protocol can be
// decided. It returns the bytes to decide on (and to feed first) and the
// rest of b, or a nil prefix while more bytes are needed.
func (s *session) gather(dir reassembly.Dir, b []byte) (prefix, rest []byte) {
	n := s.nsniff[dir]
	if n == 0 && len(b) >= sniffLen {
		return b, nil
	}
	k := copy(s.sniff[dir][n:], b)
	s.nsniff[dir] = n + k
	buf := s.sniff[dir][:n+k]
	if n+k < sniffLen && httpparse.Sniff(buf) == httpparse.SniffNeedMore && !(len(buf) >= 2 && buf[0] == 0x16) {
		return nil, nil
	}
	return buf, b[k:]
}

func (s *session) detectTCP(dir reassembly.Dir, b []byte) appKind {
	if len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03 {
		return appTLS
	}
	switch httpparse.Sniff(b) {
	case httpparse.SniffRequest, httpparse.SniffResponse:
		return appHTTP
	}
	if s.flow.DstPort == 53 || s.flow.SrcPort == 53 {
		return appDNS
	}
	return appOther
}

// tcpApp hands stream bytes to the flow's parser. It returns whether the
// direction is still wanted.
func (s *session) tcpApp(dir reassembly.Dir, b []byte) bool {
	switch s.app {
	case appTLS:
		s.encrypted = true
		if dir != reassembly.DirOut || s.tlsDone {
			return false
		}
		if s.tlsp.Feed(b) {
			s.tlsDone = true
			if s.tlsp.Status() == apptls.Done && !s.tlsp.IsServer {
				s.setTLS(&s.tlsp.Hello, apptls.TransportTCP, "sni")
			}
			return false
		}
		return true
	case appHTTP:
		side := httpparse.Request
		if dir == reassembly.DirIn {
			side = httpparse.Response
		}
		p := &s.http[side]
		if p.Stopped() {
			// Not HTTP after all (or a tunnel): scan what follows as raw bytes.
			return !s.encrypted && s.scanRaw(dir, b)
		}
		p.Feed(b)
		return !p.Stopped() || !s.encrypted
	case appDNS:
		f := &s.dnsTCP[dir]
		f.Feed(b)
		for {
			msg, ok := f.Next()
			if !ok {
				break
			}
			s.dnsMessage(dir, msg)
		}
		return true
	}
	return s.tcpOther(dir, b)
}

// tcpOther handles payload of no recognised protocol: it is scanned raw,
// and the first chunks are re-sniffed for an HTTP start line, so a flow
// picked up in the middle of a message is parsed from its next message on.
func (s *session) tcpOther(dir reassembly.Dir, b []byte) bool {
	if s.otherChunks < maxResniff && s.flow.DstPort != 25 && s.flow.DstPort != 587 {
		s.otherChunks++
		if sn := httpparse.Sniff(b); (sn == httpparse.SniffRequest && dir == reassembly.DirOut) ||
			(sn == httpparse.SniffResponse && dir == reassembly.DirIn) {
			s.app = appHTTP
			s.startHTTP()
			return s.tcpApp(dir, b)
		}
	}
	return s.scanRaw(dir, b) || s.otherChunks < maxResniff
}

// maxResniff bounds how many chunks of an unrecognised stream are checked
// for an HTTP start line.
const maxResniff = 8

func (s *session) udpData(dir reassembly.Dir, b []byte, ts int64) bool {
	if s.app == appUnknown {
		switch {
		case s.flow.DstPort == 53 || s.flow.SrcPort == 53 || s.flow.DstPort == 5353 || dns.LooksLikeDNS(b):
			s.app = appDNS
		case dir == reassembly.DirOut && quic.LooksLikeInitial(b):
			s.app = appQUIC
			if s.quicConn == nil {
				s.quicConn = new(quic.Conn)
			}
		default:
			s.app = appOther
		}
	}
	switch s.app {
	case appDNS:
		s.dnsMessage(dir, b)
		return true
	case appQUIC:
		s.encrypted = true
		if dir != reassembly.DirOut {
			return false
		}
		if s.quicConn.Feed(b) {
			if s.quicConn.Status() == quic.Done {
				s.setTLS(&s.quicConn.Hello, apptls.TransportQUIC, "quic")
			}
			return false
		}
		return true
	}
	return s.scanRaw(dir, b)
}

func (s *session) setTLS(h *apptls.ClientHello, transport byte, source string) {
	s.tls = &record.TLS{
		SNI:     h.SNI,
		Version: apptls.VersionString(h.Version()),
		JA4:     h.JA4(transport),
	}
	if len(h.ALPN) > 0 {
		s.tls.ALPN = append([]string(nil), h.ALPN...)
	}
	if h.SNI != "" {
		s.name, s.nameSource = h.SNI, source
		s.h.changed(s, s.ts)
	}
}

// dnsMessage records the first question and answers of a DNS flow.
func (s *session) dnsMessage(dir reassembly.Dir, msg []byte) {
	m := s.h.dnsMsg
	if m.Parse(msg) != nil {
		return
	}
	if s.dnsRec == nil {
		s.dnsRec = &record.DNS{}
	}
	if s.dnsRec.Query == "" && len(m.QName()) > 0 {
		s.dnsRec.Query = string(m.QName())
		s.dnsRec.QType = dns.TypeString(m.QType)
	}
	if !m.Header.Response() || s.dnsRec.RCode != "" {
		return
	}
	if s.tcp || (s.flow.SrcPort != 53 && s.flow.DstPort != 53 && s.flow.SrcPort != 5353 && s.flow.DstPort != 5353) {
		s.h.dns.add(s.flow.Src, msg, s.ts)
	}
	s.dnsRec.RCode = dns.RCodeString(m.Header.RCode())
	for i := 0; i < m.NumAddrs() && len(s.dnsRec.Answers) < maxDNSAnswers; i++ {
		a, _, _, _ := m.Addr(i)
		s.dnsRec.Answers = append(s.dnsRec.Answers, a.String())
	}
}

// maxDNSAnswers bounds the answers one record lists.
const maxDNSAnswers = 16

// startHTTP readies both sides' parsers, paired so responses know their
// request's method.
func (s *session) startHTTP() {
	cfg := s.h.p.httpConfig()
	s.http[httpparse.Request].Reset(httpparse.Request, cfg, &s.httpPair, (*httpEvents)(s))
	s.http[httpparse.Response].Reset(httpparse.Response, cfg, &s.httpPair, (*httpEvents)(s))
}

// finish tells parsers the flow ended (flushing partial messages).
func (s *session) finish() {
	if s.app == appHTTP {
		s.http[0].Close()
		s.http[1].Close()
	}
}

// fill copies what the session learned into the record (the destination
// is named and classified by flowHandler.annotate).
func (s *session) fill(rec *record.Flow, final bool) {
	rec.App = appNames[s.app]
	rec.TLS, rec.HTTP, rec.DNS = s.tls, s.httpRec, s.dnsRec
	s.inspectRecord(rec, final)
}

// httpEvents receives the HTTP parsers' events for a session.
type httpEvents session

func (e *httpEvents) Start(m *httpparse.Message) {
	s := (*session)(e)
	dir := sideDir(m.Side)
	s.httpContent[dir] = contentOf(m)
	if s.inspect && m.Side == httpparse.Request {
		st := &s.scan[dir]
		before := st.Matches()
		st.WriteDecoded(classify.KindURLEncoded, m.Path)
		if len(m.Query) > 0 {
			st.EndContent()
			st.WriteDecoded(classify.KindURLEncoded, m.Query)
		}
		st.EndContent()
		s.afterScan(before, dir)
	}
	if m.Side == httpparse.Response {
		if s.httpRec != nil && s.httpRec.Status == 0 {
			s.httpRec.Status = m.Status
		}
		return
	}
	if s.httpRec == nil {
		s.httpRec = &record.HTTP{
			Method:    string(m.Method),
			Host:      string(m.Host),
			URI:       s.h.redact(m.Path),
			UserAgent: string(m.UserAgent),
		}
		if len(m.Host) > 0 && s.nameSource == "" {
			s.name, s.nameSource = s.httpRec.Host, "http"
			if string(m.Method) == "CONNECT" {
				s.nameSource = "connect"
			}
			s.h.changed(s, s.ts)
		}
	}
	s.httpRec.Requests++
}

func (e *httpEvents) Header(m *httpparse.Message, name, value []byte) {
	s := (*session)(e)
	if !s.inspect {
		return
	}
	dir := sideDir(m.Side)
	before := s.scan[dir].Matches()
	s.scan[dir].WriteHeader(name, value)
	s.afterScan(before, dir)
}

func (e *httpEvents) Body(m *httpparse.Message, data []byte) {
	s := (*session)(e)
	if !s.inspect || m.Flags.Has(httpparse.FlagUndecoded) && m.NCodings > 0 {
		return // still compressed with a coding we cannot undo: nothing to read
	}
	dir := sideDir(m.Side)
	before := s.scan[dir].Matches()
	s.scan[dir].WriteContent(s.httpContent[dir], data)
	s.afterScan(before, dir)
}

func (e *httpEvents) End(m *httpparse.Message) {
	s := (*session)(e)
	dir := sideDir(m.Side)
	before := s.scan[dir].Matches()
	s.scan[dir].Sync() // a message boundary: judge everything now, so alerts need not wait for the flow's end
	s.afterScan(before, dir)
}

// Stop: after a CONNECT or Upgrade the stream is a tunnel (encrypted as far
// as the sensor knows); a side that turns out not to be HTTP is scanned as
// raw bytes from here on (see tcpApp).
func (e *httpEvents) Stop(side httpparse.Side, reason httpparse.Reason) {
	s := (*session)(e)
	if reason == httpparse.ReasonTunnel {
		s.encrypted = true
	}
}

func sideDir(side httpparse.Side) reassembly.Dir {
	if side == httpparse.Request {
		return reassembly.DirOut
	}
	return reassembly.DirIn
}

// contentOf maps a message's Content-Type to the scanner's decoding.
func contentOf(m *httpparse.Message) classify.Content {
	if len(m.ContentType) == 0 {
		return classify.Content{}
	}
	if len(m.Boundary) > 0 {
		return classify.ParseContentType(string(m.ContentType) + "; boundary=" + string(m.Boundary))
	}
	return classify.ParseContentType(string(m.ContentType))
}
