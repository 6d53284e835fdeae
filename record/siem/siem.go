// Package siem renders native records in the formats SIEMs ingest without
// a parser: Elastic Common Schema 8.x documents (AppendECS) and Suricata EVE
// JSON events (AppendEVE). Both append to a caller-owned buffer without
// reflection. Field mappings are documented in README.md, "Outputs for SIEMs".
// Records never hold a raw sensitive value (evidence is masked upstream);
// these renderers copy only fields of the native record, so neither do the
// documents they write.
package siem

import (
	"hash/fnv"
	"net/netip"
	"strconv"

	"github.com/tapdlp/tapdlp/internal/jsonw"
	"github.com/tapdlp/tapdlp/record"
)

// Format is an output format of a sink.
type Format uint8

// The formats. The zero value is the native record JSON.
const (
	Native Format = iota
	ECS
	EVE
	NumFormats
)

var formatNames = [NumFormats]string{"native", "ecs", "eve"}

// Formats lists the names accepted by ParseFormat, for configuration checks.
var Formats = formatNames[:]

// String returns the format's configuration name.
func (f Format) String() string {
	if f >= NumFormats {
		return "unknown"
	}
	return formatNames[f]
}

// ParseFormat returns the format named s; "" is Native.
func ParseFormat(s string) (Format, bool) {
	if s == "" {
		return Native, true
	}
	for i, n := range formatNames {
		if n == s {
			return Format(i), true
		}
	}
	return 0, false
}

const (
	ecsTime = "2006-01-02T15:04:05.000000Z"
	eveTime = "2006-01-02T15:04:05.000000-0700"
	vendor  = "tapdlp"
)

// SeverityScore is ECS event.severity for a rule severity: low 21,
// medium 47, high 73, critical 99 (the risk-score bands Elastic's detection
// rules use); 0 for an unknown severity.
func SeverityScore(sev string) int {
	switch sev {
	case "low":
		return 21
	case "medium":
		return 47
	case "high":
		return 73
	case "critical":
		return 99
	}
	return 0
}

// EVESeverity is Suricata's alert.severity for a rule severity: 1 for
// critical and high, 2 for medium, 3 for low (and unknown).
func EVESeverity(sev string) int {
	switch sev {
	case "critical", "high":
		return 1
	case "medium":
		return 2
	}
	return 3
}

// SignatureID is the EVE alert.signature_id of a rule: the 32-bit FNV-1a
// hash of the rule id, reduced into 1,000,000..1,999,999 (the range
// Suricata reserves for local rules), so an id keeps its number across
// restarts and sensors.
func SignatureID(rule string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(rule))
	return 1_000_000 + h.Sum32()%1_000_000
}

// EVEFlowID is the EVE flow_id for a native flow_id (16 hex digits): its
// low 51 bits, so it stays exact in a JSON consumer's float64. 0 when the
// id is not hex.
func EVEFlowID(id string) uint64 {
	v, err := strconv.ParseUint(id, 16, 64)
	if err != nil {
		return 0
	}
	return v & (1<<51 - 1)
}

// AppendSensor appends the native JSON object of s: {"name","host","interface"}
// with empty members left out.
func AppendSensor(dst []byte, s *record.Sensor) []byte { return s.AppendJSON(dst) }

// AppendECS appends the ECS document of rec (a *record.Flow, *record.Alert
// or *record.Volume) to dst. s (may be nil) fills observer.*.
func AppendECS(dst []byte, rec record.Routed, s *record.Sensor) []byte {
	e := jsonw.Object(dst)
	switch r := rec.(type) {
	case *record.Flow:
		ecsFlow(&e, r)
	case *record.Alert:
		ecsAlert(&e, r)
	case *record.Volume:
		ecsVolume(&e, r)
	}
	ecsObserver(&e, s)
	return e.End()
}

func ecsObserver(e *enc, s *record.Sensor) {
	e.Open("observer")
	if s != nil {
		e.StrOmit("name", s.Name)
		e.StrOmit("hostname", s.Host)
		if s.Interface != "" {
			e.Open("ingress")
			e.Open("interface")
			e.StrOmit("name", s.Interface)
			e.Close()
			e.Close()
		}
	}
	e.StrOmit("vendor", vendor)
	e.StrOmit("product", vendor)
	e.StrOmit("type", "sensor")
	e.Close()
}

