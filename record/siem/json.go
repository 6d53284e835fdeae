package siem

import (
	"time"

	"github.com/tapdlp/tapdlp/internal/jsonw"
)

// enc appends one JSON object to a buffer without reflection: the writer
// native records use too (internal/jsonw), so every output escapes strings
// and formats numbers alike.
type enc = jsonw.Writer

// timeKey writes member k with t in UTC formatted by layout.
func timeKey(e *enc, k string, t time.Time, layout string) {
	e.Key(k)
	e.B = append(e.B, '"')
	e.B = t.UTC().AppendFormat(e.B, layout)
	e.B = append(e.B, '"')
}
