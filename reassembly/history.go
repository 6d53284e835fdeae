package reassembly

// History events. The letter is upper case when the originator (DirOut) did
// it and lower case for the responder, as in Zeek's conn.log history.
const (
	evSyn     = iota // S: SYN without ACK
	evSynAck         // H: SYN+ACK
	evAck            // A: pure ACK (no payload, no SYN/FIN/RST)
	evData           // D: packet with payload
	evFin            // F: FIN
	evRst            // R: RST
	evMulti          // Q: SYN together with FIN or RST
	evIncons         // I: FIN together with RST
	evRetrans        // T: payload that was already seen (logarithmic)
	evGap            // G: content gap (logarithmic)
	evZeroWin        // W: zero window advertised (logarithmic)
	nEvents
)

var eventLetters = [nEvents]byte{'S', 'H', 'A', 'D', 'F', 'R', 'Q', 'I', 'T', 'G', 'W'}

// firstLog is the first logarithmic event; T, G and W are recorded at their
// 1st, 10th, 100th … occurrence per direction like Zeek, the others once.
const firstLog = evRetrans

// history tracks which letters were recorded; the string itself lives in
// Flow's fixed array so recording never allocates.
type history struct {
	seen  [2]uint16
	count [2][nEvents - firstLog]uint32
}

func (h *history) add(f *Flow, d Dir, ev int) {
	if ev >= firstLog {
		n := &h.count[d][ev-firstLog]
		*n++
		if !isPow10(*n) {
			return
		}
	} else {
		bit := uint16(1) << ev
		if h.seen[d]&bit != 0 {
			return
		}
		h.seen[d] |= bit
	}
	l := eventLetters[ev]
	if d == DirIn {
		l += 'a' - 'A'
	}
	f.addHistory(l)
}

func (f *Flow) addHistory(l byte) {
	if int(f.nhistory) < len(f.history) {
		f.history[f.nhistory] = l
		f.nhistory++
	}
}

func isPow10(n uint32) bool {
	switch n {
	case 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000:
		return true
	}
	return false
}