func ecsEvent(e *enc, kind string, category []string, typ []string, action, dataset string) {
	e.Open("event")
	e.StrOmit("kind", kind)
	e.StrsOmit("category", category)
	e.StrsOmit("type", typ)
	e.StrOmit("action", action)
	e.StrOmit("dataset", dataset)
	e.StrOmit("module", vendor)
}

// ecsTransport is network.transport: IANA keyword, lower case.
func ecsTransport(proto string) string {
	if proto == "icmp6" {
		return "ipv6-icmp"
	}
	return proto
}

func direction(d *record.Dst) string {
	if d.Category == "internal" {
		return "internal"
	}
	return "outbound"
}

func ecsFlow(e *enc, f *record.Flow) {
	timeKey(e, "@timestamp", f.TS.Time, ecsTime)
	typ := "end"
	if f.State == record.StateActive {
		typ = "info"
	}
	types := [3]string{"connection", typ, "protocol"}
	n := 2
	if f.App != "" {
		n = 3
	}
	ecsEvent(e, "event", []string{"network"}, types[:n], "", "tapdlp.flow")
	e.Key("action") // "flow_" + state, without building the string
	e.B = append(jsonw.AppendEscaped(append(e.B, `"flow_`...), f.State), '"')
	timeKey(e, "start", f.Start.Time, ecsTime)
	timeKey(e, "end", f.End.Time, ecsTime)
	e.Int("duration", f.End.Sub(f.Start.Time).Nanoseconds())
	e.Close()

	e.Open("source")
	e.StrOmit("ip", f.Src.IP)
	e.Uint("port", uint64(f.Src.Port))
	e.Uint("bytes", f.Bytes.Out)
	e.Uint("packets", f.Packets.Out)
	e.Close()
	e.Open("destination")
	ecsDst(e, &f.Dst)
	e.Uint("bytes", f.Bytes.In)
	e.Uint("packets", f.Packets.In)
	e.Close()

	e.Open("network")
	e.StrOmit("transport", ecsTransport(f.Proto))
	e.StrOmit("protocol", f.App)
	e.StrOmit("community_id", f.CommunityID)
	e.Uint("bytes", f.Bytes.Out+f.Bytes.In)
	e.Uint("packets", f.Packets.Out+f.Packets.In)
	e.StrOmit("direction", direction(&f.Dst))
	e.Close()

	if h := f.HTTP; h != nil {
		e.Open("http")
		if h.Method != "" {
			e.Open("request")
			e.StrOmit("method", h.Method)
			e.Close()
		}
		if h.Status != 0 {
			e.Open("response")
			e.Int("status_code", int64(h.Status))
			e.Close()
		}
		e.Close()
		if h.Host != "" || h.URI != "" {
			e.Open("url")
			e.StrOmit("domain", h.Host)
			e.StrOmit("path", h.URI)
			e.Close()
		}
		if h.UserAgent != "" {
			e.Open("user_agent")
			e.StrOmit("original", h.UserAgent)
			e.Close()
		}
	}
	if t := f.TLS; t != nil {
		e.Open("tls")
		if t.Version != "" {
			e.StrOmit("version", t.Version)
			e.StrOmit("version_protocol", "tls")
		}
		if len(t.ALPN) > 0 {
			e.StrOmit("next_protocol", t.ALPN[0])
		}
		e.Open("client")
		e.StrOmit("server_name", t.SNI)
		e.StrOmit("ja4", t.JA4)
		e.Close()
		e.Close()
	}
	if d := f.DNS; d != nil {
		e.Open("dns")
		if d.Query != "" || d.QType != "" {
			e.Open("question")
			e.StrOmit("name", d.Query)
			e.StrOmit("type", d.QType)
			e.Close()
		}
		e.StrOmit("response_code", d.RCode)
		n := 0
		for _, a := range d.Answers {
			if _, err := netip.ParseAddr(a); err == nil {
				if n == 0 {
					e.OpenArr("resolved_ip")
				}
				e.Elem()
				e.B = jsonw.AppendString(e.B, a)
				n++
			}
		}
		if n > 0 {
			e.CloseArr()
		}
		e.Close()
	}

	e.Open("tapdlp")
	e.StrOmit("flow_id", f.FlowID)
	e.StrOmit("state", f.State)
	e.StrOmit("conn_state", f.ConnState)
	e.StrOmit("history", f.History)
	e.Uint("missed_bytes", f.MissedBytes)
	if r := f.Reject; r != nil {
		e.Open("reject")
		e.StrOmit("by", r.By)
		if r.Type != nil {
			e.Uint("type", uint64(*r.Type))
		}
		if r.Code != nil {
			e.Uint("code", uint64(*r.Code))
		}
		e.StrOmit("from", r.From)
		e.Close()
	}
	tapdlpDst(e, &f.Dst)
	findings(e, f.Sensitive)
	if in := f.Inspected; in != nil {
		e.Open("inspected")
		e.Uint("out", in.Out)
		e.Uint("in", in.In)
		e.Bool("truncated", in.Truncated)
		if in.Encrypted {
			e.Bool("encrypted", true)
		}
		e.StrOmit("skipped", in.Skipped)
		e.StrsOmit("truncated_reasons", in.TruncatedReasons)
		e.Close()
	}
	e.StrsOmit("tags", f.Tags)
	e.StrsOmit("alerts", f.Alerts)
	e.Close()
}

