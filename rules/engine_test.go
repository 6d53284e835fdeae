package rules

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"

	"github.com/tapdlp/tapdlp/config"
)

const specRules = `rules:
  - id: pii-to-ai
    description: Personal or card data sent to an AI/ML service
    severity: high
    when:
      dst.category: [ai_ml]
      sensitive.class: [PII, PCI, PHI]
      direction: out
  - id: payments-egress-allowlist
    description: payments-api may only talk to its processors
    severity: critical
    when:
      src.service: [payments-api]
      not:
        dst.name: ["api.stripe.com", "*.adyen.com"]
  - id: unknown-daily-volume
    severity: medium
    when:
      dst.category: [unknown]
    threshold: {bytes_out: 500MB, per: [src.service, dst.domain], window: 24h}
  - id: new-destination
    severity: low
    when: {dst.first_seen: true, src.service: [billing, hr-portal]}
  - id: db-port-from-outside-app-tier
    when: {dst.port: [5432, 3306], not: {src.ip: [10.1.0.0/16]}}
`

func TestAlertRecord(t *testing.T) {
	e := compileYAML(t, specRules, Options{})
	f := baseFlow()
	alerts := e.Eval(e.NewFlowState(), &f, t0)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1: %+v", len(alerts), alerts)
	}
	a := alerts[0]
	if a.Type != "alert" || a.Rule != "pii-to-ai" || a.Severity != "high" || a.FlowID != "F1" ||
		a.CommunityID != "1:abc=" || a.Description == "" || a.Count != 1 || a.TS.UnixNano() != t0 {
		t.Errorf("alert fields: %+v", a)
	}
	if want := "dst.category=ai_ml and sensitive.class=PCI (credit_card×3)"; a.Reason != want {
		t.Errorf("reason %q, want %q", a.Reason, want)
	}
	if !slices.Equal(f.Alerts, []string{"pii-to-ai"}) {
		t.Errorf("flow alerts %v", f.Alerts)
	}
	if len(a.Sensitive) != 2 || a.Sensitive[0].Evidence[0] != "****1111" {
		t.Errorf("sensitive not copied: %+v", a.Sensitive)
	}
	// The copy must not alias the flow's evidence.
	f.Sensitive[0].Evidence[0] = "changed"
	if a.Sensitive[0].Evidence[0] != "****1111" {
		t.Error("alert evidence aliases the flow")
	}
	if _, err := json.Marshal(a); err != nil {
		t.Fatal(err)
	}
}

func TestReasons(t *testing.T) {
	tests := []struct{ when, want string }{
		{`{src.service: [billing], not: {dst.name: ["api.stripe.com", "*.adyen.com"]}}`,
			"src.service=billing and not(dst.name in [api.stripe.com, *.adyen.com])"},
		{`{any: [{dst.port: [1]}, {dst.ip: [203.0.113.0/24]}]}`, "dst.ip=203.0.113.7"},
		{`{sensitive.count: ">=2"}`, "sensitive.count>=2 (credit_card×3 out)"},
		{`{bytes.out: ">1MB", vlan: [100]}`, "bytes.out=2000000 and vlan=100"},
		{`{dst.first_seen: false, tags: [prod]}`, "dst.first_seen=false and tags=prod"},
		{`{during: {days: [mon-fri], tz: Europe/Berlin}}`, "during mon-fri Europe/Berlin"},
		{`{not: {any: [{vlan: [5]}, {tags: [x]}, {dst.ioc: true}, {dst.ip: [1.2.3.4]}, {bytes.out: ">1GB"}, {dst.port: [1, "2-3"]},
			{sensitive.class: [PHI], sensitive.type: [us_npi], sensitive.count: ">1", direction: in}, {all: [{app: [x]}, {dst.domain: [y.com]}]}]}}`,
			"not(any(vlan in [5] | tags in [x] | dst.ioc | dst.ip in [1.2.3.4] | bytes.out [>1GB] | dst.port in [1, 2-3] | " +
				"sensitive.class in [PHI] and sensitive.type in [us_npi] and sensitive.count>1 (in) | app in [x] and dst.domain in [y.com]))"},
	}
	for _, tt := range tests {
		e := compileYAML(t, whenRule(tt.when), Options{})
		f := baseFlow()
		as := e.Eval(e.NewFlowState(), &f, t0)
		if len(as) != 1 || as[0].Reason != tt.want {
			t.Errorf("when %s: alerts %+v, want reason %q", tt.when, as, tt.want)
		}
	}
}

