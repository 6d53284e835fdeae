// Package record defines the records tapdlp writes (flow, alert, volume) and
// the tiny Sink interface that carries them out. It is a shared leaf package:
// every stage may import it, it imports none of them. It must not contain
// logic about packets, destinations or content; it only describes output.
package record

import (
	"strconv"
	"time"
)

// Time is a timestamp that marshals as RFC 3339 UTC with microseconds,
// e.g. "2026-11-22T15:04:05.123456Z", the precision pcap timestamps carry.
type Time struct{ time.Time }

// TimeFromNanos converts packet time (Unix nanoseconds) to a record Time.
func TimeFromNanos(ns int64) Time { return Time{time.Unix(0, ns).UTC()} }

// MarshalJSON implements json.Marshaler without reflection (AppendJSON).
func (t Time) MarshalJSON() ([]byte, error) { return t.AppendJSON(make([]byte, 0, 29)), nil }

// UnmarshalJSON implements json.Unmarshaler (used by tests, `report`, `rules test`).
func (t *Time) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Flow states, the values of Flow.State.
const (
	StateClosed   = "closed"   // TCP FIN handshake seen
	StateReset    = "reset"    // TCP RST seen
	StateTimeout  = "timeout"  // idle timeout in packet time
	StateActive   = "active"   // interim record of a long-lived flow (active timeout)
	StateShutdown = "shutdown" // still open when the input ended or the sensor stopped
)

// Flow is one flow record: the product's contract with its users. Every field
// is documented in the README; names are stable because rules match them.
// "out" always means from Src (the initiator) to Dst.
type Flow struct {
	Type        string   `json:"type"` // always "flow"
	TS          Time     `json:"ts"`   // when the record was written (packet time)
	FlowID      string   `json:"flow_id"`
	CommunityID string   `json:"community_id"`
	Start       Time     `json:"start"`
	End         Time     `json:"end"`
	Duration    float64  `json:"duration"` // seconds
	State       string   `json:"state"`
	ConnState   string   `json:"conn_state,omitempty"` // Zeek's conn_state (TCP and UDP)
	Proto       string   `json:"proto"`                // tcp, udp, icmp, icmp6, or the IP protocol number
	Src         Src      `json:"src"`
	Dst         Dst      `json:"dst"`
	Bytes       Counts   `json:"bytes"`   // IP bytes (IP header + payload) per direction
	Packets     Counts   `json:"packets"` // packets per direction
	History     string   `json:"history,omitempty"`
	MissedBytes uint64   `json:"missed_bytes"`
	VLAN        []uint16 `json:"vlan,omitempty"`
	ICMP        *ICMP    `json:"icmp,omitempty"`
	Tunnel      *Tunnel  `json:"tunnel,omitempty"`
	Reject      *Reject  `json:"reject,omitempty"` // the connection was refused or blocked

	// Reassembly tells what the reassembler could not keep for this flow.
	Reassembly *Reassembly `json:"reassembly,omitempty"`

	// Filled by app parsers and destinations (issue 3).
	App  string `json:"app,omitempty"`
	TLS  *TLS   `json:"tls,omitempty"`
	HTTP *HTTP  `json:"http,omitempty"`
	DNS  *DNS   `json:"dns,omitempty"`
	GRPC *GRPC  `json:"grpc,omitempty"`
	// AI: the flow's calls to an AI model API (issue 14).
	AI *AI `json:"ai,omitempty"`

	// Filled by content inspection (issue 4).
	Sensitive []Finding  `json:"sensitive,omitempty"`
	Inspected *Inspected `json:"inspected,omitempty"`
	Tags      []string   `json:"tags,omitempty"`

	// Filled by rules (issue 6).
	Alerts []string `json:"alerts,omitempty"`

	Sensor *Sensor `json:"sensor,omitempty"` // added by the sinks' router when configured (see Sensor)
}

// Sensor is the identity of the sensor that wrote a record, so records of a
// fleet arriving through one Kafka topic can be told apart. The router adds
// it to every record it writes when the configuration names the sensor
// (sensor.name) or the sensor captures live; replay without sensor.name
// leaves it out, which keeps replayed records reproducible across machines.
type Sensor struct {
	Name      string `json:"name,omitempty"`      // sensor.name from the configuration
	Host      string `json:"host,omitempty"`      // os.Hostname at startup
	Interface string `json:"interface,omitempty"` // capture interface, or the replayed file's base name
}