// ecsDst writes the destination.* members every record type shares.
func ecsDst(e *enc, d *record.Dst) {
	e.StrOmit("ip", d.IP)
	e.Uint("port", uint64(d.Port))
	e.StrOmit("domain", d.Name)
	e.StrOmit("registered_domain", d.Domain)
}

// tapdlpDst writes what tapdlp knows about a destination beyond ECS.
func tapdlpDst(e *enc, d *record.Dst) {
	if d.Category == "" && d.Vendor == "" && d.Service == "" && !d.FirstSeen && d.Resolution == "" && d.NameSource == "" && d.IOC == nil {
		return
	}
	e.Open("dst")
	e.StrOmit("category", d.Category)
	e.StrOmit("vendor", d.Vendor)
	e.StrOmit("service", d.Service)
	e.StrOmit("name_source", d.NameSource)
	if d.FirstSeen {
		e.Bool("first_seen", true)
	}
	e.StrOmit("resolution", d.Resolution)
	if d.IOC != nil {
		e.StrOmit("ioc_list", d.IOC.List)
	}
	e.Close()
}

// findings writes sensitive findings: types, counts and masked evidence as
// the native record has them (never a raw value).
func findings(e *enc, fs []record.Finding) {
	if len(fs) == 0 {
		return
	}
	e.OpenArr("sensitive")
	for i := range fs {
		f := &fs[i]
		e.OpenElem()
		e.StrOmit("type", f.Type)
		e.StrOmit("class", f.Class)
		e.Int("count", int64(f.Count))
		e.StrOmit("direction", f.Direction)
		e.StrOmit("confidence", f.Confidence)
		if f.TestNumber {
			e.Bool("test_number", true)
		}
		e.StrsOmit("evidence", f.Evidence)
		e.StrsOmit("hashes", f.Hashes)
		e.Close()
	}
	e.CloseArr()
}

func ecsAlert(e *enc, a *record.Alert) {
	timeKey(e, "@timestamp", a.TS.Time, ecsTime)
	ecsEvent(e, "alert", []string{"network", "intrusion_detection"}, []string{"info"}, "rule_fired", "tapdlp.alert")
	if s := SeverityScore(a.Severity); s != 0 {
		e.Int("severity", int64(s))
	}
	e.StrOmit("reason", a.Reason)
	e.Close()
	e.Open("rule")
	e.StrOmit("id", a.Rule)
	e.StrOmit("name", a.Rule)
	e.StrOmit("description", a.Description)
	e.Close()
	e.Open("source")
	e.StrOmit("ip", a.Src.IP)
	e.Uint("port", uint64(a.Src.Port))
	e.Close()
	e.Open("destination")
	ecsDst(e, &a.Dst)
	e.Close()
	e.Open("network")
	e.StrOmit("community_id", a.CommunityID)
	e.StrOmit("direction", direction(&a.Dst))
	e.Close()
	e.Open("tapdlp")
	e.StrOmit("flow_id", a.FlowID)
	e.StrOmit("severity", a.Severity)
	e.StrOmit("reason", a.Reason)
	if a.Count != 0 {
		e.Int("count", int64(a.Count))
	}
	tapdlpDst(e, &a.Dst)
	findings(e, a.Sensitive)
	alertPcap(e, a.PCAP)
	e.Close()
}

// alertPcap writes where the alerting flow's packets are (alerts.pcap_dir)
// as tapdlp.pcap: neither ECS nor EVE has a field for a pcap reference.
func alertPcap(e *enc, p *record.PCAP) {
	if p == nil {
		return
	}
	e.Open("pcap")
	e.StrOmit("file", p.File)
	e.Int("offset", p.Offset)
	e.Int("packets", int64(p.Packets))
	if p.Truncated {
		e.Bool("truncated", true)
	}
	e.Close()
}

