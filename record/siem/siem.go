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
func AppendSensor(dst []byte, s *record.Sensor) []byte {
	e := enc{b: append(dst, '{')}
	e.str("name", s.Name)
	e.str("host", s.Host)
	e.str("interface", s.Interface)
	return append(e.b, '}')
}

// AppendECS appends the ECS document of rec (a *record.Flow, *record.Alert
// or *record.Volume) to dst. s (may be nil) fills observer.*.
func AppendECS(dst []byte, rec record.Routed, s *record.Sensor) []byte {
	e := enc{b: append(dst, '{')}
	switch r := rec.(type) {
	case *record.Flow:
		ecsFlow(&e, r)
	case *record.Alert:
		ecsAlert(&e, r)
	case *record.Volume:
		ecsVolume(&e, r)
	}
	ecsObserver(&e, s)
	return append(e.b, '}')
}

func ecsObserver(e *enc, s *record.Sensor) {
	e.open("observer")
	if s != nil {
		e.str("name", s.Name)
		e.str("hostname", s.Host)
		if s.Interface != "" {
			e.open("ingress")
			e.open("interface")
			e.str("name", s.Interface)
			e.close()
			e.close()
		}
	}
	e.str("vendor", vendor)
	e.str("product", vendor)
	e.str("type", "sensor")
	e.close()
}

func ecsEvent(e *enc, kind string, category []string, typ []string, action, dataset string) {
	e.open("event")
	e.str("kind", kind)
	e.strs("category", category...)
	e.strs("type", typ...)
	e.str("action", action)
	e.str("dataset", dataset)
	e.str("module", vendor)
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
	e.time("@timestamp", f.TS.Time, ecsTime)
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
	e.key("action") // "flow_" + state, without building the string
	e.b = append(appendEscaped(append(e.b, `"flow_`...), f.State), '"')
	e.time("start", f.Start.Time, ecsTime)
	e.time("end", f.End.Time, ecsTime)
	e.int("duration", f.End.Sub(f.Start.Time).Nanoseconds())
	e.close()

	e.open("source")
	e.str("ip", f.Src.IP)
	e.uint("port", uint64(f.Src.Port))
	e.uint("bytes", f.Bytes.Out)
	e.uint("packets", f.Packets.Out)
	e.close()
	e.open("destination")
	ecsDst(e, &f.Dst)
	e.uint("bytes", f.Bytes.In)
	e.uint("packets", f.Packets.In)
	e.close()

	e.open("network")
	e.str("transport", ecsTransport(f.Proto))
	e.str("protocol", f.App)
	e.str("community_id", f.CommunityID)
	e.uint("bytes", f.Bytes.Out+f.Bytes.In)
	e.uint("packets", f.Packets.Out+f.Packets.In)
	e.str("direction", direction(&f.Dst))
	e.close()

	if h := f.HTTP; h != nil {
		e.open("http")
		if h.Method != "" {
			e.open("request")
			e.str("method", h.Method)
			e.close()
		}
		if h.Status != 0 {
			e.open("response")
			e.int("status_code", int64(h.Status))
			e.close()
		}
		e.close()
		if h.Host != "" || h.URI != "" {
			e.open("url")
			e.str("domain", h.Host)
			e.str("path", h.URI)
			e.close()
		}
		if h.UserAgent != "" {
			e.open("user_agent")
			e.str("original", h.UserAgent)
			e.close()
		}
	}
	if t := f.TLS; t != nil {
		e.open("tls")
		if t.Version != "" {
			e.str("version", t.Version)
			e.str("version_protocol", "tls")
		}
		if len(t.ALPN) > 0 {
			e.str("next_protocol", t.ALPN[0])
		}
		e.open("client")
		e.str("server_name", t.SNI)
		e.str("ja4", t.JA4)
		e.close()
		e.close()
	}
	if d := f.DNS; d != nil {
		e.open("dns")
		if d.Query != "" || d.QType != "" {
			e.open("question")
			e.str("name", d.Query)
			e.str("type", d.QType)
			e.close()
		}
		e.str("response_code", d.RCode)
		n := 0
		for _, a := range d.Answers {
			if _, err := netip.ParseAddr(a); err == nil {
				if n == 0 {
					e.openArr("resolved_ip")
				}
				e.elem()
				e.b = appendString(e.b, a)
				n++
			}
		}
		if n > 0 {
			e.closeArr()
		}
		e.close()
	}

	e.open("tapdlp")
	e.str("flow_id", f.FlowID)
	e.str("state", f.State)
	e.str("conn_state", f.ConnState)
	e.str("history", f.History)
	e.uint("missed_bytes", f.MissedBytes)
	if r := f.Reject; r != nil {
		e.open("reject")
		e.str("by", r.By)
		if r.Type != nil {
			e.uint("type", uint64(*r.Type))
		}
		if r.Code != nil {
			e.uint("code", uint64(*r.Code))
		}
		e.str("from", r.From)
		e.close()
	}
	tapdlpDst(e, &f.Dst)
	findings(e, f.Sensitive)
	if in := f.Inspected; in != nil {
		e.open("inspected")
		e.uint("out", in.Out)
		e.uint("in", in.In)
		e.bool("truncated", in.Truncated)
		if in.Encrypted {
			e.bool("encrypted", true)
		}
		e.str("skipped", in.Skipped)
		e.strs("truncated_reasons", in.TruncatedReasons...)
		e.close()
	}
	e.strs("tags", f.Tags...)
	e.strs("alerts", f.Alerts...)
	e.close()
}

