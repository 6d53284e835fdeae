package classify

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func parseFile(t *testing.T, path string) ([]CustomDetector, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	return ParseCustom(path[strings.LastIndexByte(path, '/')+1:], &n)
}

func TestParseCustomErrors(t *testing.T) {
	_, err := parseFile(t, "testdata/custom/bad.yaml")
	if err == nil {
		t.Fatal("bad.yaml accepted")
	}
	want := []string{
		`bad.yaml:11: detectors[2].validator: "luhnn" is not a validator (luhn, mod97, verhoeff, mod11, none)`,
		`bad.yaml:13: detectors[3].class: "SECRETS" is not a class (PCI, PII, PHI, SECRET)`,
		`bad.yaml:15: detectors[3].colour: unknown key`,
		`bad.yaml:18: detectors[4].regex: ^ and $ (text anchors) are not supported`,
		`bad.yaml:19: detectors[5].name: "Bad-Name" must match`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"top-level key", "detector: []", "x.yaml:1: detector: unknown key"},
		{"not a list", "detectors: 3", "x.yaml:1: detectors: want a list"},
		{"item not a map", "detectors: [3]", "x.yaml:1: detectors[0]: want a mapping"},
		{"both regex and keywords", "detectors:\n - {name: a, class: PII, regex: x, keywords: [y]}", "detectors[0].regex: exactly one"},
		{"window range", "detectors:\n - {name: a, class: PII, regex: x, window: 999}", "detectors[0].window: 999 outside"},
		{"duplicate", "detectors:\n - {name: a, class: PII, regex: x}\n - {name: a, class: PII, regex: y}", "already defined"},
		{"builtin name", "detectors:\n - {name: credit_card, class: PCI, regex: x}", "is a built-in type"},
		{"confidence", "detectors:\n - {name: a, class: PII, regex: x, confidence: low}", `"low" is not a confidence`},
		{"bad regex", "detectors:\n - {name: a, class: PII, regex: '[a'}", "detectors[0].regex: does not compile"},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.doc), &n); err != nil {
			t.Fatal(err)
		}
		_, err := ParseCustom("x.yaml", &n)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCustomDetectors(t *testing.T) {
	ds, err := parseFile(t, "testdata/custom/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(Config{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	loyalty := []byte("700000000000")
	fixLuhn(loyalty)
	bad := append([]byte(nil), loyalty...)
	bad[11] = '0' + (bad[11]-'0'+1)%10
	cases := []struct{ in, want string }{
		{"employee EMP-123456 joined", "employee_id[9,19)"},
		{"order EMP-123456 shipped", ""},
		{"re: Project Falcon launch", "project_codename[4,18)"},
		{"card " + string(loyalty) + ".", "loyalty_card[5,17)"},
		{"card " + string(bad) + ".", ""},
	}
	for _, c := range cases {
		var got []string
		e.ScanAll([]byte(c.in), func(m Match) {
			got = append(got, m.Type+"["+itoa(m.Start)+","+itoa(m.End)+")")
			if m.Class == "" || strings.Contains(m.Evidence, "123456") {
				t.Errorf("bad match %+v", m)
			}
		})
		if strings.Join(got, " ") != c.want {
			t.Errorf("%q: got %v, want %q", maskForTest(c.in), got, c.want)
		}
		// The same through a split stream.
		for k := 0; k <= len(c.in); k++ {
			ms := readerMatches(t, e, []byte(c.in), k, len(c.in))
			if len(ms) != len(got) {
				t.Fatalf("%q split %d: %d matches, want %d", maskForTest(c.in), k, len(ms), len(got))
			}
		}
	}
	if _, err := NewEngine(Config{}, []CustomDetector{{Name: "x", Class: "PII", Regex: "a", Validator: "nope"}}); err == nil {
		t.Fatal("NewEngine accepted an invalid custom detector")
	}
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
