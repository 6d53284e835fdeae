package destinations

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// ndpiEquivalent maps nDPI categories to the tapdlp categories that mean the
// same thing. nDPI categories without an entry (Web, Network, System,
// Streaming, Game, VPN, …) describe the application, not where data goes,
// and have no tapdlp counterpart.
var ndpiEquivalent = map[string][]Category{
	"Cloud":         {CategoryCloudStorage, CategorySaaS, CategoryCDN},
	"SocialNetwork": {CategorySocial},
	"Advertisement": {CategoryAdvertising, CategoryAnalytics}, // nDPI files Google Analytics here
	"Collaborative": {CategorySaaS},
	"Email":         {CategorySaaS},
	"Chat":          {CategorySocial, CategorySaaS},
	"VoIP":          {CategorySaaS},
	"Video":         {CategorySocial, CategorySaaS},
	"VirtAssistant": {CategoryAIML},
}

// TestNDPIComparison classifies every distinct hostname nDPI's test suite
// names and writes how our categories line up with nDPI's to a golden file.
// The golden file is the review artefact; the test fails when the result
// changes (run with -update after checking the diff).
func TestNDPIComparison(t *testing.T) {
	f, err := os.Open("testdata/ndpi/hosts.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := testClassifier(t)
	var b strings.Builder
	counts := map[string]int{}
	fmt.Fprintf(&b, "# host\tndpi\ttapdlp\tvendor\tmatched\tverdict\n")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("bad line %q", line)
		}
		host, ndpiCats := cols[0], strings.Split(cols[1], "|")
		x := c.Explain(host)
		verdict := "n/a"
		for _, nc := range ndpiCats {
			eq, ok := ndpiEquivalent[nc]
			if !ok {
				continue
			}
			if verdict == "n/a" {
				verdict = "differ"
			}
			for _, e := range eq {
				if x.Category == e {
					verdict = "agree"
				}
			}
		}
		if verdict == "n/a" && x.Category != CategoryUnknown && x.Category != CategoryInternal {
			verdict = "n/a+known" // nDPI has no counterpart, we name a category
		}
		counts[verdict]++
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", host, cols[1], x.Category, x.Vendor, x.Matched, verdict)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "# totals: agree %d, differ %d, n/a %d, n/a+known %d\n", counts["agree"], counts["differ"], counts["n/a"], counts["n/a+known"])
	const golden = "testdata/ndpi/compare.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != b.String() {
		t.Errorf("nDPI comparison changed; run go test -run TestNDPIComparison -update and review the diff")
	}
	t.Logf("agree %d, differ %d, n/a %d, n/a+known %d", counts["agree"], counts["differ"], counts["n/a"], counts["n/a+known"])
}