// ecsDst writes the destination.* members every record type shares.
func ecsDst(e *enc, d *record.Dst) {
	e.str("ip", d.IP)
	e.uint("port", uint64(d.Port))
	e.str("domain", d.Name)
	e.str("registered_domain", d.Domain)
}

// tapdlpDst writes what tapdlp knows about a destination beyond ECS.
func tapdlpDst(e *enc, d *record.Dst) {
	if d.Category == "" && d.Vendor == "" && d.Service == "" && !d.FirstSeen && d.Resolution == "" && d.NameSource == "" && d.IOC == nil {
		return
	}
	e.open("dst")
	e.str("category", d.Category)
	e.str("vendor", d.Vendor)
	e.str("service", d.Service)
	e.str("name_source", d.NameSource)
	if d.FirstSeen {
		e.bool("first_seen", true)
	}
	e.str("resolution", d.Resolution)
	if d.IOC != nil {
		e.str("ioc_list", d.IOC.List)
	}
	e.close()
}

// findings writes sensitive findings: types, counts and masked evidence as
// the native record has them (never a raw value).
func findings(e *enc, fs []record.Finding) {
	if len(fs) == 0 {
		return
	}
	e.openArr("sensitive")
	for i := range fs {
		f := &fs[i]
		e.elem()
		e.b = append(e.b, '{')
		e.comma = false
		e.str("type", f.Type)
		e.str("class", f.Class)
		e.int("count", int64(f.Count))
		e.str("direction", f.Direction)
		e.str("confidence", f.Confidence)
		if f.TestNumber {
			e.bool("test_number", true)
		}
		e.strs("evidence", f.Evidence...)
		e.strs("hashes", f.Hashes...)
		e.b = append(e.b, '}')
		e.comma = true
	}
	e.closeArr()
}

func ecsAlert(e *enc, a *record.Alert) {
	e.time("@timestamp", a.TS.Time, ecsTime)
	ecsEvent(e, "alert", []string{"network", "intrusion_detection"}, []string{"info"}, "rule_fired", "tapdlp.alert")
	if s := SeverityScore(a.Severity); s != 0 {
		e.int("severity", int64(s))
	}
	e.str("reason", a.Reason)
	e.close()
	e.open("rule")
	e.str("id", a.Rule)
	e.str("name", a.Rule)
	e.str("description", a.Description)
	e.close()
	e.open("source")
	e.str("ip", a.Src.IP)
	e.uint("port", uint64(a.Src.Port))
	e.close()
	e.open("destination")
	ecsDst(e, &a.Dst)
	e.close()
	e.open("network")
	e.str("community_id", a.CommunityID)
	e.str("direction", direction(&a.Dst))
	e.close()
	e.open("tapdlp")
	e.str("flow_id", a.FlowID)
	e.str("severity", a.Severity)
	e.str("reason", a.Reason)
	if a.Count != 0 {
		e.int("count", int64(a.Count))
	}
	tapdlpDst(e, &a.Dst)
	findings(e, a.Sensitive)
	e.close()
}

func ecsVolume(e *enc, v *record.Volume) {
	e.time("@timestamp", v.TS.Time, ecsTime)
	ecsEvent(e, "metric", []string{"network"}, []string{"info"}, "volume", "tapdlp.volume")
	e.close()
	e.open("tapdlp")
	e.open("volume")
	e.str("key", v.Key)
	e.str("window", v.Window)
	e.uint("bytes_out", v.BytesOut)
	e.float("baseline", v.Baseline)
	e.close()
	e.close()
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
	e.time("timestamp", ts.Time, eveTime)
	if id := EVEFlowID(flowID); id != 0 {
		e.uint("flow_id", id)
	}
	if s != nil {
		e.str("in_iface", s.Interface)
	}
	e.str("event_type", typ)
}

