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
	for i := range st.encAggs {
		n += st.encAggs[i].count
	}
	return n
}

// Sync ends the current value (like EndContent) and judges every candidate
// written so far, instead of holding the tail back for bytes that may
// continue it. The pipeline calls it at message boundaries (the end of an
// HTTP message), where no value can continue, so a detection — and the
// alert it may raise — comes when the message ends, not when the flow
// does. The scan continues normally afterwards; only context words that
// would have arrived after the boundary are not seen for values before it.
func (st *Stream) Sync() {
	st.EndContent()
	if st.truncated || st.flushed {
		return
	}
	st.sc.sink = st
	st.w.sync(st.sc, st.w.prepare(st.sc))
}

// sync is scan up to the end of work, keeping only the look-back context.
func (w *window) sync(s *Scanner, work []byte) {
	s.work = work[:0]
	s.base = w.base
	to := len(work)
	if to > w.next {
		w.next, w.cont = s.region(work, w.next, to, w.cont)
	}
	if to > w.cnext {
		s.customRegion(work, w.cnext, to)
		w.cnext = to
	}
	keep := max(0, min(w.next, w.cnext, len(work))-s.e.back)
	w.carry = append(w.carry[:0], work[keep:]...)
	w.base += int64(keep)
	w.next -= keep
	w.cnext -= keep
}

// Types returns the names and classes of every detector the engine runs
// (built-in and custom), index-aligned: the bounded label set of detection
// metrics.
func (e *Engine) Types() (names, classes []string) {
	return append([]string(nil), e.names...), append([]string(nil), e.classes...)
}
