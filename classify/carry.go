package classify

// Carry is a Stream's carry-over taken for a stream that continues it
// after a pause (a TCP connection split by an idle timeout): the bytes a
// candidate not judged yet may still need, with their look-back context,
// and where the scan resumes in them. It holds plaintext: keep it no
// longer than the continuation may come, and never write it out.
type Carry struct {
	b     []byte
	next  int // built-in scan resumes here (relative to b[0])
	cnext int // custom scan resumes here
	cont  uint8
}

// Len returns the bytes c holds (what it costs a bounded store).
func (c *Carry) Len() int { return len(c.b) }

// Pending reports whether c holds bytes not judged yet: only such a carry
// can complete a value in the stream that continues it.
func (c *Carry) Pending() bool { return min(c.next, c.cnext) < len(c.b) }

// Reset empties c, keeping its buffer.
func (c *Carry) Reset() { *c = Carry{b: c.b[:0]} }

// Wipe empties c and zeroes the plaintext it held, keeping its buffer.
func (c *Carry) Wipe() {
	clear(c.b)
	c.Reset()
}

// CarryOver copies into c (reusing its buffer) what st holds back for
// bytes that may follow: call it before Flush, which judges the rest as
// final. A stream that stopped (inspect_bytes reached, flushed) carries
// nothing.
func (st *Stream) CarryOver(c *Carry) {
	c.Reset()
	if st.truncated || st.flushed {
		return
	}
	c.b = append(c.b, st.w.carry...)
	c.next, c.cnext, c.cont = st.w.next, st.w.cnext, st.w.cont
}

// Seed makes st, fresh from Init or Reset, continue the stream c was taken
// from: the bytes written next are scanned as if they had followed c's
// directly, so a value split across the pause is found (once: what c's
// stream already judged is not judged again). The carried bytes are not
// counted as inspected again.
func (st *Stream) Seed(c *Carry) {
	if len(c.b) == 0 || st.inspected > 0 {
		return
	}
	st.w.carry = append(st.w.carry[:0], c.b...)
	st.w.base = -int64(len(c.b))
	st.w.next, st.w.cnext, st.w.cont = c.next, c.cnext, c.cont
	st.seeded = true
}