func ecsVolume(e *enc, v *record.Volume) {
	timeKey(e, "@timestamp", v.TS.Time, ecsTime)
	ecsEvent(e, "metric", []string{"network"}, []string{"info"}, "volume", "tapdlp.volume")
	e.Close()
	e.Open("tapdlp")
	e.Open("volume")
	e.StrOmit("key", v.Key)
	e.StrOmit("window", v.Window)
	e.Uint("bytes_out", v.BytesOut)
	e.Float("baseline", v.Baseline)
	e.Close()
	e.Close()
}

// eveProto is Suricata's proto: the upper-case protocol name.
func eveProto(p string) string {
	switch p {
	case "tcp":
		return "TCP"
	case "udp":
		return "UDP"
	case "icmp":
		return "ICMP"
	case "sctp":
		return "SCTP"
	case "icmp6":
		return "IPv6-ICMP"
	}
	return p
}

// eveHeader writes the members every EVE event starts with.
func eveHeader(e *enc, ts record.Time, flowID, typ string, s *record.Sensor) {
	timeKey(e, "timestamp", ts.Time, eveTime)
	if id := EVEFlowID(flowID); id != 0 {
		e.Uint("flow_id", id)
	}
	if s != nil {
		e.StrOmit("in_iface", s.Interface)
	}
	e.StrOmit("event_type", typ)
}

func eveTuple(e *enc, src *record.Src, dst *record.Dst, proto string) {
	e.StrOmit("src_ip", src.IP)
	e.Uint("src_port", uint64(src.Port))
	e.StrOmit("dest_ip", dst.IP)
	e.Uint("dest_port", uint64(dst.Port))
	e.StrOmit("proto", eveProto(proto))
}

func eveTrailer(e *enc, s *record.Sensor) {
	if s == nil {
		return
	}
	h := s.Name
	if h == "" {
		h = s.Host
	}
	e.StrOmit("host", h)
}

// AppendEVE appends the EVE events of rec to dst, each one JSON object
// without a newline, and calls emit with each. A flow gives a "flow" event
// and, when the record has them, "http", "tls" and "dns" events as
// Suricata writes them; an alert gives an "alert" event. A volume record
// has no EVE counterpart and gives none. dst is reused between events:
// emit must not retain its argument. It returns the buffer for reuse.
func AppendEVE(dst []byte, rec record.Routed, s *record.Sensor, emit func([]byte)) []byte {
	switch r := rec.(type) {
	case *record.Flow:
		for _, typ := range [...]string{"flow", "http", "tls", "dns"} {
			if !eveHas(r, typ) {
				continue
			}
			e := jsonw.Object(dst[:0])
			eveFlowEvent(&e, r, typ, s)
			dst = e.End()
			emit(dst)
		}
	case *record.Alert:
		e := jsonw.Object(dst[:0])
		eveAlert(&e, r, s)
		dst = e.End()
		emit(dst)
	}
	return dst
}

func eveHas(f *record.Flow, typ string) bool {
	switch typ {
	case "http":
		return f.HTTP != nil
	case "tls":
		return f.TLS != nil && f.App != "quic"
	case "dns":
		return f.DNS != nil
	}
	return true
}

// eveAppProto is Suricata's app_proto for a native app name.
func eveAppProto(app string) string {
	switch app {
	case "http2":
		return "http2"
	case "":
		return "failed"
	}
	return app
}