func eveTuple(e *enc, src *record.Src, dst *record.Dst, proto string) {
	e.str("src_ip", src.IP)
	e.uint("src_port", uint64(src.Port))
	e.str("dest_ip", dst.IP)
	e.uint("dest_port", uint64(dst.Port))
	e.str("proto", eveProto(proto))
}

func eveTrailer(e *enc, s *record.Sensor) {
	if s == nil {
		return
	}
	h := s.Name
	if h == "" {
		h = s.Host
	}
	e.str("host", h)
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
			e := enc{b: append(dst[:0], '{')}
			eveFlowEvent(&e, r, typ, s)
			e.b = append(e.b, '}')
			emit(e.b)
			dst = e.b
		}
	case *record.Alert:
		e := enc{b: append(dst[:0], '{')}
		eveAlert(&e, r, s)
		e.b = append(e.b, '}')
		emit(e.b)
		dst = e.b
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
		e.str("app_proto", eveAppProto(f.App))
	}
	e.str("community_id", f.CommunityID)
	switch typ {
	case "flow":
		e.open("flow")
		e.uint("pkts_toserver", f.Packets.Out)
		e.uint("pkts_toclient", f.Packets.In)
		e.uint("bytes_toserver", f.Bytes.Out)
		e.uint("bytes_toclient", f.Bytes.In)
		e.time("start", f.Start.Time, eveTime)
		e.time("end", f.End.Time, eveTime)
		e.int("age", int64(f.End.Sub(f.Start.Time).Seconds()))
		e.str("state", eveState(f))
		e.str("reason", eveReason(f.State))
		e.bool("alerted", len(f.Alerts) > 0)
		e.close()
	case "http":
		h := f.HTTP
		e.uint("tx_id", 0)
		e.open("http")
		e.str("hostname", h.Host)
		e.str("url", h.URI)
		e.str("http_user_agent", h.UserAgent)
		e.str("http_method", h.Method)
		if h.Status != 0 {
			e.int("status", int64(h.Status))
		}
		e.close()
	case "tls":
		t := f.TLS
		e.open("tls")
		e.str("sni", t.SNI)
		if t.Version != "" {
			e.key("version") // Suricata writes "TLS 1.3"
			e.b = append(appendEscaped(append(e.b, `"TLS `...), t.Version), '"')
		}
		e.str("ja4", t.JA4)
		e.close()
	case "dns":
		d := f.DNS
		e.open("dns")
		e.int("version", 2)
		if d.RCode == "" {
			e.str("type", "query")
			e.str("rrname", d.Query)
			e.str("rrtype", d.QType)
		} else {
			e.str("type", "answer")
			e.str("rrname", d.Query)
			e.str("rrtype", d.QType)
			e.str("rcode", d.RCode)
			if len(d.Answers) > 0 {
				e.openArr("answers")
				for _, a := range d.Answers {
					e.elem()
					e.b = append(e.b, '{')
					e.comma = false
					e.str("rrname", d.Query)
					e.str("rrtype", answerType(a, d.QType))
					e.str("rdata", a)
					e.b = append(e.b, '}')
					e.comma = true
				}
				e.closeArr()
			}
		}
		e.close()
	}
	if typ == "flow" && (len(f.Sensitive) > 0 || f.Dst.Category != "") {
		e.open("tapdlp")
		e.str("flow_id", f.FlowID)
		tapdlpDst(e, &f.Dst)
		findings(e, f.Sensitive)
		e.close()
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
	e.str("community_id", a.CommunityID)
	e.open("alert")
	e.str("action", "allowed")
	e.int("gid", 1)
	e.uint("signature_id", uint64(SignatureID(a.Rule)))
	e.int("rev", 1)
	sig := a.Description
	if sig == "" {
		sig = a.Rule
	}
	e.str("signature", sig)
	e.str("category", "Data Loss Prevention")
	e.int("severity", int64(EVESeverity(a.Severity)))
	e.close()
	e.open("tapdlp")
	e.str("rule", a.Rule)
	e.str("severity", a.Severity)
	e.str("reason", a.Reason)
	if a.Count != 0 {
		e.int("count", int64(a.Count))
	}
	e.str("dest_name", a.Dst.Name)
	e.str("dest_domain", a.Dst.Domain)
	tapdlpDst(e, &a.Dst)
	findings(e, a.Sensitive)
	e.close()
	eveTrailer(e, s)
}
