package report

import (
	"strings"
	"unicode/utf8"
)

// otherID is the id of every key a full table refused.
const otherID int32 = -1

// keyTable interns up to max distinct strings as dense ids, so per-key
// statistics live in slices and cells use small comparable keys. Keys past
// the cap are not remembered (that is the bound): they get otherID and are
// counted in folded.
type keyTable struct {
	ids    map[string]int32
	names  []string
	max    int
	folded uint64 // lookups that got otherID because the table was full
}

func newKeyTable(max int) keyTable {
	return keyTable{ids: make(map[string]int32), max: max}
}

// id returns s's id, adding s if there is room; isNew tells the caller to
// append a statistics slot for it.
func (t *keyTable) id(s string) (id int32, isNew bool) {
	s = clip(s)
	if id, ok := t.ids[s]; ok {
		return id, false
	}
	if len(t.names) >= t.max {
		t.folded++
		return otherID, false
	}
	// Clone so a clipped key does not pin a huge decoded line in memory.
	s = strings.Clone(s)
	id = int32(len(t.names))
	t.ids[s] = id
	t.names = append(t.names, s)
	return id, true
}

func (t *keyTable) name(id int32) string {
	if id == otherID {
		return "other"
	}
	return t.names[id]
}

// clip bounds a key's length at a rune boundary.
func clip(s string) string {
	if len(s) <= maxKeyLen {
		return s
	}
	n := maxKeyLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// keep returns a clipped copy of s for a structure that outlives the
// record: a substring would pin the whole decoded string.
func keep(s string) string { return strings.Clone(clip(s)) }
