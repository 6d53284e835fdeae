package classify

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// loadSegments reads testdata/<name>.segments.txt: one TCP payload per
// line, "out|in <hex>", extracted from the capture with
//
//	tshark -r cce_credit-cards.pcap -Y 'tcp.len>0' -T fields -e tcp.srcport -e tcp.payload
func loadSegments(t *testing.T, name string) (out, in [][]byte) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".segments.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dir, hx, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatal(err)
		}
		if dir == "out" {
			out = append(out, b)
		} else {
			in = append(in, b)
		}
	}
	return out, in
}

// zeekCards returns "length/last4" for each card in Zeek's baseline log.
func zeekCards(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/cce_credit-cards.zeek-baseline.log")
	if err != nil {
		t.Fatal(err)
	}
	digits := regexp.MustCompile(`>([0-9]{12,19})<`)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 12 {
			t.Fatalf("baseline line with %d fields", len(fields))
		}
		m := digits.FindStringSubmatch(fields[11])
		if m == nil || len(m[1]) != len(fields[6]) {
			t.Fatalf("baseline: no card of length %d in data field", len(fields[6]))
		}
		out = append(out, lenLast4(len(m[1]), m[1][len(m[1])-4:]))
	}
	return out
}

func lenLast4(n int, last4 string) string {
	return strings.Repeat("*", n-4) + last4
}

// TestZeekBaselineCards feeds the HTTP response of cce_credit-cards.pcap
// segment by segment and requires every card Zeek's credit-card-exposure
// script finds (compared by length and last four digits).
func TestZeekBaselineCards(t *testing.T) {
	e := testEngine(t)
	_, in := loadSegments(t, "cce_credit-cards")
	st := e.NewScanner().NewStream("in")
	for _, seg := range in {
		st.Write(seg)
	}
	st.Flush()
	fs := st.Findings(nil)
	var ev []string
	count := 0
	for _, f := range fs {
		if f.Type == "credit_card" {
			count = f.Count
		}
	}
	// Evidence is capped per finding, so compare against the match list.
	var all []Match
	if err := ScanReader(bytes.NewReader(bytes.Join(in, nil)), e, func(m Match) { all = append(all, m) }); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.Type == "credit_card" {
			ev = append(ev, m.Evidence)
		}
	}
	if count != len(ev) {
		t.Fatalf("stream counted %d cards, one-shot scan %d", count, len(ev))
	}
	for _, want := range zeekCards(t) {
		found := false
		for _, got := range ev {
			found = found || got == want
		}
		if !found {
			t.Errorf("Zeek finds %s, tapdlp does not", want)
		}
	}
	var golden bytes.Buffer
	for _, m := range all {
		golden.Write(m.AppendJSON(nil))
		golden.WriteByte('\n')
	}
	path := filepath.Join("testdata", "cce_credit-cards.golden.jsonl")
	if *update {
		if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(golden.Bytes(), want) {
		t.Errorf("matches differ from %s (run with -update after checking):\n%s", path, golden.String())
	}
	t.Logf("%d cards found (Zeek baseline: %d)", len(ev), len(zeekCards(t)))
}
