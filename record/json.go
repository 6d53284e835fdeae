package record

import (
	"strconv"

	"github.com/tapdlp/tapdlp/internal/jsonw"
)

// The record types append their JSON by hand: encoding/json's reflection
// was ~40 % of the CPU of writing a SYN flood's records. Each AppendJSON
// writes exactly what json.Marshal writes for the value (same member
// order, omitempty, escaping); TestAppendJSONMatchesMarshal fills every
// field of every type by reflection and compares, so a field added to a
// type without its line here fails that test. One field is one line below.

// AppendJSON appends the flow's JSON object to dst.
func (f *Flow) AppendJSON(dst []byte) []byte {
	w := jsonw.Object(dst)
	w.Str("type", f.Type)
	mTime(&w, `,"ts":`, f.TS)
	mStr(&w, `,"flow_id":`, f.FlowID)
	mStr(&w, `,"community_id":`, f.CommunityID)
	mTime(&w, `,"start":`, f.Start)
	mTime(&w, `,"end":`, f.End)
	w.B = jsonw.AppendFloat(append(w.B, `,"duration":`...), f.Duration)
	mStr(&w, `,"state":`, f.State)
	mStrOmit(&w, `,"conn_state":`, f.ConnState)
	mStr(&w, `,"proto":`, f.Proto)
	w.B = f.Src.appendObj(append(w.B, `,"src":`...))
	w.B = f.Dst.appendObj(append(w.B, `,"dst":`...))
	w.B = f.Bytes.appendObj(append(w.B, `,"bytes":`...))
	w.B = f.Packets.appendObj(append(w.B, `,"packets":`...))
	mStrOmit(&w, `,"history":`, f.History)
	mUint(&w, `,"missed_bytes":`, f.MissedBytes)
	jsonw.UintsOmit(&w, "vlan", f.VLAN)
	objOmit(&w, "icmp", f.ICMP)
	objOmit(&w, "tunnel", f.Tunnel)
	objOmit(&w, "reject", f.Reject)
	objOmit(&w, "reassembly", f.Reassembly)
	w.StrOmit("app", f.App)
	objOmit(&w, "tls", f.TLS)
	objOmit(&w, "http", f.HTTP)
	objOmit(&w, "dns", f.DNS)
	objOmit(&w, "grpc", f.GRPC)
	objOmit(&w, "ai", f.AI)
	objsOmit(&w, "sensitive", f.Sensitive)
	objOmit(&w, "inspected", f.Inspected)
	w.StrsOmit("tags", f.Tags)
	w.StrsOmit("alerts", f.Alerts)
	objOmit(&w, "sensor", f.Sensor)
	return w.End()
}

// AppendJSON appends the alert's JSON object to dst.
func (a *Alert) AppendJSON(dst []byte) []byte {
	w := jsonw.Object(dst)
	w.Str("type", a.Type)
	mTime(&w, `,"ts":`, a.TS)
	mStr(&w, `,"rule":`, a.Rule)
	mStr(&w, `,"severity":`, a.Severity)
	mStrOmit(&w, `,"description":`, a.Description)
	mStrOmit(&w, `,"flow_id":`, a.FlowID)
	mStrOmit(&w, `,"community_id":`, a.CommunityID)
	w.B = a.Src.appendObj(append(w.B, `,"src":`...))
	w.B = a.Dst.appendObj(append(w.B, `,"dst":`...))
	objsOmit(&w, "sensitive", a.Sensitive)
	w.Str("reason", a.Reason)
	w.IntOmit("count", int64(a.Count))
	objOmit(&w, "pcap", a.PCAP)
	objOmit(&w, "sensor", a.Sensor)
	return w.End()
}

// AppendJSON appends the volume record's JSON object to dst.
func (v *Volume) AppendJSON(dst []byte) []byte {
	w := jsonw.Object(dst)
	w.Str("type", v.Type)
	timeKey(&w, "ts", v.TS)
	w.Str("key", v.Key)
	w.Str("window", v.Window)
	w.Uint("bytes_out", v.BytesOut)
	w.Float("baseline", v.Baseline)
	objOmit(&w, "sensor", v.Sensor)
	return w.End()
}

