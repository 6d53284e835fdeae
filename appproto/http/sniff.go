package http

// Sniffed is what the first bytes of a direction look like.
type Sniffed uint8

// Sniff outcomes.
const (
	SniffNeedMore Sniffed = iota // too few bytes to tell
	SniffRequest                 // an HTTP/1.x request line
	SniffResponse                // an HTTP/1.x status line
	SniffNo                      // not HTTP/1.x
)

// Sniff tells from the first bytes of one direction, whatever the port,
// whether they start an HTTP/1.x request or response. A request needs an
// upper-case method so text protocols with lower-case verbs do not match.
// It does not allocate.
func Sniff(b []byte) Sniffed {
	if len(b) == 0 {
		return SniffNeedMore
	}
	line, complete := firstLine(b)
	var sl startLine
	if b[0] == 'H' {
		switch parseStatusLine(line, complete, &sl) {
		case isHTTP:
			return SniffResponse
		case needMore:
			return SniffNeedMore
		}
	}
	switch parseRequestLine(line, complete, &sl) {
	case needMore:
		for _, c := range line {
			if c == ' ' {
				break
			}
			if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
				return SniffNo
			}
		}
		return SniffNeedMore
	case isHTTP:
		for _, c := range sl.method {
			if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
				return SniffNo
			}
		}
		return SniffRequest
	}
	return SniffNo
}