func eveFlowEvent(e *enc, f *record.Flow, typ string, s *record.Sensor) {
	eveHeader(e, f.TS, f.FlowID, typ, s)
	eveTuple(e, &f.Src, &f.Dst, f.Proto)
	if f.App != "" || typ == "flow" {
		e.StrOmit("app_proto", eveAppProto(f.App))
	}
	e.StrOmit("community_id", f.CommunityID)
	switch typ {
	case "flow":
		e.Open("flow")
		e.Uint("pkts_toserver", f.Packets.Out)
		e.Uint("pkts_toclient", f.Packets.In)
		e.Uint("bytes_toserver", f.Bytes.Out)
		e.Uint("bytes_toclient", f.Bytes.In)
		timeKey(e, "start", f.Start.Time, eveTime)
		timeKey(e, "end", f.End.Time, eveTime)
		e.Int("age", int64(f.End.Sub(f.Start.Time).Seconds()))
		e.StrOmit("state", eveState(f))
		e.StrOmit("reason", eveReason(f.State))
		e.Bool("alerted", len(f.Alerts) > 0)
		e.Close()
	case "http":
		h := f.HTTP
		e.Uint("tx_id", 0)
		e.Open("http")
		e.StrOmit("hostname", h.Host)
		e.StrOmit("url", h.URI)
		e.StrOmit("http_user_agent", h.UserAgent)
		e.StrOmit("http_method", h.Method)
		if h.Status != 0 {
			e.Int("status", int64(h.Status))
		}
		e.Close()
	case "tls":
		t := f.TLS
		e.Open("tls")
		e.StrOmit("sni", t.SNI)
		if t.Version != "" {
			e.Key("version") // Suricata writes "TLS 1.3"
			e.B = append(jsonw.AppendEscaped(append(e.B, `"TLS `...), t.Version), '"')
		}
		e.StrOmit("ja4", t.JA4)
		e.Close()
	case "dns":
		d := f.DNS
		e.Open("dns")
		e.Int("version", 2)
		if d.RCode == "" {
			e.StrOmit("type", "query")
			e.StrOmit("rrname", d.Query)
			e.StrOmit("rrtype", d.QType)
		} else {
			e.StrOmit("type", "answer")
			e.StrOmit("rrname", d.Query)
			e.StrOmit("rrtype", d.QType)
			e.StrOmit("rcode", d.RCode)
			if len(d.Answers) > 0 {
				e.OpenArr("answers")
				for _, a := range d.Answers {
					e.OpenElem()
					e.StrOmit("rrname", d.Query)
					e.StrOmit("rrtype", answerType(a, d.QType))
					e.StrOmit("rdata", a)
					e.Close()
				}
				e.CloseArr()
			}
		}
		e.Close()
	}
	if typ == "flow" && (len(f.Sensitive) > 0 || f.Dst.Category != "") {
		e.Open("tapdlp")
		e.StrOmit("flow_id", f.FlowID)
		tapdlpDst(e, &f.Dst)
		findings(e, f.Sensitive)
		e.Close()
	}
	eveTrailer(e, s)
}

// answerType guesses an answer's rrtype: addresses are A or AAAA, names
// keep the question's type (the native record keeps no per-answer type).
func answerType(a, qtype string) string {
	if ip, err := netip.ParseAddr(a); err == nil {
		if ip.Is4() {
			return "A"
		}
		return "AAAA"
	}
	return qtype
}

// eveState is Suricata's flow.state: closed after FIN or RST, established
// when both sides sent, new otherwise.
func eveState(f *record.Flow) string {
	switch {
	case f.State == record.StateClosed || f.State == record.StateReset:
		return "closed"
	case f.Packets.In > 0 && f.Packets.Out > 0:
		return "established"
	}
	return "new"
}

// eveReason is Suricata's flow.reason: why the record was written.
func eveReason(state string) string {
	switch state {
	case record.StateShutdown:
		return "shutdown"
	case record.StateActive:
		return "forced"
	}
	return "timeout"
}

func eveAlert(e *enc, a *record.Alert, s *record.Sensor) {
	eveHeader(e, a.TS, a.FlowID, "alert", s)
	eveTuple(e, &a.Src, &a.Dst, "")
	e.StrOmit("community_id", a.CommunityID)
	e.Open("alert")
	e.StrOmit("action", "allowed")
	e.Int("gid", 1)
	e.Uint("signature_id", uint64(SignatureID(a.Rule)))
	e.Int("rev", 1)
	sig := a.Description
	if sig == "" {
		sig = a.Rule
	}
	e.StrOmit("signature", sig)
	e.StrOmit("category", "Data Loss Prevention")
	e.Int("severity", int64(EVESeverity(a.Severity)))
	e.Close()
	e.Open("tapdlp")
	e.StrOmit("rule", a.Rule)
	e.StrOmit("severity", a.Severity)
	e.StrOmit("reason", a.Reason)
	if a.Count != 0 {
		e.Int("count", int64(a.Count))
	}
	e.StrOmit("dest_name", a.Dst.Name)
	e.StrOmit("dest_domain", a.Dst.Domain)
	tapdlpDst(e, &a.Dst)
	findings(e, a.Sensitive)
	alertPcap(e, a.PCAP)
	e.Close()
	eveTrailer(e, s)
}