// Src is the initiator of a flow.
type Src struct {
	IP      string `json:"ip"`
	Port    uint16 `json:"port"`
	Service string `json:"service,omitempty"` // from the configured services map
}

// Dst is the responder of a flow and everything known about where it is.
type Dst struct {
	IP          string `json:"ip"`
	Port        uint16 `json:"port"`
	Name        string `json:"name,omitempty"`
	NameSource  string `json:"name_source,omitempty"` // sni, quic, http, connect, dns
	DNSName     string `json:"dns_name,omitempty"`    // the DNS name when it differs from Name
	Domain      string `json:"domain,omitempty"`      // registrable domain (public suffix + 1)
	Category    string `json:"category,omitempty"`    // ai_ml, cloud_storage, saas, … (DESIGN.md)
	Vendor      string `json:"vendor,omitempty"`
	Service     string `json:"service,omitempty"`      // catalog service, e.g. "OpenAI API"
	ServiceName string `json:"service_name,omitempty"` // from the configured services map
	Range       string `json:"range,omitempty"`        // provider IP range that matched, when classified by address
	FirstSeen   bool   `json:"first_seen,omitempty"`
	Resolution  string `json:"resolution,omitempty"` // matched, other_name, unresolved: the name against this client's DNS answers
	IOC         *IOC   `json:"ioc,omitempty"`
}

// IOC says which indicator list matched the destination.
type IOC struct {
	List string `json:"list"`
}

// Counts is a per-direction counter pair.
type Counts struct {
	Out uint64 `json:"out"`
	In  uint64 `json:"in"`
}

// ICMP carries the type and code of the first ICMP packet of a flow.
type ICMP struct {
	Type uint8 `json:"type"`
	Code uint8 `json:"code"`
}

// Reject says how a connection attempt was refused: by the responder's RST
// (By "rst"), or by an ICMP error quoting the flow's packet (By "icmp", with
// the ICMP type and code and the address of the host that sent it).
type Reject struct {
	By   string `json:"by"` // rst or icmp
	Type *uint8 `json:"type,omitempty"`
	Code *uint8 `json:"code,omitempty"`
	From string `json:"from,omitempty"`
}

// Tunnel describes the outermost encapsulation a flow arrived in.
type Tunnel struct {
	Type     string `json:"type"` // vxlan, geneve, gre, erspan, ipip, mpls, pppoe
	ID       uint32 `json:"id,omitempty"`
	OuterSrc string `json:"outer_src,omitempty"`
	OuterDst string `json:"outer_dst,omitempty"`
}

// Reassembly counts data the reassembler had to give up on for one flow.
type Reassembly struct {
	OutOfOrderDropped uint64 `json:"ooo_dropped,omitempty"` // buffered out-of-order bytes dropped at a memcap
	Overlaps          uint64 `json:"overlaps,omitempty"`    // overlapping bytes whose content differed (first data won)
	DepthReached      bool   `json:"depth_reached,omitempty"`
}

// TLS is what the ClientHello (TCP or QUIC) told.
type TLS struct {
	SNI     string   `json:"sni,omitempty"`
	Version string   `json:"version,omitempty"`
	ALPN    []string `json:"alpn,omitempty"`
	JA4     string   `json:"ja4,omitempty"`
	// Decrypted: every encrypted record was decrypted with a known key;
	// otherwise, when keys were configured, DecryptReason says why not
	// (tlsdecrypt.Reason: no_key, unsupported_suite, auth_failed, …).
	Decrypted     bool   `json:"decrypted,omitempty"`
	DecryptReason string `json:"decrypt_reason,omitempty"`
}

// AI describes the AI model API calls of a flow (appproto/aiapi): the
// first call, and how many there were.
type AI struct {
	Provider    string `json:"provider"`
	Operation   string `json:"operation"`
	Model       string `json:"model,omitempty"` // redacted like a URI
	Stream      bool   `json:"stream"`
	PromptBytes int    `json:"prompt_bytes"`
	Attachments int    `json:"attachments"`
	Tools       int    `json:"tools"`
	Calls       int    `json:"calls"`
}

// HTTP is what the first request of a flow told.
type HTTP struct {
	Method    string `json:"method,omitempty"`
	Host      string `json:"host,omitempty"`
	URI       string `json:"uri,omitempty"` // path only; the query string is scanned, never written
	UserAgent string `json:"user_agent,omitempty"`
	Status    int    `json:"status,omitempty"`
	Requests  int    `json:"requests,omitempty"`
	// Version is "2" for HTTP/2 and empty for HTTP/1 (whose records stay
	// as they were); Streams counts the streams an HTTP/2 connection
	// opened (requests and pushes, tracked or not).
	Version string `json:"version,omitempty"`
	Streams int    `json:"streams,omitempty"`
}