// TestAlertLatency feeds a growing record through Eval as the pipeline does
// and checks each rule fires at the first call where its conditions hold,
// exactly once per flow.
func TestAlertLatency(t *testing.T) {
	e := compileYAML(t, `rules:
  - id: pii-to-ai
    dedup: 0
    when: {dst.category: [ai_ml], sensitive.class: [PII, PCI], direction: out}
  - id: big
    dedup: 0
    when: {bytes.out: ">1MB"}
`, Options{})
	st := e.NewFlowState()
	f := record.Flow{Src: record.Src{IP: "10.0.0.1"}, Dst: record.Dst{IP: "198.51.100.1", Category: "unknown"}}
	type step struct {
		at     time.Duration
		change func()
		want   []string
	}
	steps := []step{
		{0, func() {}, nil},
		{100 * time.Millisecond, func() { f.Dst.Name, f.Dst.Category = "api.openai.com", "ai_ml" }, nil},
		{250 * time.Millisecond, func() { f.Bytes.Out = 4000 }, nil},
		{300 * time.Millisecond, func() {
			f.Sensitive = append(f.Sensitive, record.Finding{Type: "email", Class: "PII", Count: 1, Direction: "out"})
		}, []string{"pii-to-ai"}},
		{400 * time.Millisecond, func() { f.Sensitive[0].Count = 5 }, nil},
		{2 * time.Second, func() { f.Bytes.Out = 3_000_000 }, []string{"big"}},
		{30 * time.Second, func() { f.State = record.StateClosed }, nil},
	}
	for i, s := range steps {
		s.change()
		now := t0 + int64(s.at)
		var got []string
		for _, a := range e.Eval(st, &f, now) {
			got = append(got, a.Rule)
			if a.TS.UnixNano() != now {
				t.Errorf("step %d: alert time %v, want packet time of the record", i, a.TS)
			}
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("step %d (+%v): fired %v, want %v", i, s.at, got, s.want)
		}
	}
	if !slices.Equal(f.Alerts, []string{"pii-to-ai", "big"}) {
		t.Errorf("flow alerts %v", f.Alerts)
	}
}

