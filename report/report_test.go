package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/net/html"

	"github.com/tapdlp/tapdlp/record"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// flowLine encodes a closed TCP flow edited by edit.
func flowLine(t testing.TB, edit func(f *record.Flow)) string {
	t.Helper()
	f := record.Flow{Type: "flow", TS: record.Time{Time: t0.Add(time.Second)}, FlowID: "f1", Start: record.Time{Time: t0}, End: record.Time{Time: t0.Add(time.Second)},
		State: record.StateClosed, Proto: "tcp", Src: record.Src{IP: "10.0.0.1", Port: 40000}, Dst: record.Dst{IP: "192.0.2.1", Port: 443, Name: "a.example", Domain: "a.example", Category: "saas"},
		Bytes: record.Counts{Out: 100, In: 10}}
	if edit != nil {
		edit(&f)
	}
	b, err := json.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonLine(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func feed(t testing.TB, opt Options, lines ...string) *Report {
	t.Helper()
	r := New(opt)
	if err := r.ReadInput("test.jsonl", strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAggregate(t *testing.T) {
	at := func(d time.Duration) record.Time { return record.Time{Time: t0.Add(d)} }
	tests := []struct {
		name  string
		opt   Options
		lines func(t *testing.T) []string
		check func(t *testing.T, r *Report)
	}{
		{
			name: "interim records add only their delta",
			lines: func(t *testing.T) []string {
				return []string{
					flowLine(t, func(f *record.Flow) { f.State, f.Bytes = record.StateActive, record.Counts{Out: 100, In: 5} }),
					flowLine(t, func(f *record.Flow) { f.State, f.Bytes = record.StateActive, record.Counts{Out: 180, In: 9} }),
					flowLine(t, func(f *record.Flow) { f.Bytes = record.Counts{Out: 250, In: 20} }),
				}
			},
			check: func(t *testing.T, r *Report) {
				if r.bytesOut != 250 || r.bytesIn != 20 || r.flows != 1 || r.interim != 2 || len(r.inflight) != 0 {
					t.Errorf("out=%d in=%d flows=%d interim=%d inflight=%d, want 250 20 1 2 0", r.bytesOut, r.bytesIn, r.flows, r.interim, len(r.inflight))
				}
				if got := r.dstStat[0].flows; got != 1 {
					t.Errorf("destination flows = %d, want 1 (a flow counts once)", got)
				}
			},
		},
		{
			name: "interim record skipped when the in-flight table is full",
			opt:  Options{MaxKeys: 1},
			lines: func(t *testing.T) []string {
				return []string{
					flowLine(t, func(f *record.Flow) { f.FlowID, f.State, f.Bytes.Out = "A", record.StateActive, 40 }),
					flowLine(t, func(f *record.Flow) { f.FlowID, f.State, f.Bytes.Out = "B", record.StateActive, 70 }),
					flowLine(t, func(f *record.Flow) { f.FlowID, f.Bytes.Out = "A", 50 }),
					flowLine(t, func(f *record.Flow) { f.FlowID, f.Bytes.Out = "B", 90 }),
				}
			},
			check: func(t *testing.T, r *Report) {
				if r.bytesOut != 140 || r.interimSkipped != 1 {
					t.Errorf("out=%d skipped=%d, want 140 1", r.bytesOut, r.interimSkipped)
				}
			},
		},
		{
			name: "a counter going backwards counts nothing",
			lines: func(t *testing.T) []string {
				return []string{
					flowLine(t, func(f *record.Flow) { f.State, f.Bytes.Out = record.StateActive, 100 }),
					flowLine(t, func(f *record.Flow) { f.Bytes.Out = 60 }),
				}
			},
			check: func(t *testing.T, r *Report) {
				if r.bytesOut != 100 {
					t.Errorf("out=%d, want 100", r.bytesOut)
				}
			},
		},
		{
			name: "keys beyond the cap fold into other",
			opt:  Options{MaxKeys: 2},
			lines: func(t *testing.T) []string {
				var l []string
				for _, n := range []string{"a.example", "b.example", "c.example", "c.example"} {
					l = append(l, flowLine(t, func(f *record.Flow) { f.Dst.Name, f.Dst.Domain = n, n }))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				if len(r.dests.names) != 2 || r.dests.folded != 2 || r.domains.folded != 2 {
					t.Errorf("dests=%d folded=%d/%d, want 2 2 2", len(r.dests.names), r.dests.folded, r.domains.folded)
				}
				v := r.view()
				var other bool
				for _, l := range v.Dom.Legend {
					other = other || (l.Name == "other" && l.Total == "200 B")
				}
				if !other {
					t.Errorf("domain legend %+v has no other of 200 B", v.Dom.Legend)
				}
				if !strings.Contains(strings.Join(v.Notes, "\n"), "folded into \"other\"") {
					t.Errorf("notes %q do not say what was folded", v.Notes)
				}
			},
		},
		{
			name: "malformed, unknown and over-long lines are counted",
			opt:  Options{MaxLine: 600},
			lines: func(t *testing.T) []string {
				return []string{"{", `{"type":"weird"}`, "", "   ", `{"type":"flow","ts":"yesterday"}`,
					`{"type":"flow","pad":"` + strings.Repeat("x", 700) + `"}`, flowLine(t, nil)}
			},
			check: func(t *testing.T, r *Report) {
				if r.malformed != 2 || r.unknownType != 1 || r.oversized != 1 || r.flows != 1 {
					t.Errorf("malformed=%d unknown=%d oversized=%d flows=%d, want 2 1 1 1", r.malformed, r.unknownType, r.oversized, r.flows)
				}
				if in := r.inputs[0]; in.records != 2 || in.malformed != 3 {
					t.Errorf("input %+v, want 2 records 3 malformed", in)
				}
			},
		},
		{
			name: "alerts by rule and severity with de-duplicated firings",
			lines: func(t *testing.T) []string {
				return []string{
					jsonLine(t, record.Alert{Type: "alert", TS: at(time.Minute), Rule: "r1", Severity: "high", Count: 5}),
					jsonLine(t, record.Alert{Type: "alert", TS: at(time.Second), Rule: "r1", Severity: "high"}),
					jsonLine(t, record.Alert{Type: "alert", TS: at(time.Hour), Rule: "r1", Severity: "low"}),
				}
			},
			check: func(t *testing.T, r *Report) {
				rules, sev := r.rulesView()
				if len(rules) != 2 || rules[0].Count != "6" || rules[0].Records != "2" || rules[0].First != fmtTime(t0.Add(time.Second)) || rules[1].Severity != "low" {
					t.Errorf("rules %+v", rules)
				}
				if len(sev) != 2 || sev[0].Name != "high" || sev[0].Count != "6" {
					t.Errorf("severities %+v", sev)
				}
			},
		},
		{
			name: "first-seen keeps the earliest",
			opt:  Options{MaxFirstSeen: 2},
			lines: func(t *testing.T) []string {
				var l []string
				for i, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
					l = append(l, flowLine(t, func(f *record.Flow) {
						f.Start, f.Dst.FirstSeen, f.Dst.Name = at(d), true, string(rune('a'+i))+".example"
					}))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				v := r.firstSeenView()
				if len(v) != 2 || v[0].Dst != "b.example" || v[1].Dst != "c.example" || r.firstSeenTotal != 3 {
					t.Errorf("first seen %+v total %d", v, r.firstSeenTotal)
				}
			},
		},
		{
			name: "flows without time stay out of the charts",
			lines: func(t *testing.T) []string {
				return []string{`{"type":"flow","flow_id":"x","state":"closed","dst":{"ip":"192.0.2.9"},"bytes":{"out":7,"in":1}}`}
			},
			check: func(t *testing.T, r *Report) {
				if r.untimed != 1 || r.axis.any || r.bytesOut != 7 || !r.view().Cat.Empty {
					t.Errorf("untimed=%d axis=%v out=%d", r.untimed, r.axis.any, r.bytesOut)
				}
			},
		},
		{
			name: "findings: outbound in the matrix, inbound counted apart",
			lines: func(t *testing.T) []string {
				return []string{flowLine(t, func(f *record.Flow) {
					f.Dst.Category = "ai_ml"
					f.Sensitive = []record.Finding{{Type: "email", Class: "PII", Count: 3, Direction: "out"}, {Type: "email", Class: "PII", Count: 4, Direction: "in"},
						{Type: "credit_card", Class: "PCI", Count: 2, Direction: "out", TestNumber: true}}
				})}
			},
			check: func(t *testing.T, r *Report) {
				m := r.matrixView()
				if len(m.Cols) != 1 || m.Cols[0] != "ai_ml" || len(m.Rows) != 2 {
					t.Fatalf("matrix %+v", m)
				}
				if e := m.Rows[0]; e.Type != "email" || e.Total != "3" || e.In != "4" || e.Cells[0].V != 3 {
					t.Errorf("email row %+v", e)
				}
				if c := m.Rows[1]; c.Type != "credit_card" || c.Test != "2" || c.Class != "PCI" {
					t.Errorf("card row %+v", c)
				}
				if r.flowsWithFindings != 1 {
					t.Errorf("flows with findings %d", r.flowsWithFindings)
				}
			},
		},
		{
			name: "top destinations per source",
			opt:  Options{TopN: 1},
			lines: func(t *testing.T) []string {
				var l []string
				for i, s := range []struct {
					svc, ip, dst string
					out          uint64
				}{{"crm", "10.0.0.1", "x.example", 10}, {"", "10.0.0.2", "y.example", 500}, {"", "10.0.0.2", "z.example", 700}, {"crm", "10.0.0.3", "y.example", 5}} {
					l = append(l, flowLine(t, func(f *record.Flow) {
						f.FlowID, f.Src.Service, f.Src.IP, f.Dst.Name, f.Bytes.Out = string(rune('a'+i)), s.svc, s.ip, s.dst, s.out
					}))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				s := r.sourcesView()
				if len(s) != 1 || s[0].Name != "10.0.0.2" || len(s[0].Dests) != 2 || s[0].Dests[0].Name != "z.example" || s[0].Dests[1].Name != "y.example" {
					t.Errorf("sources %+v", s)
				}
				if r.srcStat[r.srcs.ids["crm"]].bytesOut != 15 {
					t.Errorf("crm bytes %d, want 15 (service wins over address)", r.srcStat[r.srcs.ids["crm"]].bytesOut)
				}
			},
		},
		{
			name: "long strings are clipped at a rune boundary",
			lines: func(t *testing.T) []string {
				return []string{flowLine(t, func(f *record.Flow) {
					f.State, f.FlowID, f.Dst.Name, f.Src.Service = record.StateActive, strings.Repeat("f", 5000), "x"+strings.Repeat("é", 3000), strings.Repeat("s", 300)
				})}
			},
			check: func(t *testing.T, r *Report) {
				for id := range r.inflight {
					if len(id) > maxKeyLen {
						t.Errorf("in-flight key of %d bytes", len(id))
					}
				}
				n := r.dests.names[0]
				if len(n) > maxKeyLen || !utf8.ValidString(n) || len(r.srcs.names[0]) != maxKeyLen {
					t.Errorf("destination %d bytes (valid UTF-8 %v), source %d bytes", len(n), utf8.ValidString(n), len(r.srcs.names[0]))
				}
			},
		},
		{
			name: "volume peak and baseline",
			lines: func(t *testing.T) []string {
				return []string{
					jsonLine(t, record.Volume{Type: "volume", TS: at(time.Hour), Key: "k", Window: "1h0m0s", BytesOut: 10, Baseline: 5}),
					jsonLine(t, record.Volume{Type: "volume", TS: at(2 * time.Hour), Key: "k", Window: "1h0m0s", BytesOut: 40, Baseline: 10}),
				}
			},
			check: func(t *testing.T, r *Report) {
				v := r.volumesView()
				if len(v) != 1 || v[0].Peak != "40 B" || v[0].Ratio != "4.0×" || v[0].Windows != "2" {
					t.Errorf("volumes %+v", v)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := feed(t, tt.opt, tt.lines(t)...)
			tt.check(t, r)
			if err := r.WriteHTML(&bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAxisBoundsAndConservesBytes(t *testing.T) {
	tests := []struct {
		name  string
		times []time.Time
		width time.Duration
	}{
		{"sub-second capture", []time.Time{t0, t0.Add(150 * time.Millisecond)}, 10 * time.Millisecond},
		{"sub-second to seconds", []time.Time{t0, t0.Add(4 * time.Second)}, 500 * time.Millisecond},
		{"one hour", []time.Time{t0, t0.Add(30 * time.Minute), t0.Add(time.Hour)}, 5 * time.Minute},
		{"out of order", []time.Time{t0.Add(time.Hour), t0, t0.Add(10 * time.Minute)}, 5 * time.Minute},
		{"before 1970", []time.Time{time.Date(1969, 12, 31, 23, 59, 59, 5e8, time.UTC), time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC)}, 100 * time.Millisecond},
		{"hostile span", []time.Time{time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}, 0},
	}
	const maxBuckets = 16 // small, so the hostile span needs buckets wider than a Duration holds
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSeries(1000)
			a := newAxis(maxBuckets, s)
			for i, tm := range tt.times {
				s.add(int32(i%2), a.bucket(tm), 10)
			}
			if n := a.hi - a.lo + 1; n > maxBuckets {
				t.Errorf("%d buckets, cap %d", n, maxBuckets)
			}
			if tt.width != 0 && a.width() != tt.width {
				t.Errorf("width %v, want %v", a.width(), tt.width)
			}
			var sum uint64
			for c, v := range s.cells {
				if c.bucket < a.lo || c.bucket > a.hi {
					t.Errorf("cell %v outside [%d,%d]", c, a.lo, a.hi)
				}
				sum += v
			}
			if sum != uint64(10*len(tt.times)) {
				t.Errorf("sum %d, want %d", sum, 10*len(tt.times))
			}
			for _, tm := range tt.times {
				b := a.index(tm)
				if st := a.start(b); st.After(tm) || (a.secs > 0 && tm.Unix()-st.Unix() >= a.secs) || (a.secs == 0 && tm.Sub(st) >= time.Duration(a.ns)) {
					t.Errorf("%v not in bucket %v + %v", tm, st, a.width())
				}
			}
		})
	}
}

func TestLineReader(t *testing.T) {
	in := "short\n" + strings.Repeat("y", 100) + "\r\nok\n\nlast"
	lr := lineReader{r: bufioSmall(in), max: 10}
	var got []string
	for {
		line, tooLong, err := lr.next()
		if tooLong {
			got = append(got, "<long>")
		} else {
			got = append(got, string(bytes.TrimSpace(line)))
		}
		if err != nil {
			break
		}
	}
	want := []string{"short", "<long>", "ok", "", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestCompressedInputsRenderTheSame(t *testing.T) {
	plain := []byte(strings.Join(lines(genRecords(300)), "\n"))
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	render := func(b []byte) string {
		var out bytes.Buffer
		if err := Write(&out, bytes.NewReader(b), Options{}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	want := render(plain)
	if !strings.Contains(want, "api.openai.com") {
		t.Fatal("plain render lacks a known destination")
	}
	for name, b := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		if got := render(b); got != want {
			t.Errorf("%s input renders differently", name)
		}
	}
	var out bytes.Buffer
	err := Write(&out, bytes.NewReader(gz.Bytes()[:len(gz.Bytes())/2]), Options{})
	if err == nil || !strings.Contains(err.Error(), "input") {
		t.Errorf("truncated gzip: err %v, want an error naming the input", err)
	}
}

func TestSinkMatchesReader(t *testing.T) {
	recs := genRecords(300)
	var a, b bytes.Buffer
	s := NewSink(&a, "replay", Options{})
	for _, rec := range recs {
		if err := s.Write(record.Encoded{Kind: record.KindFlow, JSON: rec}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(record.Encoded{Kind: record.KindFlow, JSON: []byte("{broken")}); err != nil {
		t.Errorf("malformed record: %v, want nil (counted)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(record.Encoded{Kind: record.KindFlow, JSON: recs[0]}); !errors.Is(err, record.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	r := New(Options{})
	in := strings.Join(lines(recs), "\n") + "\n{broken\n"
	if err := r.ReadInput("replay", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("sink and reader render differently")
	}
}

// TestHostileValuesEscaped puts markup in every string a record can carry
// into the page and checks it arrives as text, and that style attributes
// only ever hold the report's own values.
func TestHostileValuesEscaped(t *testing.T) {
	const x = `<script>alert(1)</script>`
	const attr = `"><img src=x onerror=alert(2)>`
	l := []string{
		flowLine(t, func(f *record.Flow) {
			f.Dst.Name, f.Dst.Domain, f.Dst.Category, f.Src.Service, f.Dst.FirstSeen = x, attr, "x;background:url(//evil.example/a)", attr, true
			f.Sensitive = []record.Finding{{Type: x, Class: attr, Count: 1, Direction: "out", Evidence: []string{"4111111111111111"}, Hashes: []string{"hmac-deadbeefcafe"}}}
		}),
		flowLine(t, func(f *record.Flow) {
			f.FlowID, f.Src.Service, f.ConnState, f.Reject = "deny", x, attr, &record.Reject{By: x}
			f.Dst.Vendor, f.Dst.Resolution, f.Dst.Category = x, attr, "unknown"
			f.HTTP = &record.HTTP{URI: x + attr}
			f.Sensitive = []record.Finding{{Type: "email", Class: "PII", Count: 1, Direction: "out", Evidence: []string{"jane.doe@example.com"}}}
		}),
		jsonLine(t, record.Alert{Type: "alert", TS: record.Time{Time: t0}, Rule: x, Severity: attr, FlowID: x, CommunityID: attr, Reason: x,
			Src: record.Src{IP: attr, Service: x}, Dst: record.Dst{Name: x, IP: attr, Category: attr, Vendor: x},
			Sensitive: []record.Finding{{Type: "credit_card", Evidence: []string{"4111111111111111"}}}}),
		jsonLine(t, record.Volume{Type: "volume", TS: record.Time{Time: t0}, Key: x, Window: attr}),
	}
	r := New(Options{})
	if err := r.ReadInput(x, strings.NewReader(strings.Join(l, "\n"))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, bad := range []string{x, "<img", "4111111111111111", "hmac-deadbeefcafe", "jane.doe@example.com"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("hostile name not shown escaped")
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d script elements, want only the report's own", n)
	}
	okStyle := regexp.MustCompile(`^(background:#[0-9a-f]{6}|width:[0-9.]+%|background:rgba\(217,72,15,[0-9.]+\))$`)
	for _, m := range regexp.MustCompile(`style="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !okStyle.MatchString(m[1]) {
			t.Errorf("style attribute %q is not one of the report's own", m[1])
		}
	}
	// Parsed as a browser tokenizes it: no element outside the report's
	// own vocabulary, no event handler and no reference to anything outside
	// the page, whatever the attribute values hold.
	checkTags(t, page)
}

// allowedTags is every element the report writes.
var allowedTags = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true, "h1": true, "h2": true, "h3": true,
	"div": true, "main": true, "nav": true, "button": true, "small": true, "section": true, "ul": true, "li": true, "p": true, "code": true, "svg": true, "line": true,
	"text": true, "rect": true, "i": true, "b": true, "span": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "label": true,
	"select": true, "option": true, "input": true, "br": true, "footer": true, "script": true}

func checkTags(t *testing.T, page string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	scripts := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if !allowedTags[tok.Data] {
			t.Errorf("page has a <%s> element", tok.Data)
		}
		if tok.Data == "script" {
			if scripts++; scripts > 1 || len(tok.Attr) > 0 {
				t.Errorf("a second or external script: %v", tok)
			}
		}
		for _, a := range tok.Attr {
			switch k := strings.ToLower(a.Key); {
			case strings.HasPrefix(k, "on"), k == "src", k == "href", k == "action", k == "formaction", k == "xlink:href", k == "srcdoc":
				t.Errorf("<%s> has attribute %s=%q", tok.Data, a.Key, a.Val)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, strings.NewReader(strings.Join(lines(genRecords(400)), "\n")), Options{Title: "tapdlp report — golden"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "report.html")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("report differs from %s (run go test -update and review the diff)", path)
	}
}

// TestBoundedMemory feeds many distinct keys and checks every structure
// stays under its cap while the totals still add up.
func TestBoundedMemory(t *testing.T) {
	opt := Options{MaxKeys: 500, MaxCells: 200, MaxBuckets: 50, MaxFirstSeen: 10}
	r := New(opt)
	var f record.Flow
	var want uint64
	for i := range 50000 {
		f = record.Flow{Type: "flow", FlowID: "id" + itoa(i), State: record.StateClosed, Start: record.Time{Time: t0.Add(time.Duration(i) * time.Second)},
			End: record.Time{Time: t0.Add(time.Duration(i) * time.Second)}, Src: record.Src{IP: "10.0.0." + itoa(i%300), Service: "svc" + itoa(i)},
			Dst: record.Dst{Name: "h" + itoa(i) + ".example", Domain: "d" + itoa(i) + ".example", Category: "cat" + itoa(i%40), FirstSeen: true}, Bytes: record.Counts{Out: 3}}
		f.Sensitive = []record.Finding{{Type: "t" + itoa(i%100), Count: 1}}
		if i%10 == 0 {
			f.State = record.StateActive
		}
		r.AddFlow(&f)
		r.AddAlert(&record.Alert{Rule: "r" + itoa(i), Severity: "s" + itoa(i%50)})
		r.AddVolume(&record.Volume{Key: "k" + itoa(i)})
		want += 3
	}
	checks := []struct {
		name   string
		n, cap int
	}{
		{"destinations", len(r.dests.names), opt.MaxKeys}, {"domains", len(r.domains.names), opt.MaxKeys}, {"sources", len(r.srcs.names), opt.MaxKeys},
		{"categories", len(r.cats.names), maxCategories}, {"types", len(r.types.names), maxTypes}, {"rules", len(r.rules.names), opt.MaxKeys},
		{"severities", len(r.sevKeys.names), maxCategories}, {"volume keys", len(r.vols.names), opt.MaxKeys}, {"pairs", len(r.pairs), opt.MaxCells},
		{"category cells", len(r.catSeries.cells), opt.MaxCells}, {"domain cells", len(r.domSeries.cells), opt.MaxCells},
		{"buckets", int(r.axis.hi - r.axis.lo + 1), opt.MaxBuckets}, {"first seen", len(r.firstSeen), opt.MaxFirstSeen},
		{"in flight", len(r.inflight), opt.MaxKeys}, {"matrix", len(r.matrix), maxTypes * (maxCategories + 1)},
	}
	for _, c := range checks {
		if c.n > c.cap || c.n == 0 {
			t.Errorf("%s: %d entries, cap %d", c.name, c.n, c.cap)
		}
	}
	// Interim records past the in-flight cap are skipped (their bytes would
	// come with the final record, which these flows never get).
	if r.interimSkipped != 5000-uint64(opt.MaxKeys) {
		t.Errorf("interim skipped %d, want %d", r.interimSkipped, 5000-opt.MaxKeys)
	}
	want -= 3 * r.interimSkipped
	var charted uint64
	for _, v := range r.domSeries.cells {
		charted += v
	}
	for _, v := range r.domSeries.other {
		charted += v
	}
	if r.bytesOut != want || charted != want {
		t.Errorf("bytes out %d, charted %d, want %d", r.bytesOut, charted, want)
	}
	if r.dests.folded == 0 || r.catSeries.folded+r.domSeries.folded == 0 || r.sevOther == 0 {
		t.Errorf("nothing counted as folded: dests %d cells %d sev %d", r.dests.folded, r.catSeries.folded+r.domSeries.folded, r.sevOther)
	}
	if err := r.WriteHTML(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

func TestAddFlowDoesNotAllocate(t *testing.T) {
	r := New(Options{})
	f := record.Flow{Type: "flow", FlowID: "a", State: record.StateClosed, Start: record.Time{Time: t0}, End: record.Time{Time: t0.Add(time.Second)},
		Src: record.Src{IP: "10.0.0.1", Service: "crm"}, Dst: record.Dst{Name: "a.example", Domain: "a.example", Category: "saas"}, Bytes: record.Counts{Out: 10},
		Sensitive: []record.Finding{{Type: "email", Class: "PII", Count: 2, Direction: "out"}}}
	r.AddFlow(&f) // first sight of the keys allocates them
	if n := testing.AllocsPerRun(1000, func() { r.AddFlow(&f) }); n != 0 {
		t.Errorf("AddFlow allocates %.1f times per known flow, want 0", n)
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {1234567, "1.2 MB"}, {999_960, "1.0 MB"}, {250e9, "250 GB"}, {^uint64(0), "18.4 EB"}}
	for _, tt := range tests {
		if got := humanBytes(tt.n); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func lines(recs [][]byte) []string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = string(r)
	}
	return s
}