// AppendJSON appends the sensor identity's JSON object to dst.
func (s *Sensor) AppendJSON(dst []byte) []byte { return s.appendObj(dst) }

// AppendJSON appends t as MarshalJSON writes it.
func (t Time) AppendJSON(dst []byte) []byte {
	u := t.UTC()
	y, mo, d := u.Date()
	if y < 0 || y > 9999 {
		dst = append(dst, '"')
		dst = u.AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
		return append(dst, '"')
	}
	// Written by hand: time.AppendFormat was a tenth of the CPU of writing
	// a SYN flood's records.
	h, mi, sec := u.Clock()
	us := u.Nanosecond() / 1000
	return append(dst, '"',
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z', '"')
}

func timeKey(w *jsonw.Writer, k string, t Time) {
	w.Key(k)
	w.B = t.AppendJSON(w.B)
}

// The m* helpers write a member that is never its object's first (the
// separator is always due): m is the constant `,"name":`, one copy instead
// of Writer.Key's three appends and its branch. Used for the members of
// the parts every flow and alert record has (BenchmarkAppendFlow: ~40 %
// less time for a TLS flow's record, ~60 % for a SYN's).

func mStr(w *jsonw.Writer, m, v string) { w.B = jsonw.AppendString(append(w.B, m...), v) }

func mStrOmit(w *jsonw.Writer, m, v string) {
	if v != "" {
		mStr(w, m, v)
	}
}

func mUint(w *jsonw.Writer, m string, v uint64) { w.B = strconv.AppendUint(append(w.B, m...), v, 10) }

func mTime(w *jsonw.Writer, m string, t Time) { w.B = t.AppendJSON(append(w.B, m...)) }

// member is a nested record type: it appends itself as a JSON object.
// (Returning the buffer rather than writing through the caller's Writer
// keeps the Writer on the stack: a call through the generic dictionary
// makes its pointer arguments escape.)
type member[T any] interface {
	*T
	appendObj(b []byte) []byte
}

// obj writes member k with the object v.
func obj[T any, P member[T]](w *jsonw.Writer, k string, v P) {
	w.Key(k)
	w.B = v.appendObj(w.B)
}

// objOmit writes member k with the object v unless v is nil.
func objOmit[T any, P member[T]](w *jsonw.Writer, k string, v P) {
	if v != nil {
		obj(w, k, v)
	}
}

// objsOmit writes member k as an array of objects unless vs is empty.
func objsOmit[T any, P member[T]](w *jsonw.Writer, k string, vs []T) {
	if len(vs) == 0 {
		return
	}
	w.OpenArr(k)
	for i := range vs {
		w.Elem()
		w.B = P(&vs[i]).appendObj(w.B)
	}
	w.CloseArr()
}

// uint8PtrOmit writes member k unless v is nil.
func uint8PtrOmit(w *jsonw.Writer, k string, v *uint8) {
	if v != nil {
		w.Uint(k, uint64(*v))
	}
}

func (s *Sensor) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.StrOmit("name", s.Name)
	w.StrOmit("host", s.Host)
	w.StrOmit("interface", s.Interface)
	return w.End()
}

func (p *PCAP) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("file", p.File)
	w.Int("offset", p.Offset)
	w.Int("packets", int64(p.Packets))
	w.BoolOmit("truncated", p.Truncated)
	return w.End()
}

func (s *Src) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("ip", s.IP)
	mUint(&w, `,"port":`, uint64(s.Port))
	mStrOmit(&w, `,"service":`, s.Service)
	return w.End()
}

func (d *Dst) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("ip", d.IP)
	mUint(&w, `,"port":`, uint64(d.Port))
	mStrOmit(&w, `,"name":`, d.Name)
	mStrOmit(&w, `,"name_source":`, d.NameSource)
	mStrOmit(&w, `,"dns_name":`, d.DNSName)
	mStrOmit(&w, `,"domain":`, d.Domain)
	mStrOmit(&w, `,"category":`, d.Category)
	mStrOmit(&w, `,"vendor":`, d.Vendor)
	mStrOmit(&w, `,"service":`, d.Service)
	mStrOmit(&w, `,"service_name":`, d.ServiceName)
	mStrOmit(&w, `,"range":`, d.Range)
	if d.FirstSeen {
		w.B = append(w.B, `,"first_seen":true`...)
	}
	mStrOmit(&w, `,"resolution":`, d.Resolution)
	objOmit(&w, "ioc", d.IOC)
	return w.End()
}

