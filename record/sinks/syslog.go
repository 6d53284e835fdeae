package sinks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// ErrSyslog wraps every syslog transport error.
var ErrSyslog = errors.New("syslog")

// Syslog severities (RFC 5424 §6.2.1): an alert's follows its rule's
// severity so a SIEM can page on the PRI alone — critical 2 (Critical),
// high 3 (Error), medium 4 (Warning), low 5 (Notice); an alert of unknown
// severity is a warning; flows and volume records are informational (6).
const (
	sevCritical = 2
	sevError    = 3
	sevWarning  = 4
	sevNotice   = 5
	sevInfo     = 6
)

// syslogSeverity is the RFC 5424 severity of a record of kind k whose
// alert severity is sev.
func syslogSeverity(k record.Kind, sev record.Severity) int {
	if k != record.KindAlert {
		return sevInfo
	}
	switch sev {
	case record.SevCritical:
		return sevCritical
	case record.SevHigh:
		return sevError
	case record.SevLow:
		return sevNotice
	}
	return sevWarning
}

// syslogOptions configure one syslog destination. Zero values mean defaults.
type syslogOptions struct {
	Network      string      // tcp, tls or udp
	Address      string      // host:port
	TLS          *tls.Config // for tls
	Facility     int         // 0..23 (default 16, local0)
	Hostname     string      // HOSTNAME field ("-" when empty)
	AppName      string      // APP-NAME (default tapdlp)
	ProcID       string      // PROCID ("-" when empty)
	DialTimeout  time.Duration
	WriteTimeout time.Duration    // also bounds the wait for the peer's TCP acknowledgement
	Now          func() time.Time // clock for the TIMESTAMP field (tests)
	Stats        *Stats
}

// appendHeaderField appends an RFC 5424 header field: printable US-ASCII
// without spaces, at most maxLen bytes, "-" (NILVALUE) when empty. Anything
// else is replaced by '_' so a hostile value cannot break the framing.
func appendHeaderField(dst []byte, v []byte, maxLen int) []byte {
	if len(v) == 0 {
		return append(dst, '-')
	}
	if len(v) > maxLen {
		v = v[:maxLen]
	}
	for _, c := range v {
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// formatSyslog appends one RFC 5424 message for rec:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//
// PRI is facility*8 + syslogSeverity (alerts by rule severity). MSGID is
// the record type; MSG is the JSON record itself, without a BOM
// (receivers that parse JSON reject one). STRUCTURED-DATA is NILVALUE: all
// the structure is in the JSON.
func formatSyslog(dst []byte, facility int, ts time.Time, host, app, procid string, kind record.Kind, severity record.Severity, rec []byte) []byte {
	typ := kindName(kind)
	sev := syslogSeverity(kind, severity)
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(facility*8+sev), 10)
	dst = append(dst, ">1 "...)
	dst = ts.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, []byte(host), 255)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, []byte(app), 48)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, []byte(procid), 128)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, []byte(typ), 32)
	dst = append(dst, " - "...)
	return append(dst, rec...)
}

// appendOctetCounted frames msg for stream transports (RFC 6587 §3.4.1).
func appendOctetCounted(dst, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}

type syslogTransport struct {
	opt     syslogOptions
	conn    net.Conn
	tcp     *net.TCPConn // the socket under conn, for acknowledgement checks
	dialled bool
	buf     []byte
	msg     []byte
}

func newSyslogTransport(opt syslogOptions) *syslogTransport {
	if opt.Facility == 0 {
		opt.Facility = 16
	}
	if opt.AppName == "" {
		opt.AppName = "tapdlp"
	}
	if opt.DialTimeout <= 0 {
		opt.DialTimeout = 10 * time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Stats == nil {
		opt.Stats = new(Stats)
	}
	return &syslogTransport{opt: opt}
}

func (t *syslogTransport) dial(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.opt.DialTimeout)
	defer cancel()
	var d net.Dialer
	switch t.opt.Network {
	case "udp":
		c, err := d.DialContext(ctx, "udp", t.opt.Address)
		if err != nil {
			return fmt.Errorf("%w: dial udp %s: %w", ErrSyslog, t.opt.Address, err)
		}
		t.conn = c
	case "tcp", "tls":
		c, err := d.DialContext(ctx, "tcp", t.opt.Address)
		if err != nil {
			return fmt.Errorf("%w: dial %s %s: %w", ErrSyslog, t.opt.Network, t.opt.Address, err)
		}
		t.tcp, _ = c.(*net.TCPConn)
		t.conn = c
		if t.opt.Network == "tls" {
			tc := tls.Client(c, t.opt.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = c.Close()
				t.conn, t.tcp = nil, nil
				return fmt.Errorf("%w: tls handshake with %s: %w", ErrSyslog, t.opt.Address, err)
			}
			t.conn = tc
		}
	default:
		return fmt.Errorf("%w: unknown network %q", ErrSyslog, t.opt.Network)
	}
	if t.dialled {
		t.opt.Stats.Reconnects.Add(1)
	}
	t.dialled = true
	return nil
}

func (t *syslogTransport) drop() {
	if t.conn != nil {
		_ = t.conn.Close()
	}
	t.conn, t.tcp = nil, nil
}

func (t *syslogTransport) send(ctx context.Context, recs [][]byte) (int, error) {
	if t.conn == nil {
		if err := t.dial(ctx); err != nil {
			return 0, err
		}
	}
	now := t.opt.Now()
	deadline := time.Now().Add(t.opt.WriteTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = t.conn.SetWriteDeadline(deadline)
	if t.opt.Network == "udp" {
		// One datagram per message (RFC 5426); no delivery confirmation
		// exists, a refused port shows up as an error on a later write.
		for i, r := range recs {
			kind, _, js := unframe(r)
			t.msg = formatSyslog(t.msg[:0], t.opt.Facility, now, t.opt.Hostname, t.opt.AppName, t.opt.ProcID, kind, frameSeverity(r), js)
			if _, err := t.conn.Write(t.msg); err != nil {
				t.drop()
				return i, fmt.Errorf("%w: write udp %s: %w", ErrSyslog, t.opt.Address, err)
			}
		}
		return len(recs), nil
	}
	t.buf = t.buf[:0]
	for _, r := range recs {
		kind, _, js := unframe(r)
		t.msg = formatSyslog(t.msg[:0], t.opt.Facility, now, t.opt.Hostname, t.opt.AppName, t.opt.ProcID, kind, frameSeverity(r), js)
		t.buf = appendOctetCounted(t.buf, t.msg)
	}
	if _, err := t.conn.Write(t.buf); err != nil {
		t.drop()
		return 0, fmt.Errorf("%w: write %s %s: %w", ErrSyslog, t.opt.Network, t.opt.Address, err)
	}
	// A successful write only means the kernel took the bytes. Wait until
	// the receiver's TCP stack acknowledged them, so a receiver that went
	// away makes the batch fail (and be re-sent) instead of vanishing.
	peerClosed, err := waitAcked(ctx, t.tcp, deadline)
	if err != nil || peerClosed {
		t.drop()
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s: %w", ErrSyslog, t.opt.Network, t.opt.Address, err)
	}
	return len(recs), nil
}

func (t *syslogTransport) close() error {
	if t.conn == nil {
		return nil
	}
	err := t.conn.Close()
	t.conn, t.tcp = nil, nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: close: %w", ErrSyslog, err)
	}
	return nil
}
