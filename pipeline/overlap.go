package pipeline

import (
	"slices"

	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// altScan scans the conflicting copies of retransmitted bytes of one
// direction (reassembly.Overlapper): a passive sensor cannot tell which copy
// the receiving host kept — a decoy with a TTL too low to reach it, or the
// retransmission the host took — so a value in either is reported. It is
// allocated on a flow's first conflicting overlap and kept with the
// session's content when the session is recycled.
type altScan struct {
	st   classify.Stream
	sc   *classify.Scanner // the scanner st was set up with
	used bool              // written for the current flow
	next uint64            // stream offset that continues the current view
}

// Overlap implements reassembly.Overlapper: the conflicting copy (with the
// first copy's bytes around it) is scanned raw on a separate stream, whose
// findings are merged into the record. A view that does not continue the
// previous one is judged on its own (Sync), so no value is assembled from
// bytes that were never adjacent.
func (s *session) Overlap(dir reassembly.Dir, off uint64, b []byte, ts int64) {
	if !s.inspect || len(b) == 0 || s.closed {
		return
	}
	s.ts = ts
	s.ready = true
	s.scan()
	a := s.c.alt[dir]
	if a == nil {
		a = new(altScan)
		s.c.alt[dir] = a
	}
	if !a.used {
		s.charge(altScanBytes)
	}
	if !a.used {
		if a.sc != s.c.scanner {
			a.st.Init(s.c.scanner, dirName[dir])
			a.sc = s.c.scanner
		} else {
			a.st.Reset()
		}
		a.used, a.next = true, off
	}
	if off != a.next {
		a.st.Sync()
	}
	before := a.st.Matches()
	a.st.Write(b)
	a.next = off + uint64(len(b))
	if a.st.Matches() != before {
		s.h.changed(s, ts)
	}
}

// resetAlt forgets the alternate views of the previous flow.
func (c *scanState) resetAlt() {
	for _, a := range c.alt {
		if a != nil {
			a.used = false
		}
	}
}

// altFindings merges the findings of the conflicting copies into found
// (the first copies' findings): a type already found in the same direction
// keeps one entry, with the larger count and the union of the evidence, so
// a value seen in both copies (the context around a conflict) is not
// counted twice.
func (c *scanState) altFindings(found []record.Finding, final bool, maxEvidence int) []record.Finding {
	for _, a := range c.alt {
		if a == nil || !a.used {
			continue
		}
		if final {
			a.st.Flush()
		}
		for _, f := range a.st.Findings(nil) {
			i := slices.IndexFunc(found, func(g record.Finding) bool { return g.Type == f.Type && g.Direction == f.Direction })
			if i < 0 {
				found = append(found, f)
				continue
			}
			g := &found[i]
			g.Count = max(g.Count, f.Count)
			if confRank(f.Confidence) > confRank(g.Confidence) {
				g.Confidence = f.Confidence
			}
			g.TestNumber = g.TestNumber && f.TestNumber
			g.Evidence = union(g.Evidence, f.Evidence, maxEvidence)
			g.Hashes = union(g.Hashes, f.Hashes, maxEvidence)
		}
	}
	return found
}

var dirName = [2]string{reassembly.DirOut: "out", reassembly.DirIn: "in"}

func confRank(c string) int {
	switch c {
	case "high":
		return 2
	case "medium":
		return 1
	}
	return 0
}

// union appends to a the values of b it lacks, up to n values in all
// (n <= 0: no cap).
func union(a, b []string, n int) []string {
	for _, v := range b {
		if n > 0 && len(a) >= n {
			break
		}
		if !slices.Contains(a, v) {
			a = append(a, v)
		}
	}
	return a
}
