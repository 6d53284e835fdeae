package classify

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"testing"
)

var dumpPath = flag.String("dump", "", "write every match on the accuracy corpus, benign text and benchmark corpus to this file (to diff two revisions)")

// TestDumpMatches writes one line per match so that two revisions of the
// detectors can be compared match for match on the same inputs:
// go test -run TestDumpMatches -dump /tmp/a.txt ./classify
func TestDumpMatches(t *testing.T) {
	if *dumpPath == "" {
		t.Skip("no -dump path")
	}
	f, err := os.Create(*dumpPath)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	e := testEngine(t)
	line := func(src string, k int) func(Match) {
		return func(m Match) {
			fmt.Fprintf(w, "%s#%d %s [%d,%d) %s %s %v\n", src, k, m.Type, m.Start, m.End, m.Confidence, m.Evidence, m.TestNumber)
		}
	}
	for k, s := range buildSamples(42, 400) {
		e.ScanAll(s.doc, line("sample "+s.kind, k))
	}
	for k, c := range detectorCases() {
		e.ScanAll([]byte(c.in), line("case "+c.name, k))
	}
	e.ScanAll(benign(7, 10<<20), line("benign", 0))
	e.ScanAll(mixedCorpus(), line("bench", 0))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
