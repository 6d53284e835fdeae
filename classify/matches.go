package classify

// Matches returns how many values the Stream has found so far (all types).
// The pipeline compares it before and after a write to learn, without
// building records, that a flow's findings changed and its policies must be
// evaluated now.
func (st *Stream) Matches() int {
	n := 0
	for i := range st.aggs {
		n += st.aggs[i].count
	}
	return n
}
