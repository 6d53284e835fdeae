package dns

import "encoding/binary"

// DefaultMaxTCPMessage is the largest DNS-over-TCP message a TCPFramer
// buffers by default: the protocol maximum, so nothing legal is dropped.
const DefaultMaxTCPMessage = 65535

// TCPFramer splits a DNS-over-TCP byte stream (RFC 1035 §4.2.2: each message
// is preceded by its 16-bit length) into messages, whatever the chunking of
// the stream. Messages that arrive whole inside one chunk are returned
// without copying; only a message split across chunks is copied into the
// framer's buffer, which never grows past MaxMessage.
//
// Use: call Feed with each chunk, then Next until it reports false.
//
//	f.Feed(chunk)
//	for msg, ok := f.Next(); ok; msg, ok = f.Next() { ... }
type TCPFramer struct {
	// MaxMessage caps a buffered message; longer ones are skipped and
	// counted in Dropped. Zero means DefaultMaxTCPMessage.
	MaxMessage int

	// Messages counts messages returned by Next.
	Messages uint64
	// Dropped counts messages skipped for exceeding MaxMessage or being empty.
	Dropped uint64

	in   []byte // unread part of the chunk passed to Feed (caller's memory)
	buf  []byte // partial message, including its 2-byte length
	want int    // total bytes (length prefix included) the message in buf needs
	skip int    // bytes still to discard from an oversized message
	hdr  [2]byte
	nhdr int
}

// Feed hands the framer the next chunk of the stream. The framer keeps a
// reference to b until Next returns false, so b must not be modified before.
func (f *TCPFramer) Feed(b []byte) { f.in = b }

// Reset drops any partial message, for use after a stream gap.
func (f *TCPFramer) Reset() {
	f.in, f.buf, f.want, f.skip, f.nhdr = nil, f.buf[:0], 0, 0, 0
}

func (f *TCPFramer) max() int {
	if f.MaxMessage <= 0 || f.MaxMessage > DefaultMaxTCPMessage {
		return DefaultMaxTCPMessage
	}
	return f.MaxMessage
}

// Next returns the next complete message (without its length prefix). It
// aliases either the fed chunk or the framer's buffer and is valid until
// the following Next or Feed.
func (f *TCPFramer) Next() ([]byte, bool) {
	for len(f.in) > 0 {
		if f.skip > 0 {
			n := min(f.skip, len(f.in))
			f.skip -= n
			f.in = f.in[n:]
			continue
		}
		if f.want > 0 { // continuing a split message
			n := min(f.want-len(f.buf), len(f.in))
			f.buf = append(f.buf, f.in[:n]...)
			f.in = f.in[n:]
			if len(f.buf) < f.want {
				return nil, false
			}
			f.want = 0
			f.Messages++
			return f.buf[2:], true
		}
		// Reading a length prefix, possibly split 1+1 across chunks.
		for f.nhdr < 2 && len(f.in) > 0 {
			f.hdr[f.nhdr] = f.in[0]
			f.nhdr++
			f.in = f.in[1:]
		}
		if f.nhdr < 2 {
			return nil, false
		}
		f.nhdr = 0
		n := int(binary.BigEndian.Uint16(f.hdr[:]))
		if n == 0 || n > f.max() {
			f.Dropped++
			f.skip = n
			continue
		}
		if len(f.in) >= n { // whole message inside this chunk: no copy
			msg := f.in[:n]
			f.in = f.in[n:]
			f.Messages++
			return msg, true
		}
		if cap(f.buf) < n+2 {
			f.buf = make([]byte, 0, n+2)
		}
		f.buf = append(f.buf[:0], f.hdr[0], f.hdr[1])
		f.want = n + 2
	}
	return nil, false
}