func TestDedup(t *testing.T) {
	e := compileYAML(t, `rules:
  - id: r
    dedup: {window: 10m}
    when: {dst.category: [ai_ml]}
  - id: per-ip
    dedup: {window: 10m, per: [src.ip]}
    when: {dst.category: [ai_ml]}
  - id: off
    dedup: 0
    when: {dst.category: [ai_ml]}
`, Options{})
	type call struct {
		at   time.Duration
		src  string
		want map[string]int // rule -> Count of the emitted alert
	}
	calls := []call{
		{0, "10.0.0.1", map[string]int{"r": 1, "per-ip": 1, "off": 1}},
		{time.Minute, "10.0.0.1", map[string]int{"off": 1}},
		{2 * time.Minute, "10.0.0.2", map[string]int{"per-ip": 1, "off": 1}}, // same service, new IP
		{3 * time.Minute, "10.0.0.1", map[string]int{"off": 1}},
		{10 * time.Minute, "10.0.0.1", map[string]int{"r": 4, "per-ip": 3, "off": 1}}, // window over: folded counts
		{11 * time.Minute, "10.0.0.1", map[string]int{"off": 1}},
	}
	for i, c := range calls {
		f := baseFlow()
		f.Src.IP = c.src
		got := map[string]int{}
		for _, a := range e.Eval(e.NewFlowState(), &f, t0+int64(c.at)) {
			got[a.Rule] = a.Count
		}
		if len(f.Alerts) != 3 {
			t.Errorf("call %d: every matching flow is tagged, got %v", i, f.Alerts)
		}
		if len(got) != len(c.want) {
			t.Errorf("call %d: got %v, want %v", i, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("call %d: got %v, want %v", i, got, c.want)
			}
		}
	}
	st := e.Stats()
	if st.Rules[0].Fired != 6 || st.Rules[0].Alerts != 2 || st.Rules[0].Suppressed != 4 {
		t.Errorf("stats %+v", st.Rules[0])
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := 0; i < 300; i++ {
		b.WriteString("  - {id: r" + strconv.Itoa(i) + ", when: {dst.category: [nope]}}\n")
	}
	_, err := Parse("big.yaml", []byte(b.String()))
	ds, ok := err.(config.Errors)
	if !ok || len(ds) != maxDiagnostics+1 || !strings.Contains(ds[len(ds)-1].Msg, "too many errors") {
		t.Fatalf("got %d diagnostics, want %d ending in a stop notice", len(ds), maxDiagnostics+1)
	}
}

func TestDedupEviction(t *testing.T) {
	d := NewDedup(2)
	k := func(s string) key { return key{kind: defaultKind, src: s} }
	for _, s := range []string{"a", "a", "b", "c"} { // "a" folded once, then evicted by "c"
		d.fire("r", k(s), t0, int64(time.Hour))
	}
	st := d.Stats()
	if st.Keys != 2 || st.Evicted != 1 || st.EvictedSuppressed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if emit, n := d.fire("r", k("a"), t0+1, int64(time.Hour)); !emit || n != 1 {
		t.Fatalf("evicted key should start fresh: emit=%v count=%d", emit, n)
	}
}

// sensitive.in selects findings by where they were made; "payload" is the
// content itself.
func TestSensitiveIn(t *testing.T) {
	e := compileYAML(t, `rules:
  - id: ua
    when: {sensitive.in: [http.user_agent, tls.sni], sensitive.class: [PCI]}
  - id: body
    when: {sensitive.in: [payload]}
`, Options{DisableDefaults: true})
	for _, tt := range []struct {
		in   string
		want []string
	}{{"http.user_agent", []string{"ua"}}, {"tls.sni", []string{"ua"}}, {"", []string{"body"}}, {"dns.query", nil}} {
		f := baseFlow()
		f.Sensitive = []record.Finding{{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out", In: tt.in}}
		e.Eval(e.NewFlowState(), &f, t0)
		if !slices.Equal(f.Alerts, tt.want) {
			t.Errorf("in %q fired %v, want %v", tt.in, f.Alerts, tt.want)
		}
	}
	if _, err := Parse("bad.yaml", []byte("rules:\n  - id: x\n    when: {sensitive.in: [body]}\n")); err == nil || !strings.Contains(err.Error(), "not a place") {
		t.Errorf("sensitive.in: [body] compiled (err %v)", err)
	}
}

func TestDefaultPack(t *testing.T) {
	e, err := Compile(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret := []record.Finding{{Type: "aws_access_key", Class: "SECRET", Count: 1, Direction: "out"}}
	card := []record.Finding{{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out"}}
	tests := []struct {
		name   string
		modify func(*record.Flow)
		want   []string
	}{
		{"pii to ai", func(f *record.Flow) {}, []string{"default.sensitive-to-ai"}},
		{"secret to saas", func(f *record.Flow) { f.Dst.Category, f.Sensitive = "saas", secret },
			[]string{"default.secret-egress"}},
		{"secret to internal", func(f *record.Flow) { f.Dst.Category, f.Sensitive = "internal", secret }, nil},
		{"secret inbound", func(f *record.Flow) {
			f.Dst.Category = "saas"
			f.Sensitive = []record.Finding{{Type: "jwt", Class: "SECRET", Count: 1, Direction: "in"}}
		}, nil},
		{"card to unknown", func(f *record.Flow) { f.Dst.Category, f.Sensitive = "unknown", card },
			[]string{"default.card-to-unknown"}},
		{"card to threat with ioc", func(f *record.Flow) {
			f.Dst.Category, f.Sensitive, f.Dst.IOC = "threat", card, &record.IOC{List: "feodo"}
		}, []string{"default.card-to-unknown", "default.ioc-hit"}},
		{"first seen", func(f *record.Flow) { f.Dst.Category, f.Dst.FirstSeen = "saas", true },
			[]string{"default.sensitive-to-new-destination"}},
		{"nothing sensitive", func(f *record.Flow) { f.Sensitive = nil; f.Dst.FirstSeen = true }, nil},
		{"card in a dns query to an internal resolver", func(f *record.Flow) {
			f.Dst.Category = "internal"
			f.Sensitive = []record.Finding{{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out", In: "dns.query"}}
		}, []string{"default.dns-exfiltration"}},
		{"key id in a dns query to an unknown resolver", func(f *record.Flow) {
			f.Dst.Category = "unknown"
			f.Sensitive = []record.Finding{{Type: "aws_access_key", Class: "SECRET", Count: 1, Direction: "out", In: "dns.query"}}
		}, []string{"default.secret-egress", "default.dns-exfiltration"}},
		{"card in an sni to internal", func(f *record.Flow) {
			f.Dst.Category = "internal"
			f.Sensitive = []record.Finding{{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out", In: "tls.sni"}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := baseFlow()
			tt.modify(&f)
			e.Eval(e.NewFlowState(), &f, t0)
			if !slices.Equal(f.Alerts, tt.want) {
				t.Fatalf("fired %v, want %v", f.Alerts, tt.want)
			}
		})
	}
}

func TestDefaultOverride(t *testing.T) {
	rs, err := Parse("u.yaml", []byte(`rules:
  - id: default.sensitive-to-ai
    enabled: false
  - id: default.ioc-hit
    severity: low
    when: {dst.ioc: [mine]}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(defaultRules(t)) - 1; e.Len() != want {
		t.Fatalf("got %d rules, want %d (one default disabled)", e.Len(), want)
	}
	f := baseFlow()
	f.Dst.IOC = &record.IOC{List: "mine"}
	as := e.Eval(e.NewFlowState(), &f, t0)
	if len(as) != 1 || as[0].Rule != "default.ioc-hit" || as[0].Severity != "low" {
		t.Fatalf("alerts %+v", as)
	}
}

func TestEngineSwap(t *testing.T) {
	e1 := compileYAML(t, whenRule(`{dst.category: [ai_ml]}`), Options{})
	e2 := compileYAML(t, whenRule(`{dst.category: [ai_ml]}`)+"  - id: s\n    dedup: 0\n    when: {dst.port: [443]}\n",
		Options{Dedup: e1.Dedup(), Volume: e1.Volume()})
	var st FlowState // zero value usable
	f := baseFlow()
	if n := len(e1.Eval(&st, &f, t0)); n != 1 {
		t.Fatalf("e1 fired %d", n)
	}
	if n := len(e2.Eval(&st, &f, t0+1)); n != 2 {
		t.Fatalf("after swap: %d alerts, want 2 (state rebound)", n)
	}
	st.Reset()
	if n := len(e2.Eval(&st, &f, t0+2)); n != 2 {
		t.Fatalf("after reset: %d alerts", n)
	}
}

func TestDuplicateIDsAcrossSources(t *testing.T) {
	a, _ := Parse("a.yaml", []byte(whenRule(`{dst.port: [1]}`)))
	b, _ := Parse("b.yaml", []byte("\n"+whenRule(`{dst.port: [2]}`)))
	_, err := Compile(append(a, b...), Options{DisableDefaults: true})
	if err == nil || !strings.Contains(err.Error(), `b.yaml:3: id: duplicate rule id "r" (first at a.yaml:2)`) {
		t.Fatalf("err = %v", err)
	}
}

// TestEvalNoAllocs proves the per-record path allocates nothing when no rule
// fires, with a realistic mix of conditions.
func TestEvalNoAllocs(t *testing.T) {
	e := benchEngine(t, 200)
	st := e.NewFlowState()
	f := benchFlow()
	n := testing.AllocsPerRun(1000, func() {
		f.Bytes.Out += 100
		if len(e.Eval(st, &f, t0)) != 0 {
			t.Fatal("benchmark flow must not fire")
		}
	})
	if n != 0 {
		t.Fatalf("Eval allocates %.1f times per record", n)
	}
}

// defaultRules returns the default pack as compiled with no user rules.
func defaultRules(t *testing.T) []Rule {
	t.Helper()
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// EvalWith works in the caller's scratch: a worker's evaluations of many
// flows allocate nothing, and each flow's state stays small (no per-flow
// copy of the scratch).
func TestEvalWithSharedScratch(t *testing.T) {
	e := benchEngine(t, 200)
	var sc Scratch
	states := make([]FlowState, 8)
	f := benchFlow()
	for i := range states {
		e.EvalWith(&sc, &states[i], &f, t0) // binds each state
	}
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		f.Bytes.Out += 100
		if len(e.EvalWith(&sc, &states[i%len(states)], &f, t0)) != 0 {
			t.Fatal("benchmark flow must not fire")
		}
		i++
	})
	if n != 0 {
		t.Fatalf("EvalWith allocates %.1f times per record", n)
	}
	if sc.x.f != nil {
		t.Error("the scratch keeps the last record alive")
	}
	for i := range states {
		if states[i].sc != nil {
			t.Fatal("EvalWith gave a flow state a scratch of its own")
		}
	}
}

// MayFire must be false only when no evaluation of the record, whatever
// dst.first_seen turns out to be, fires a rule or counts the flow: the
// pipeline then skips the evaluation of a running flow.
func TestMayFireNeverMissesAFiring(t *testing.T) {
	firstSeenRules := `rules:
  - {id: new, dedup: 0, when: {dst.first_seen: true}}
  - {id: old-ai, dedup: 0, when: {dst.first_seen: false, dst.category: [ai_ml]}}
  - {id: denials, dedup: 0, when: {conn_state: [S0]}, threshold: {flows: 1, per: [src.ip], window: 10m}}
`
	sets := map[string]func(t *testing.T) *Engine{
		"spec":       func(t *testing.T) *Engine { return compileYAML(t, specRules, Options{}) },
		"first seen": func(t *testing.T) *Engine { return compileYAML(t, firstSeenRules, Options{}) },
		"defaults": func(t *testing.T) *Engine {
			e, err := Compile(nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
	}
	variants := map[string]func(f *record.Flow){
		"base":         func(*record.Flow) {},
		"no findings":  func(f *record.Flow) { f.Sensitive = nil },
		"inbound only": func(f *record.Flow) { f.Sensitive = f.Sensitive[1:] },
		"unknown":      func(f *record.Flow) { f.Dst.Category = "unknown"; f.Sensitive = f.Sensitive[:1] },
		"internal":     func(f *record.Flow) { f.Dst.Category = "internal" },
		"first seen":   func(f *record.Flow) { f.Dst.FirstSeen = true; f.Sensitive = nil },
		"ioc":          func(f *record.Flow) { f.Dst.IOC = &record.IOC{List: "x"}; f.Sensitive = nil },
		"payments":     func(f *record.Flow) { f.Src.Service = "payments-api"; f.Sensitive = nil },
		"db port":      func(f *record.Flow) { f.Dst.Port = 5432; f.Src.IP = "192.0.2.1"; f.Sensitive = nil },
		"live S0":      func(f *record.Flow) { f.State = record.StateActive; f.ConnState = "S0"; f.Sensitive = nil },
		"final S0":     func(f *record.Flow) { f.State = "fin"; f.ConnState = "S0"; f.Sensitive = nil },
		"secret in name": func(f *record.Flow) {
			f.Sensitive = []record.Finding{{Type: "aws_key", Class: "SECRET", Count: 1, Direction: "out", In: "dns.query"}}
		},
	}
	var skipped, fired int
	for set, mk := range sets {
		for name, mut := range variants {
			t.Run(set+"/"+name, func(t *testing.T) {
				f := baseFlow()
				mut(&f)
				before := f.Dst.FirstSeen
				may := mk(t).MayFire(new(Scratch), &f, t0)
				if f.Dst.FirstSeen != before {
					t.Fatal("MayFire changed dst.first_seen")
				}
				for _, fs := range []bool{false, true} {
					g := f
					g.Dst.FirstSeen = fs
					e := mk(t) // fresh thresholds and de-duplication
					alerts := e.Eval(e.NewFlowState(), &g, t0)
					if !may && (len(alerts) > 0 || len(g.Alerts) > 0) {
						t.Errorf("first_seen=%v: MayFire false, but %v fired", fs, g.Alerts)
					}
					if len(g.Alerts) > 0 {
						fired++
					}
				}
				if !may {
					skipped++
				}
			})
		}
	}
	if skipped == 0 || fired == 0 {
		t.Errorf("%d records skipped, %d firings: the table does not exercise both sides", skipped, fired)
	}
}

// Holding must agree with MayFire, and its promise must hold: after an
// evaluation of a flow's record r1, a later record r2 whose rules holding
// with each value of first_seen are among those that held for r1 with that
// value, with no threshold or out-of-bitmap rule holding for either, fires
// nothing when evaluated with the same first_seen (the pipeline then skips
// it). And each rule that held for r1 with the first_seen it was evaluated
// with fired then.
func TestHoldingCoversLaterEvaluations(t *testing.T) {
	sets := map[string]func(t *testing.T) *Engine{
		"spec": func(t *testing.T) *Engine { return compileYAML(t, specRules, Options{}) },
		"first seen": func(t *testing.T) *Engine {
			return compileYAML(t, `rules:
  - {id: new, dedup: 0, when: {dst.first_seen: true, sensitive.class: [PCI]}}
  - {id: pci, when: {sensitive.class: [PCI]}}
  - {id: pii, when: {sensitive.class: [PII]}}
  - {id: denials, dedup: 0, when: {conn_state: [S0]}, threshold: {flows: 2, per: [src.ip], window: 10m}}
`, Options{})
		},
		"defaults": func(t *testing.T) *Engine {
			e, err := Compile(nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
		"past 64": func(t *testing.T) *Engine { return benchEngine(t, 70) },
	}
	card := record.Finding{Type: "credit_card", Class: "PCI", Count: 1, Direction: "out", Confidence: "high"}
	ssn := record.Finding{Type: "us_ssn", Class: "PII", Count: 1, Direction: "out", Confidence: "high"}
	key := record.Finding{Type: "aws_key", Class: "SECRET", Count: 1, Direction: "out", Confidence: "high"}
	variants := map[string]func(f *record.Flow){
		"none":     func(f *record.Flow) { f.Sensitive = nil },
		"card":     func(f *record.Flow) { f.Sensitive = []record.Finding{card} },
		"card×2":   func(f *record.Flow) { c := card; c.Count = 2; f.Sensitive = []record.Finding{c} },
		"card+ssn": func(f *record.Flow) { f.Sensitive = []record.Finding{card, ssn} },
		"ssn":      func(f *record.Flow) { f.Sensitive = []record.Finding{ssn} },
		"key":      func(f *record.Flow) { f.Sensitive = []record.Finding{key} },
		"unknown":  func(f *record.Flow) { f.Dst.Category = "unknown"; f.Sensitive = []record.Finding{card} },
		"S0":       func(f *record.Flow) { f.State = record.StateActive; f.ConnState = "S0" },
		"bench":    func(f *record.Flow) { *f = benchFlow() },
	}
	var skipped, sent int
	for set, mk := range sets {
		for n1, v1 := range variants {
			for n2, v2 := range variants {
				t.Run(set+"/"+n1+"/"+n2, func(t *testing.T) {
					r1, r2 := baseFlow(), baseFlow()
					v1(&r1)
					v2(&r2)
					e := mk(t)
					h1, o1 := e.Holding(new(Scratch), &r1, t0)
					h2, o2 := e.Holding(new(Scratch), &r2, t0)
					for _, c := range []struct {
						r     *record.Flow
						held  [2]uint64
						other bool
					}{{&r1, h1, o1}, {&r2, h2, o2}} {
						if may := e.MayFire(new(Scratch), c.r, t0); may != (c.held[0]|c.held[1] != 0 || c.other) {
							t.Fatalf("MayFire %v, Holding %b other %v", may, c.held, c.other)
						}
					}
					skip := !o1 && !o2 && h2[0]&^h1[0] == 0 && h2[1]&^h1[1] == 0
					if skip {
						skipped++
					} else {
						sent++
					}
					for j, fs := range []bool{false, true} {
						e := mk(t) // fresh thresholds and de-duplication
						st := e.NewFlowState()
						g1, g2 := r1, r2
						g1.Dst.FirstSeen, g2.Dst.FirstSeen = fs, fs
						e.Eval(st, &g1, t0)
						for i := range e.rules {
							if h1[j]&(1<<i) != 0 && !slices.Contains(g1.Alerts, e.rules[i].id) {
								t.Errorf("first_seen=%v: %s held but did not fire (%v)", fs, e.rules[i].id, g1.Alerts)
							}
						}
						g2.Alerts = slices.Clone(g1.Alerts)
						alerts := e.Eval(st, &g2, t0+1)
						if skip && (len(alerts) > 0 || len(g2.Alerts) != len(g1.Alerts)) {
							t.Errorf("first_seen=%v: skippable, but %v fired after %v", fs, g2.Alerts[len(g1.Alerts):], g1.Alerts)
						}
					}
				})
			}
		}
	}
	if skipped == 0 || sent == 0 {
		t.Errorf("%d skippable, %d not: the table does not exercise both sides", skipped, sent)
	}
}

// A flow's state under a rule set of up to 64 rules keeps its bitmaps in
// itself: binding it (a new flow's first evaluation) allocates nothing;
// rebinding to a larger set and back still keeps one firing per rule.
func TestFlowStateBindNoAllocs(t *testing.T) {
	small := compileYAML(t, whenRule(`{dst.category: [ai_ml]}`), Options{DedupWindow: -1})
	big := benchEngine(t, 200)
	var sc Scratch
	f := benchFlow()
	var st FlowState
	if n := testing.AllocsPerRun(100, func() {
		st = FlowState{}
		small.EvalWith(&sc, &st, &f, t0)
	}); n != 0 {
		t.Errorf("binding a state to %d rules: %v allocations", small.Len(), n)
	}
	g := baseFlow()
	for _, e := range []*Engine{small, big, small} {
		st.Reset()
		g.Alerts = nil
		if n := len(e.EvalWith(&sc, &st, &g, t0)) + len(e.EvalWith(&sc, &st, &g, t0+1)); e == small && n != 1 {
			t.Errorf("%d alerts from two evaluations of one flow, want 1", n)
		}
	}
}

// EvalAppend writes the alerts EvalWith writes, into the caller's array,
// sharing the flow's findings; reasons built in the scratch's buffer stay
// each alert's own when the buffer is reused.
func TestEvalAppendMatchesEvalWith(t *testing.T) {
	e := compileYAML(t, specRules, Options{DedupWindow: -1})
	var sc Scratch
	f, g := baseFlow(), baseFlow()
	want := e.EvalWith(&sc, e.NewFlowState(), &f, t0)
	dst := make([]record.Alert, 0, 4)
	got := e.EvalAppend(&sc, e.NewFlowState(), &g, t0, dst)
	if len(want) == 0 || len(got) != len(want) || &got[0] != &dst[:1][0] {
		t.Fatalf("EvalAppend: %d alerts (in the caller's array: %v), EvalWith: %d", len(got), len(got) > 0 && &got[0] == &dst[:1][0], len(want))
	}
	for i := range want {
		wj, _ := json.Marshal(want[i])
		gj, _ := json.Marshal(got[i])
		if string(wj) != string(gj) {
			t.Errorf("alert %d:\n EvalAppend %s\n EvalWith   %s", i, gj, wj)
		}
	}
	if &got[0].Sensitive[0] != &g.Sensitive[0] {
		t.Error("EvalAppend copied the flow's findings")
	}
	if &want[0].Sensitive[0] == &f.Sensitive[0] {
		t.Error("EvalWith shares the flow's findings")
	}
	reason := got[0].Reason
	h := baseFlow()
	h.Dst.Port = 5432 // another rule, another reason, in the same buffer
	e.EvalAppend(&sc, e.NewFlowState(), &h, t0, got[:0])
	if reason != want[0].Reason {
		t.Errorf("a written reason changed when the scratch was reused: %q", reason)
	}
}
