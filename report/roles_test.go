package report

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

func TestRoles(t *testing.T) {
	at := func(d time.Duration) record.Time { return record.Time{Time: t0.Add(d)} }
	alert := func(t *testing.T, rule, sev string, d time.Duration, edit func(a *record.Alert)) string {
		a := record.Alert{Type: "alert", TS: at(d), Rule: rule, Severity: sev, FlowID: "f-" + rule, CommunityID: "1:cid-" + rule,
			Src: record.Src{IP: "10.0.0.1", Port: 40000, Service: "crm"}, Dst: record.Dst{IP: "192.0.2.1", Port: 443, Name: "a.example", Category: "saas", Vendor: "Acme"},
			Reason: "dst.category=saas and sensitive.class=PII (email×2)"}
		if edit != nil {
			edit(&a)
		}
		return jsonLine(t, a)
	}
	tests := []struct {
		name  string
		opt   Options
		lines func(t *testing.T) []string
		check func(t *testing.T, r *Report)
	}{
		{
			name: "every alert field an analyst pivots on is listed",
			lines: func(t *testing.T) []string {
				return []string{alert(t, "r1", "high", time.Minute, func(a *record.Alert) { a.Count = 3 })}
			},
			check: func(t *testing.T, r *Report) {
				v := r.alertsView()
				if len(v.Rows) != 1 {
					t.Fatalf("rows %+v", v.Rows)
				}
				a := v.Rows[0]
				want := alertRowView{Time: fmtTime(t0.Add(time.Minute)), TimeV: "1793610060.000", Rule: "r1", Severity: "high", SevClass: "sev-high", SevV: 1,
					Source: "crm", SrcIP: "10.0.0.1", Dst: "a.example", DstAddr: "192.0.2.1:443", Category: "saas", Color: categoryColor(0, "saas"), Vendor: "Acme",
					Reason: "dst.category=saas and sensitive.class=PII (email×2)", FlowID: "f-r1", CommunityID: "1:cid-r1", Count: "3", CountV: 3}
				if a != want {
					t.Errorf("row\n got %+v\nwant %+v", a, want)
				}
				if v.Total != "1" || v.Listed != "1" || v.Dropped != "" || len(v.Rules) != 1 || v.Cats[0] != "saas" {
					t.Errorf("view %+v", v)
				}
			},
		},
		{
			name: "the alert list keeps the most severe, earliest first, and counts the rest",
			opt:  Options{MaxAlerts: 3},
			lines: func(t *testing.T) []string {
				return []string{
					alert(t, "low1", "low", time.Minute, nil),
					alert(t, "crit-late", "critical", time.Hour, nil),
					alert(t, "high", "high", 2*time.Minute, nil),
					alert(t, "low0", "low", 0, nil),
					alert(t, "crit-early", "critical", time.Second, nil),
					alert(t, "odd", "weird", 0, nil),
				}
			},
			check: func(t *testing.T, r *Report) {
				v := r.alertsView()
				var got []string
				for _, row := range v.Rows {
					got = append(got, row.Rule)
				}
				if strings.Join(got, ",") != "crit-early,high,crit-late" {
					t.Errorf("listed %v, want crit-early,high,crit-late (by time)", got)
				}
				if r.alertsDropped != 3 || !strings.Contains(v.Dropped, "3 more") {
					t.Errorf("dropped %d %q", r.alertsDropped, v.Dropped)
				}
				if r.alerts != 6 {
					t.Errorf("alerts %d, want all 6 counted", r.alerts)
				}
			},
		},
		{
			name: "denied attempts: reject or REJ, S0, RSTOS0 on final records only",
			lines: func(t *testing.T) []string {
				var l []string
				for i, c := range []struct {
					state, conn, by string
				}{
					{record.StateTimeout, "S0", ""}, {record.StateReset, "REJ", "rst"}, {record.StateReset, "RSTOS0", ""}, {record.StateTimeout, "S0", "icmp"},
					{record.StateClosed, "SF", ""}, {record.StateReset, "RSTO", ""}, {record.StateActive, "S0", ""}, {record.StateClosed, "OTH", "icmp"},
				} {
					l = append(l, flowLine(t, func(f *record.Flow) {
						f.FlowID, f.State, f.ConnState, f.Src.Service = "d"+itoa(i), c.state, c.conn, "ci"
						if c.by != "" {
							f.Reject = &record.Reject{By: c.by}
						}
						if i >= 4 {
							f.Dst.Name = "b.example"
						}
					}))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				if r.denials != 5 {
					t.Errorf("denials %d, want 5", r.denials)
				}
				kinds := map[string]uint64{}
				for i, n := range r.denyN {
					kinds[r.denyKinds.names[i]] = n
				}
				want := map[string]uint64{"S0": 1, "reject:rst": 1, "RSTOS0": 1, "reject:icmp": 2}
				if len(kinds) != len(want) {
					t.Errorf("kinds %v, want %v", kinds, want)
				}
				for k, n := range want {
					if kinds[k] != n {
						t.Errorf("kind %s: %d, want %d", k, kinds[k], n)
					}
				}
				v := r.cisoView(nil)
				if len(v.Denied) != 2 || v.Denied[0].Dst != "a.example" || v.Denied[0].Count != "4" || v.Denied[1].Count != "1" {
					t.Errorf("denied pairs %+v", v.Denied)
				}
				if len(v.Offenders) != 1 || v.Offenders[0].Name != "ci" || v.Offenders[0].DenialsV != 5 {
					t.Errorf("offenders %+v", v.Offenders)
				}
			},
		},
		{
			name: "egress shares by category unknown and DNS resolution",
			lines: func(t *testing.T) []string {
				var l []string
				for i, c := range []struct {
					cat, res string
					out      uint64
				}{{"saas", "matched", 500}, {"unknown", "", 200}, {"ai_ml", "other_name", 100}, {"threat", "unresolved", 150}, {"", "unresolved", 50}} {
					l = append(l, flowLine(t, func(f *record.Flow) {
						f.FlowID, f.Dst.Category, f.Dst.Resolution, f.Bytes.Out = "e"+itoa(i), c.cat, c.res, c.out
					}))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				if r.unknownOut != 250 {
					t.Errorf("bytes to unknown %d, want 250 (an empty category is unknown)", r.unknownOut)
				}
				v := r.cisoView(nil)
				got := map[string]string{}
				for _, e := range v.Egress {
					got[e.Name] = e.Bytes + " " + e.Pct
				}
				want := map[string]string{"dst.category unknown": "250 B 25.0", "dst.resolution matched": "500 B 50.0", "dst.resolution other_name": "100 B 10.0",
					"dst.resolution unresolved": "200 B 20.0", "dst.resolution not assessed": "200 B 20.0"}
				for k, w := range want {
					if got[k] != w {
						t.Errorf("%s: %q, want %q", k, got[k], w)
					}
				}
				if v.Stats[3].Value != "30.0%" {
					t.Errorf("not matched share %q, want 30.0%%", v.Stats[3].Value)
				}
				src := r.srcStat[0]
				if src.unknownOut != 250 || src.unmatchedOut != 300 {
					t.Errorf("source unknown %d unmatched %d, want 250 300", src.unknownOut, src.unmatchedOut)
				}
			},
		},
		{
			name: "engineer: paths per source and destination, new destinations per source",
			lines: func(t *testing.T) []string {
				var l []string
				for i, c := range []struct {
					svc, uri string
					out      uint64
					first    bool
				}{{"web", "/v1/a", 10, true}, {"web", "/v1/a", 30, false}, {"web", "/v1/b", 5, false}, {"batch", "/v1/a", 7, false}, {"web", "", 1000, false}} {
					l = append(l, flowLine(t, func(f *record.Flow) {
						f.FlowID, f.Src.Service, f.Bytes.Out, f.Dst.FirstSeen = "p"+itoa(i), c.svc, c.out, c.first
						if c.uri != "" {
							f.HTTP = &record.HTTP{Method: "POST", URI: c.uri}
						}
					}))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				v := r.engineerView(r.firstSeenView())
				if len(v.Sources) != 2 || v.Sources[0].Name != "web" {
					t.Fatalf("sources %+v", v.Sources)
				}
				web := v.Sources[0]
				if len(web.Paths) != 2 || web.Paths[0].URI != "/v1/a" || web.Paths[0].Flows != "2" || web.Paths[0].Bytes != "40 B" || web.Paths[1].URI != "/v1/b" {
					t.Errorf("web paths %+v", web.Paths)
				}
				if len(web.New) != 1 || web.New[0].Dst != "a.example" || len(v.Sources[1].New) != 0 {
					t.Errorf("new destinations %+v / %+v", web.New, v.Sources[1].New)
				}
				if len(v.Sources[1].Paths) != 1 || v.Sources[1].Paths[0].Bytes != "7 B" {
					t.Errorf("batch paths %+v", v.Sources[1].Paths)
				}
			},
		},
		{
			name: "compliance: outbound findings by type, category and vendor with first and last seen",
			lines: func(t *testing.T) []string {
				var l []string
				for i, c := range []struct {
					vendor, cat string
					d           time.Duration
					n           int
					dir         string
				}{{"OpenAI", "ai_ml", time.Hour, 2, "out"}, {"OpenAI", "ai_ml", time.Minute, 3, "out"}, {"", "saas", 2 * time.Hour, 1, "out"}, {"OpenAI", "ai_ml", 3 * time.Hour, 9, "in"}} {
					l = append(l, flowLine(t, func(f *record.Flow) {
						f.FlowID, f.Dst.Vendor, f.Dst.Category, f.End = "c"+itoa(i), c.vendor, c.cat, at(c.d)
						f.Sensitive = []record.Finding{{Type: "email", Class: "PII", Count: c.n, Direction: c.dir, Evidence: []string{"j***@example.com", "jane.doe@example.com"}}}
					}))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				v := r.complianceView()
				if len(v.Types) != 1 || v.Types[0].Out != "6" || v.Types[0].In != "9" || v.Types[0].First != fmtTime(t0.Add(time.Minute)) || v.Types[0].Last != fmtTime(t0.Add(2*time.Hour)) {
					t.Errorf("types %+v", v.Types)
				}
				if len(v.Cells) != 2 {
					t.Fatalf("cells %+v", v.Cells)
				}
				c := v.Cells[0]
				if c.Vendor != "OpenAI" || c.Category != "ai_ml" || c.Count != "5" || c.Flows != "2" || c.First != fmtTime(t0.Add(time.Minute)) || c.Last != fmtTime(t0.Add(time.Hour)) {
					t.Errorf("OpenAI cell %+v", c)
				}
				if d := v.Cells[1]; d.Vendor != "(none)" || d.Category != "saas" || d.Count != "1" {
					t.Errorf("saas cell %+v", d)
				}
			},
		},
		{
			name: "offenders: one critical alert outranks many high ones",
			lines: func(t *testing.T) []string {
				l := []string{alert(t, "c", "critical", time.Minute, func(a *record.Alert) { a.Src.Service = "quiet" })}
				for range 5 {
					l = append(l, alert(t, "h", "high", time.Minute, func(a *record.Alert) { a.Src.Service = "noisy" }))
				}
				return l
			},
			check: func(t *testing.T, r *Report) {
				v := r.cisoView(nil)
				if len(v.Offenders) != 2 || v.Offenders[0].Name != "quiet" || v.Offenders[1].Alerts != "5" {
					t.Errorf("offenders %+v", v.Offenders)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := feed(t, tt.opt, tt.lines(t)...)
			tt.check(t, r)
			var out bytes.Buffer
			if err := r.WriteHTML(&out); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "jane.doe@example.com") {
				t.Error("page shows a raw value from a finding's evidence")
			}
		})
	}
}

// TestRolesBounded feeds distinct keys everywhere the role views keep
// something and checks each structure stays under its cap and says what
// it refused.
func TestRolesBounded(t *testing.T) {
	opt := Options{MaxKeys: 300, MaxCells: 200, MaxBuckets: 40, MaxAlerts: 50}
	r := New(opt)
	for i := range 20000 {
		f := record.Flow{Type: "flow", FlowID: "id" + itoa(i), State: record.StateTimeout, ConnState: "S0", End: record.Time{Time: t0.Add(time.Duration(i) * time.Second)},
			Src: record.Src{IP: "10.0.0.1", Service: "svc" + itoa(i%1000)}, Dst: record.Dst{Name: "h" + itoa(i) + ".example", Category: "saas", Vendor: "v" + itoa(i), Resolution: "r" + itoa(i)},
			HTTP: &record.HTTP{URI: "/p/" + itoa(i)}, Bytes: record.Counts{Out: 1}, Sensitive: []record.Finding{{Type: "email", Count: 1, Direction: "out"}}}
		r.AddFlow(&f)
		r.AddAlert(&record.Alert{TS: f.End, Rule: "r" + itoa(i%400), Severity: "high", Src: f.Src, Dst: f.Dst, Reason: strings.Repeat("x", 1000)})
	}
	checks := []struct {
		name   string
		n, cap int
		folded uint64
	}{
		{"alert rows", len(r.alertRows), opt.MaxAlerts, r.alertsDropped},
		{"paths", len(r.paths), opt.MaxCells, r.pathsFolded},
		{"uris", len(r.uris.names), opt.MaxKeys, r.uris.folded},
		{"compliance cells", len(r.findCells), opt.MaxCells, r.findFolded},
		{"vendors", len(r.vendors.names), opt.MaxKeys, r.vendors.folded},
		{"denied pairs", len(r.denyPairs), opt.MaxCells, r.denyPairsFolded},
		{"resolutions", len(r.resKeys.names), maxCategories, r.resKeys.folded},
		{"source cells", len(r.srcSeries.cells), opt.MaxCells, r.srcSeries.folded},
		{"rule cells", len(r.ruleSeries.cells), opt.MaxCells, r.ruleSeries.folded},
	}
	for _, c := range checks {
		if c.n > c.cap || c.n == 0 || c.folded == 0 {
			t.Errorf("%s: %d entries (cap %d), %d folded", c.name, c.n, c.cap, c.folded)
		}
	}
	if r.denials != 20000 || r.resOther == 0 {
		t.Errorf("denials %d (want all 20000 counted), resolution other %d", r.denials, r.resOther)
	}
	for _, a := range r.alertRows {
		if len(a.reason) > maxKeyLen {
			t.Errorf("reason kept with %d bytes", len(a.reason))
		}
	}
	var out bytes.Buffer
	if err := r.WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alerts counted but not listed", "HTTP flows whose path was not tracked", "findings left out of the compliance table", "denied attempts not attributed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("notes lack %q", want)
		}
	}
}

// TestLargeInput renders a generated day of 200k flows (20k unless
// TAPDLP_SLOW=1, to keep the suite fast):
// the page must stay small because every table and chart is top-N, and
// no planted raw value may appear. It logs the time and size measured.
func TestLargeInput(t *testing.T) {
	n := 20000
	if os.Getenv("TAPDLP_SLOW") == "1" {
		n = 200000
	}
	recs := genRecords(n)
	in := []byte(strings.Join(lines(recs), "\n"))
	start := time.Now()
	r := New(Options{})
	if err := r.ReadInput("large", bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d records (%d MB) → %d kB page in %v", len(recs), len(in)>>20, out.Len()>>10, took.Round(time.Millisecond))
	if out.Len() > 1500<<10 {
		t.Errorf("page is %d kB for %d records; want under 1500 kB", out.Len()>>10, len(recs))
	}
	page := out.String()
	for _, raw := range plantedRaw {
		if strings.Contains(page, raw) {
			t.Errorf("page contains planted raw value %q", raw)
		}
	}
	if len(r.alertRows) != r.opt.MaxAlerts || r.alertsDropped == 0 {
		t.Errorf("alert rows %d dropped %d; want the cap %d reached", len(r.alertRows), r.alertsDropped, r.opt.MaxAlerts)
	}
}