// GRPC names the first gRPC call of an HTTP/2 connection, from its :path
// (/package.Service/Method).
type GRPC struct {
	Service string `json:"service"`
	Method  string `json:"method"`
}

// DNS summarises DNS transactions seen in the flow.
type DNS struct {
	Query   string   `json:"query,omitempty"`
	QType   string   `json:"qtype,omitempty"`
	RCode   string   `json:"rcode,omitempty"`
	Answers []string `json:"answers,omitempty"`
}

// Finding is one sensitive data type found in a flow direction. It never holds
// a raw value: Evidence is masked and Hashes are keyed HMACs.
type Finding struct {
	Type       string   `json:"type"`
	Class      string   `json:"class"` // PCI, PII, PHI, SECRET
	Count      int      `json:"count"`
	Direction  string   `json:"direction"` // out or in
	Confidence string   `json:"confidence"`
	TestNumber bool     `json:"test_number,omitempty"`
	Evidence   []string `json:"evidence,omitempty"`
	Hashes     []string `json:"hashes,omitempty"`
	// In names the record field the value was copied from when it was not
	// found in the payload: dns.query, tls.sni, http.host, http.uri,
	// http.user_agent, dst.name. Empty for payload (body, headers, raw).
	In string `json:"in,omitempty"`
}

// Inspected says how much decoded plaintext was scanned per direction.
type Inspected struct {
	Out       uint64 `json:"out"`
	In        uint64 `json:"in"`
	Truncated bool   `json:"truncated"`           // inspection stopped early or was degraded: TruncatedReasons says why
	Encrypted bool   `json:"encrypted,omitempty"` // payload was TLS/QUIC or otherwise not plaintext
	Skipped   string `json:"skipped,omitempty"`   // why inspection was skipped (sampling, …)
	// TruncatedReasons lists why, in a fixed order: inspect_bytes,
	// decode_budget, decompression_bomb, nesting_depth, undecodable_coding,
	// decode_error, parser_stopped, capture_gap, encrypted, sampling.
	TruncatedReasons []string `json:"truncated_reasons,omitempty"`
}

// Alert is written when a rule fires.
type Alert struct {
	Type        string    `json:"type"` // always "alert"
	TS          Time      `json:"ts"`
	Rule        string    `json:"rule"`
	Severity    string    `json:"severity"`
	Description string    `json:"description,omitempty"`
	FlowID      string    `json:"flow_id,omitempty"`
	CommunityID string    `json:"community_id,omitempty"`
	Src         Src       `json:"src"`
	Dst         Dst       `json:"dst"`
	Sensitive   []Finding `json:"sensitive,omitempty"`
	Reason      string    `json:"reason"`
	Count       int       `json:"count,omitempty"` // firings folded into this alert by de-duplication
	PCAP        *PCAP     `json:"pcap,omitempty"`  // where the flow's packets were written (alerts.pcap_dir)
	Sensor      *Sensor   `json:"sensor,omitempty"`
}

// PCAP locates an alerting flow's packets in the alert pcaps. It carries no
// traffic: only where the packets are and how many were written when the
// alert fired. The file itself holds raw traffic.
type PCAP struct {
	File    string `json:"file"`    // path of the pcap file (under alerts.pcap_dir)
	Offset  int64  `json:"offset"`  // byte offset of the flow's first packet record in File
	Packets int    `json:"packets"` // the flow's packets written there when the alert fired (more may follow)
	// Truncated says the flow's packets in the file are not all of its
	// packets up to the alert: the flow outgrew alerts.pcap_flow_bytes, its
	// held packets were evicted (alerts.pcap_memory), or a write was dropped.
	Truncated bool `json:"truncated,omitempty"`
}

// Volume is a periodic per-key byte count for dashboards (off by default).
type Volume struct {
	Type     string  `json:"type"` // always "volume"
	TS       Time    `json:"ts"`
	Key      string  `json:"key"`
	Window   string  `json:"window"`
	BytesOut uint64  `json:"bytes_out"`
	Baseline float64 `json:"baseline"`
	Sensor   *Sensor `json:"sensor,omitempty"`
}
