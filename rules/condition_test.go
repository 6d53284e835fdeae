package rules

import (
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"

	"github.com/tapdlp/tapdlp/config"
)

func TestConditions(t *testing.T) {
	noSens := func(f *record.Flow) { f.Sensitive = nil }
	tests := []struct {
		name   string
		when   string
		modify func(*record.Flow)
		want   bool
	}{
		{"category hit", `{dst.category: [ai_ml]}`, nil, true},
		{"category list any-of", `{dst.category: [saas, ai_ml]}`, nil, true},
		{"category miss", `{dst.category: [saas]}`, nil, false},
		{"category scalar", `{dst.category: ai_ml}`, nil, true},
		{"empty category is unknown", `{dst.category: [unknown]}`, func(f *record.Flow) { f.Dst.Category = "" }, true},
		{"future category matches nothing", `{dst.category: [unknown]}`, func(f *record.Flow) { f.Dst.Category = "gaming" }, false},
		{"name exact", `{dst.name: [api.openai.com]}`, nil, true},
		{"name exact case-insensitive", `{dst.name: [API.OpenAI.com]}`, nil, true},
		{"name trailing dot", `{dst.name: [api.openai.com.]}`, nil, true},
		{"name wildcard one label", `{dst.name: ["*.openai.com"]}`, nil, true},
		{"name wildcard two labels", `{dst.name: ["*.openai.com"]}`, func(f *record.Flow) { f.Dst.Name = "a.b.openai.com" }, true},
		{"name wildcard not apex", `{dst.name: ["*.openai.com"]}`, func(f *record.Flow) { f.Dst.Name = "openai.com" }, false},
		{"name wildcard not suffix trick", `{dst.name: ["*.adyen.com"]}`, func(f *record.Flow) { f.Dst.Name = "adyen.com.evil" }, false},
		{"name wildcard not glued", `{dst.name: ["*.adyen.com"]}`, func(f *record.Flow) { f.Dst.Name = "eviladyen.com" }, false},
		{"name wildcard empty label", `{dst.name: ["*.adyen.com"]}`, func(f *record.Flow) { f.Dst.Name = ".adyen.com" }, false},
		{"name in-label glob", `{dst.name: ["api-*.openai.com"]}`, func(f *record.Flow) { f.Dst.Name = "api-eu.openai.com" }, true},
		{"name in-label glob stays in label", `{dst.name: ["api-*.openai.com"]}`, func(f *record.Flow) { f.Dst.Name = "api-x.y.openai.com" }, false},
		{"name middle star one label", `{dst.name: ["api.*.com"]}`, func(f *record.Flow) { f.Dst.Name = "api.openai.com" }, true},
		{"name middle star not two", `{dst.name: ["api.*.com"]}`, func(f *record.Flow) { f.Dst.Name = "api.x.openai.com" }, false},
		{"name star any", `{dst.name: ["*"]}`, nil, true},
		{"name star not empty", `{dst.name: ["*"]}`, func(f *record.Flow) { f.Dst.Name = "" }, false},
		{"domain", `{dst.domain: [openai.com]}`, nil, true},
		{"conn_state", `{conn_state: [REJ, S0]}`, func(f *record.Flow) { f.ConnState = "REJ" }, true},
		{"conn_state case-insensitive", `{conn_state: [rej]}`, func(f *record.Flow) { f.ConnState = "REJ" }, true},
		{"conn_state miss", `{conn_state: [REJ]}`, func(f *record.Flow) { f.ConnState = "SF" }, false},
		{"conn_state absent", `{conn_state: [REJ]}`, nil, false},
		{"reject.by rst", `{reject.by: [rst]}`, func(f *record.Flow) { f.Reject = &record.Reject{By: "rst"} }, true},
		{"reject.by icmp miss", `{reject.by: [icmp]}`, func(f *record.Flow) { f.Reject = &record.Reject{By: "rst"} }, false},
		{"reject.by no reject", `{reject.by: [rst, icmp]}`, nil, false},
		{"resolution", `{dst.resolution: [other_name, unresolved]}`, func(f *record.Flow) { f.Dst.Resolution = "unresolved" }, true},
		{"resolution matched", `{dst.resolution: [other_name, unresolved]}`, func(f *record.Flow) { f.Dst.Resolution = "matched" }, false},
		{"ai operation", `{ai.operation: [chat]}`, func(f *record.Flow) { f.AI = &record.AI{Provider: "openai", Operation: "chat"} }, true},
		{"ai operation other", `{ai.operation: [chat]}`, func(f *record.Flow) { f.AI = &record.AI{Provider: "openai", Operation: "embeddings"} }, false},
		{"ai operation no ai", `{ai.operation: [chat]}`, func(f *record.Flow) {}, false},
		{"ai provider", `{ai.provider: [openai, azure_openai]}`, func(f *record.Flow) { f.AI = &record.AI{Provider: "azure_openai"} }, true},
		{"ai model glob", `{ai.model: ["gpt-4.1-*"]}`, func(f *record.Flow) { f.AI = &record.AI{Model: "gpt-4.1-mini"} }, true},
		{"ai model not", `{not: {ai.model: ["gpt-4o-mini"]}}`, func(f *record.Flow) { f.AI = &record.AI{Model: "gpt-4o"} }, true},
		{"vendor glob", `{dst.vendor: ["open*"]}`, nil, true},
		{"dst.service", `{dst.service: ["OpenAI API"]}`, nil, true},
		{"src.service", `{src.service: [billing, hr-portal]}`, nil, true},
		{"src.service miss", `{src.service: [hr-portal]}`, nil, false},
		{"app", `{app: [tls]}`, nil, true},
		{"proto", `{proto: [udp]}`, nil, false},
		{"tags any", `{tags: [eu-*]}`, nil, true},
		{"tags miss", `{tags: [dev]}`, nil, false},
		{"src cidr", `{src.ip: [10.1.0.0/16]}`, nil, true},
		{"src cidr miss", `{src.ip: [10.2.0.0/16]}`, nil, false},
		{"dst single ip", `{dst.ip: [203.0.113.7]}`, nil, true},
		{"ipv6 cidr", `{dst.ip: ["2001:db8::/32"]}`, func(f *record.Flow) { f.Dst.IP = "2001:db8::1" }, true},
		{"v4-mapped ip", `{dst.ip: [203.0.113.0/24]}`, func(f *record.Flow) { f.Dst.IP = "::ffff:203.0.113.9" }, true},
		{"bad flow ip never matches", `{dst.ip: [0.0.0.0/0]}`, func(f *record.Flow) { f.Dst.IP = "" }, false},
		{"port list", `{dst.port: [5432, 443]}`, nil, true},
		{"port range", `{dst.port: ["400-500"]}`, nil, true},
		{"port cmp", `{dst.port: [">1024"]}`, nil, false},
		{"src.port cmp", `{src.port: [">=1024"]}`, nil, true},
		{"bytes.out gt", `{bytes.out: ">1MB"}`, nil, true},
		{"bytes.out gt miss", `{bytes.out: ">2MB"}`, nil, false},
		{"bytes.out ge exact", `{bytes.out: ">=2MB"}`, nil, true},
		{"bytes.out binary", `{bytes.out: ">=2MiB"}`, nil, false},
		{"bytes.in lt", `{bytes.in: "<10KiB"}`, nil, true},
		{"bytes.in eq", `{bytes.in: 10000}`, nil, true},
		{"bytes.in ne", `{bytes.in: "!=10000"}`, nil, false},
		{"bytes.out le", `{bytes.out: "<= 2000000"}`, nil, true},
		{"vlan", `{vlan: [100, 200]}`, nil, true},
		{"vlan miss", `{vlan: [200]}`, nil, false},
		{"first_seen false", `{dst.first_seen: true}`, nil, false},
		{"first_seen true", `{dst.first_seen: true}`, func(f *record.Flow) { f.Dst.FirstSeen = true }, true},
		{"ioc any", `{dst.ioc: true}`, func(f *record.Flow) { f.Dst.IOC = &record.IOC{List: "abuse.ch"} }, true},
		{"ioc none", `{dst.ioc: true}`, nil, false},
		{"ioc false", `{dst.ioc: false}`, nil, true},
		{"ioc list", `{dst.ioc: [abuse.*]}`, func(f *record.Flow) { f.Dst.IOC = &record.IOC{List: "abuse.ch"} }, true},
		{"ioc list miss", `{dst.ioc: [internal-ti]}`, func(f *record.Flow) { f.Dst.IOC = &record.IOC{List: "abuse.ch"} }, false},
		{"class", `{sensitive.class: [PCI]}`, nil, true},
		{"class miss", `{sensitive.class: [PHI]}`, nil, false},
		{"type", `{sensitive.type: [credit_card]}`, nil, true},
		{"count ge", `{sensitive.count: ">=3"}`, nil, true},
		{"count gt miss", `{sensitive.count: ">3"}`, nil, false},
		{"same finding: class and count", `{sensitive.class: [PII], sensitive.count: ">=3"}`, nil, false},
		{"same finding: type and count", `{sensitive.type: [credit_card], sensitive.count: ">=2"}`, nil, true},
		{"direction out", `{sensitive.class: [PII], direction: out}`, nil, false},
		{"direction in", `{sensitive.class: [PII], direction: in}`, nil, true},
		{"direction any", `{sensitive.class: [PII], direction: any}`, nil, true},
		{"direction inherited by any", `{direction: out, any: [{sensitive.class: [PII]}, {sensitive.type: [jwt]}]}`, nil, false},
		{"direction inherited hit", `{direction: in, any: [{sensitive.class: [PII]}, {sensitive.type: [jwt]}]}`, nil, true},
		{"custom type matches class only", `{sensitive.class: [PII]}`, func(f *record.Flow) {
			f.Sensitive = []record.Finding{{Type: "employee_id", Class: "PII", Count: 1, Direction: "out"}}
		}, true},
		{"no findings", `{sensitive.class: [PCI]}`, noSens, false},
		{"not true", `{not: {dst.name: ["api.stripe.com", "*.adyen.com"]}}`, nil, true},
		{"not false", `{not: {dst.name: ["*.openai.com"]}}`, nil, false},
		{"not of and", `{not: {dst.category: [ai_ml], src.service: [hr]}}`, nil, true},
		{"any first", `{any: [{dst.category: [ai_ml]}, {dst.port: [1]}]}`, nil, true},
		{"any second", `{any: [{dst.port: [1]}, {dst.category: [ai_ml]}]}`, nil, true},
		{"any none", `{any: [{dst.port: [1]}, {dst.category: [cdn]}]}`, nil, false},
		{"all both", `{all: [{dst.port: [443]}, {dst.category: [ai_ml]}]}`, nil, true},
		{"all one", `{all: [{dst.port: [443]}, {dst.category: [cdn]}]}`, nil, false},
		{"map is AND", `{dst.port: [443], dst.category: [cdn]}`, nil, false},
		{"nested", `{any: [{all: [{dst.port: [443]}, {not: {src.ip: [10.0.0.0/8]}}]}, {vlan: [100]}]}`, nil, true},
		{"spec example allowlist", `{src.service: [payments-api], not: {dst.name: ["api.stripe.com", "*.adyen.com"]}}`,
			func(f *record.Flow) { f.Src.Service = "payments-api"; f.Dst.Name = "live.adyen.com" }, false},
		{"spec example db port", `{dst.port: [5432, 3306], not: {src.ip: [10.1.0.0/16]}}`,
			func(f *record.Flow) { f.Dst.Port = 5432; f.Src.IP = "192.168.1.1" }, true},
		{"during weekday hours", `{during: {days: [mon-fri], hours: "08:00-18:00", tz: UTC}}`, nil, true},
		{"during weekend", `{during: {days: [sat, sun]}}`, nil, false},
		{"during hours only", `{during: {hours: ["00:00-09:00", "11:00-12:00"]}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileYAML(t, whenRule(tt.when), Options{})
			f := baseFlow()
			if tt.modify != nil {
				tt.modify(&f)
			}
			got := len(e.Eval(e.NewFlowState(), &f, t0)) == 1
			if got != tt.want {
				t.Fatalf("when %s: fired=%v, want %v (flow alerts %v)", tt.when, got, tt.want, f.Alerts)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // each must appear in the error text
	}{
		{"unknown category", `rules:
  - id: a
    when:
      dst.category: [ai]
`, []string{`test.yaml:4: rules[0].when.dst.category: "ai" is not a category (ai_ml, cloud_storage,`}},
		{"position of third rule", `rules:
  - id: a
    when: {dst.port: [1]}
  - id: b
    when: {dst.port: [2]}
  - id: c
    when:
      sensitive.class: [PIII]
`, []string{`test.yaml:8: rules[2].when.sensitive.class: "PIII" is not a sensitive class`}},
		{"unknown type", "rules:\n  - id: a\n    when: {sensitive.type: [ssn]}\n", []string{`test.yaml:3: rules[0].when.sensitive.type: "ssn" is not a sensitive type`}},
		{"unknown field", "rules:\n  - id: a\n    when: {dst.nmae: [x]}\n", []string{`test.yaml:3: rules[0].when.dst.nmae: unknown field "dst.nmae"`}},
		{"unknown rule field", "rules:\n  - id: a\n    wehn: {dst.port: [1]}\n", []string{`test.yaml:3: rules[0].wehn: unknown field`, `test.yaml:2: rules[0]: a rule needs when`}},
		{"bad severity", "rules:\n  - id: a\n    severity: urgent\n    when: {dst.port: [1]}\n", []string{`test.yaml:3: rules[0].severity: "urgent" is not a severity`}},
		{"missing id", "rules:\n  - when: {dst.port: [1]}\n", []string{`test.yaml:2: rules[0]: missing id`}},
		{"bad id", "rules:\n  - id: 'a b'\n    when: {dst.port: [1]}\n", []string{`rules[0].id: "a b" is not a rule id`}},
		{"duplicate id", "rules:\n  - id: a\n    when: {dst.port: [1]}\n  - id: a\n    when: {dst.port: [2]}\n", []string{`test.yaml:4: rules[1].id: duplicate rule id "a" (first at test.yaml:2)`}},
		{"duplicate key", "rules:\n  - id: a\n    when: {dst.port: [1], dst.port: [2]}\n", []string{`rules[0].when.dst.port: duplicate key`}},
		{"bad cidr", "rules:\n  - id: a\n    when: {src.ip: [10.1.0.0/33]}\n", []string{`"10.1.0.0/33" is not an IP address or CIDR`}},
		{"host bits", "rules:\n  - id: a\n    when: {src.ip: [10.1.0.1/16]}\n", []string{`has host bits set (did you mean 10.1.0.0/16?)`}},
		{"bad size", "rules:\n  - id: a\n    when: {bytes.out: \">1XB\"}\n", []string{`rules[0].when.bytes.out: ">1XB" is not a size comparison`}},
		{"bad count", "rules:\n  - id: a\n    when: {sensitive.count: \">=x\"}\n", []string{`is not a comparison`}},
		{"bad port", "rules:\n  - id: a\n    when: {dst.port: [70000]}\n", []string{`"70000" is not a port`}},
		{"bad range", "rules:\n  - id: a\n    when: {dst.port: [\"9-1\"]}\n", []string{`"9-1" is not a port range`}},
		{"bad direction", "rules:\n  - id: a\n    when: {sensitive.class: [PII], direction: up}\n", []string{`"up" is not a direction`}},
		{"direction without sensitive", "rules:\n  - id: a\n    when: {dst.port: [1], direction: out}\n", []string{`direction restricts sensitive.* conditions`}},
		{"not needs map", "rules:\n  - id: a\n    when: {not: [x]}\n", []string{`rules[0].when.not: expected a map of conditions`}},
		{"any needs list", "rules:\n  - id: a\n    when: {any: {dst.port: [1]}}\n", []string{`rules[0].when.any: expected a non-empty list`}},
		{"any item error path", "rules:\n  - id: a\n    when:\n      any:\n        - {dst.port: [1]}\n        - {dst.category: [nope]}\n", []string{`test.yaml:6: rules[0].when.any[1].dst.category: "nope" is not a category`}},
		{"empty list", "rules:\n  - id: a\n    when: {dst.port: []}\n", []string{`empty list matches nothing`}},
		{"bad conn_state", "rules:\n  - id: a\n    when: {conn_state: [SF, REJECTED]}\n", []string{`test.yaml:3: rules[0].when.conn_state: "REJECTED" is not a conn_state value (one of S0, S1, SF, REJ,`}},
		{"bad reject.by", "rules:\n  - id: a\n    when: {reject.by: [firewall]}\n", []string{`"firewall" is not a reject.by value (one of rst, icmp)`}},
		{"bad ai operation", "rules:\n  - id: a\n    when: {ai.operation: [chats]}\n", []string{`"chats" is not a ai.operation value`}},
		{"bad resolution", "rules:\n  - id: a\n    when: {dst.resolution: [resolved]}\n", []string{`"resolved" is not a dst.resolution value`}},
		{"bad tz", "rules:\n  - id: a\n    when: {during: {tz: Mars/Olympus}}\n", []string{`"Mars/Olympus" is not an IANA time zone`}},
		{"bad day", "rules:\n  - id: a\n    when: {during: {days: [funday]}}\n", []string{`"funday" is not a day`}},
		{"bad hours", "rules:\n  - id: a\n    when: {during: {hours: \"8-18\"}}\n", []string{`"8-18" is not an hour range`}},
		{"threshold needs limit", "rules:\n  - id: a\n    threshold: {window: 1h}\n", []string{`rules[0].threshold: needs flows, bytes_out or baseline_factor`}},
		{"threshold flows zero", "rules:\n  - id: a\n    when: {conn_state: [S0]}\n    threshold: {flows: 0}\n", []string{`rules[0].threshold.flows: "0" is not a flow count from 1 to 1000`}},
		{"threshold flows too many", "rules:\n  - id: a\n    when: {conn_state: [S0]}\n    threshold: {flows: 1001}\n", []string{`is not a flow count from 1 to 1000`}},
		{"threshold flows with bytes", "rules:\n  - id: a\n    when: {conn_state: [S0]}\n    threshold: {flows: 3, bytes_out: 1MB}\n", []string{`does not combine with bytes_out`}},
		{"threshold bad per", "rules:\n  - id: a\n    threshold: {bytes_out: 1MB, per: [dst.port]}\n", []string{`"dst.port" is not a key field`}},
		{"threshold window too long", "rules:\n  - id: a\n    threshold: {bytes_out: 1MB, window: 48h}\n", []string{`48h0m0s is longer than`}},
		{"threshold bad factor", "rules:\n  - id: a\n    threshold: {baseline_factor: 0.5}\n", []string{`"0.5" is not a factor greater than 1`}},
		{"dedup bad", "rules:\n  - id: a\n    dedup: {window: soon}\n    when: {dst.port: [1]}\n", []string{`"soon" is not a positive duration`}},
		{"alias", "rules:\n  - id: a\n    when: &x {dst.port: [1]}\n  - id: b\n    when: *x\n", []string{`anchors and aliases are not supported`}},
		{"yaml syntax", "rules:\n  - id: a\n    when: {dst.port: [1]\n", []string{`test.yaml:`}},
		{"two documents", "rules: []\n---\nrules: []\n", []string{`test.yaml:2: more than one document`}},
		{"top level", "rulez: []\n", []string{`test.yaml:1: rulez: unknown top-level key`}},
		{"deep nesting", "rules:\n  - id: a\n    when: " + strings.Repeat("{not: ", 40) + "{dst.port: [1]}" + strings.Repeat("}", 40) + "\n", []string{`nested deeper than 32`}},
		{"many errors reported", "rules:\n  - id: a\n    when: {dst.category: [x]}\n  - id: b\n    when: {dst.category: [y]}\n", []string{`test.yaml:3:`, `test.yaml:5:`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.doc)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			ds, ok := err.(config.Errors)
			if !ok {
				t.Fatalf("error is %T, want config.Errors", err)
			}
			for _, d := range ds {
				if d.Line < 1 || d.File != "test.yaml" {
					t.Errorf("diagnostic without position: %+v", d)
				}
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	tests := []struct {
		name, doc string
		n         int
	}{
		{"empty file", "", 0},
		{"null rules", "rules:\n", 0},
		{"bare list", "- id: a\n  when: {dst.port: [1]}\n", 1},
		{"map", "rules:\n  - id: a\n    when: {dst.port: [1]}\n  - id: b\n    threshold: {bytes_out: 1GB}\n", 2},
		{"disabled without when", "rules:\n  - id: default.ioc-hit\n    enabled: false\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse("x.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != tt.n {
				t.Fatalf("got %d rules, want %d", len(rs), tt.n)
			}
		})
	}
}
