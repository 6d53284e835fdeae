package dns

// MaxNameLen is the RFC 1035 limit on a name in wire form (labels plus their
// length bytes plus the root), enforced while decoding.
const MaxNameLen = 255

// maxPointers bounds the compression jumps followed in one name. Pointers
// already have to go strictly backwards, which rules out loops; this only
// caps the work a hostile chain of 1-byte hops can cause.
const maxPointers = 64

// readName decodes the name at off in msg. When dst is non-nil the presentation
// form (labels joined by '.', ASCII folded to lower case, no trailing dot, "" for
// the root) is appended to dst[:0]; the returned n is its length. end is the
// offset just past the name in the original position (after the first
// pointer, if any). flags reports oddities that do not make the name invalid.
func readName(msg []byte, off int, dst []byte) (n, end int, flags NameFlags, err error) {
	wire := 0    // wire-form length so far, checked against MaxNameLen
	end = -1     // set at the first pointer
	limit := off // pointers must land strictly before the label that holds them
	jumps := 0
	for {
		if off >= len(msg) {
			return 0, 0, flags, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				if wire+1 > MaxNameLen {
					return 0, 0, flags, ErrNameTooLong
				}
				return n, end, flags, nil
			}
			if off+1+c > len(msg) {
				return 0, 0, flags, ErrTruncated
			}
			wire += 1 + c
			if wire+1 > MaxNameLen {
				return 0, 0, flags, ErrNameTooLong
			}
			label := msg[off+1 : off+1+c]
			if dst != nil {
				if n > 0 {
					dst[n] = '.'
					n++
				}
			}
			for _, b := range label {
				switch {
				case b >= 'A' && b <= 'Z':
					b += 'a' - 'A'
				case b == '.':
					flags |= NameDotInLabel
				case b <= 0x20 || b >= 0x7f:
					flags |= NameInvalidChars
				}
				if dst != nil {
					dst[n] = b
					n++
				}
			}
			off += 1 + c
		case 0xC0:
			if off+2 > len(msg) {
				return 0, 0, flags, ErrTruncated
			}
			ptr := (c&0x3F)<<8 | int(msg[off+1])
			if end < 0 {
				end = off + 2
			}
			if ptr >= limit {
				return 0, 0, flags, ErrBadPointer
			}
			jumps++
			if jumps > maxPointers {
				return 0, 0, flags, ErrBadPointer
			}
			flags |= NameCompressed
			off, limit = ptr, ptr
		default: // 0x40 and 0x80: extended label types (RFC 6891 obsoleted them)
			return 0, 0, flags, ErrBadLabel
		}
	}
}

// NameFlags records oddities seen while decoding a name.
type NameFlags uint8

const (
	// NameCompressed: the name used at least one compression pointer.
	NameCompressed NameFlags = 1 << iota
	// NameInvalidChars: a label holds a control, space, DEL or non-ASCII
	// byte. The bytes are kept as they are; callers decide whether to trust it.
	NameInvalidChars
	// NameDotInLabel: a label holds a '.', so the dotted form is ambiguous.
	NameDotInLabel
)
