package classify

import (
	"testing"
)

// Sync must report a value at once, must not report it twice when the
// stream goes on, and must not change what is found overall.
func TestSync(t *testing.T) {
	e, err := NewEngine(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := e.NewScanner()
	msgs := []string{
		`{"card":"4111111111111111","note":"first message"}`,
		`{"email":"jane.doe@example.com","ssn":"536-22-8741"}`,
		`plain tail without values`,
	}
	synced := sc.NewStream("out")
	for i, m := range msgs {
		before := synced.Matches()
		synced.WriteDecoded(KindJSON, []byte(m))
		synced.Sync()
		if i < 2 && synced.Matches() == before {
			t.Errorf("message %d: nothing reported at Sync", i)
		}
	}
	synced.Flush()
	plain := sc.NewStream("out")
	for _, m := range msgs {
		plain.WriteDecoded(KindJSON, []byte(m))
		plain.EndContent()
	}
	plain.Flush()
	a, b := synced.Findings(nil), plain.Findings(nil)
	if len(a) != len(b) {
		t.Fatalf("with Sync %d types, without %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Count != b[i].Count {
			t.Errorf("finding %d: with Sync %s×%d, without %s×%d", i, a[i].Type, a[i].Count, b[i].Type, b[i].Count)
		}
	}
	if synced.Matches() != 3 {
		t.Errorf("Matches = %d, want 3 (card, email, ssn) — reported twice?", synced.Matches())
	}
}