func (i *IOC) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("list", i.List)
	return w.End()
}

func (c *Counts) appendObj(b []byte) []byte {
	b = strconv.AppendUint(append(b, `{"out":`...), c.Out, 10)
	b = strconv.AppendUint(append(b, `,"in":`...), c.In, 10)
	return append(b, '}')
}

func (i *ICMP) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Uint("type", uint64(i.Type))
	w.Uint("code", uint64(i.Code))
	return w.End()
}

func (r *Reject) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("by", r.By)
	uint8PtrOmit(&w, "type", r.Type)
	uint8PtrOmit(&w, "code", r.Code)
	w.StrOmit("from", r.From)
	return w.End()
}

func (t *Tunnel) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("type", t.Type)
	w.UintOmit("id", uint64(t.ID))
	w.StrOmit("outer_src", t.OuterSrc)
	w.StrOmit("outer_dst", t.OuterDst)
	return w.End()
}

func (r *Reassembly) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.UintOmit("ooo_dropped", r.OutOfOrderDropped)
	w.UintOmit("overlaps", r.Overlaps)
	w.BoolOmit("depth_reached", r.DepthReached)
	return w.End()
}

func (t *TLS) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.StrOmit("sni", t.SNI)
	w.StrOmit("version", t.Version)
	w.StrsOmit("alpn", t.ALPN)
	w.StrOmit("ja4", t.JA4)
	w.BoolOmit("decrypted", t.Decrypted)
	w.StrOmit("decrypt_reason", t.DecryptReason)
	return w.End()
}

func (a *AI) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("provider", a.Provider)
	w.Str("operation", a.Operation)
	w.StrOmit("model", a.Model)
	w.Bool("stream", a.Stream)
	w.Int("prompt_bytes", int64(a.PromptBytes))
	w.Int("attachments", int64(a.Attachments))
	w.Int("tools", int64(a.Tools))
	w.Int("calls", int64(a.Calls))
	return w.End()
}

func (h *HTTP) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.StrOmit("method", h.Method)
	w.StrOmit("host", h.Host)
	w.StrOmit("uri", h.URI)
	w.StrOmit("user_agent", h.UserAgent)
	w.IntOmit("status", int64(h.Status))
	w.IntOmit("requests", int64(h.Requests))
	w.StrOmit("version", h.Version)
	w.IntOmit("streams", int64(h.Streams))
	return w.End()
}

func (g *GRPC) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("service", g.Service)
	w.Str("method", g.Method)
	return w.End()
}

func (d *DNS) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.StrOmit("query", d.Query)
	w.StrOmit("qtype", d.QType)
	w.StrOmit("rcode", d.RCode)
	w.StrsOmit("answers", d.Answers)
	return w.End()
}

func (f *Finding) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Str("type", f.Type)
	mStr(&w, `,"class":`, f.Class)
	w.B = strconv.AppendInt(append(w.B, `,"count":`...), int64(f.Count), 10)
	mStr(&w, `,"direction":`, f.Direction)
	mStr(&w, `,"confidence":`, f.Confidence)
	w.BoolOmit("test_number", f.TestNumber)
	w.StrsOmit("evidence", f.Evidence)
	w.StrsOmit("hashes", f.Hashes)
	w.StrOmit("in", f.In)
	return w.End()
}

func (i *Inspected) appendObj(b []byte) []byte {
	w := jsonw.Object(b)
	w.Uint("out", i.Out)
	mUint(&w, `,"in":`, i.In)
	w.B = strconv.AppendBool(append(w.B, `,"truncated":`...), i.Truncated)
	if i.Encrypted {
		w.B = append(w.B, `,"encrypted":true`...)
	}
	w.StrOmit("skipped", i.Skipped)
	w.StrsOmit("truncated_reasons", i.TruncatedReasons)
	return w.End()
}
