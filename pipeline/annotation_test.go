package pipeline

import (
	"fmt"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// Interning returns one shared copy per distinct annotation — equal ones
// the same pointer, ones differing in any field (not only the name) their
// own — before and after the table starts over.
func TestInternAnnotation(t *testing.T) {
	h := &flowHandler{p: &Pipeline{stats: &Stats{}}}
	base := annotation{name: "api.example.com", dst: record.Dst{Name: "api.example.com", Domain: "example.com", Category: "unknown"},
		fsTrack: true, fsKey: "example.com"}
	variants := []func(a *annotation){
		func(*annotation) {},
		func(a *annotation) { a.dst.Resolution = "matched" },
		func(a *annotation) { a.dst.Resolution = "unresolved" },
		func(a *annotation) { a.srcService = "billing" },
		func(a *annotation) { a.dst.Category = "ai_ml" },
		func(a *annotation) { a.fsTrack = false },
		func(a *annotation) { a.name = "www.example.com" },
	}
	for round := range 2 {
		got := map[*annotation]int{}
		for i, mut := range variants {
			a := base
			mut(&a)
			p := h.internAnnotation(a)
			if *p != a {
				t.Fatalf("round %d, variant %d: interned %+v, want %+v", round, i, *p, a)
			}
			if q := h.internAnnotation(a); q != p {
				t.Errorf("round %d, variant %d: a second copy", round, i)
			}
			if j, dup := got[p]; dup {
				t.Errorf("round %d: variants %d and %d share one annotation", round, j, i)
			}
			got[p] = i
		}
		for i := range maxAnnotations { // fill the table: it starts over
			a := base
			a.name = fmt.Sprintf("h%d.example.com", i)
			h.internAnnotation(a)
		}
	}
	if h.p.stats.AnnotationResets.Load() == 0 {
		t.Error("the table never started over")
	}
}
