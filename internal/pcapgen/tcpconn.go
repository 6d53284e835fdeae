package pcapgen

import "net/netip"

// DefaultMSS is the segment size TCPConn uses when MSS is 0.
const DefaultMSS = 1460

// Segment is one TCP segment of a TCPConn, before it becomes an IP packet.
type Segment struct {
	FromClient bool
	Seq, Ack   uint32
	Flags      uint8
	Payload    []byte
}

// TCPConn tracks both sides' sequence numbers of a TCP connection and emits
// its segments. Methods return Segments so a test can reorder, duplicate or
// drop them before turning them into packets with Packet.
type TCPConn struct {
	Client, Server netip.AddrPort
	MSS            int    // payload bytes per segment; 0 means DefaultMSS
	Window         uint16 // advertised window; 0 means 65535

	isn  [2]uint32 // initial sequence numbers: [server, client]
	next [2]uint32 // next sequence number to send
}

// NewTCPConn returns a connection in the closed state with the given
// initial sequence numbers.
func NewTCPConn(client, server netip.AddrPort, clientISN, serverISN uint32) *TCPConn {
	c := &TCPConn{Client: client, Server: server}
	c.isn = [2]uint32{serverISN, clientISN}
	c.next = c.isn
	return c
}

func side(fromClient bool) int {
	if fromClient {
		return 1
	}
	return 0
}

// seg builds a segment from one side acknowledging everything the other
// side has sent so far.
func (c *TCPConn) seg(fromClient bool, seq uint32, flags uint8, data []byte) Segment {
	s := Segment{FromClient: fromClient, Seq: seq, Flags: flags, Payload: data}
	if flags&ACK != 0 {
		s.Ack = c.next[1-side(fromClient)]
	}
	return s
}

// Handshake returns SYN, SYN-ACK and ACK.
func (c *TCPConn) Handshake() []Segment {
	syn := c.seg(true, c.next[1], SYN, nil)
	c.next[1]++
	synack := c.seg(false, c.next[0], SYN|ACK, nil)
	c.next[0]++
	ack := c.seg(true, c.next[1], ACK, nil)
	return []Segment{syn, synack, ack}
}

// Send returns data from one side split into MSS-sized PSH|ACK segments
// and advances that side's sequence number.
func (c *TCPConn) Send(fromClient bool, data []byte) []Segment {
	mss := c.MSS
	if mss <= 0 {
		mss = DefaultMSS
	}
	var out []Segment
	s := side(fromClient)
	for len(data) > 0 {
		n := min(mss, len(data))
		out = append(out, c.seg(fromClient, c.next[s], PSH|ACK, data[:n]))
		c.next[s] += uint32(n)
		data = data[n:]
	}
	return out
}

// At returns a segment carrying data at stream offset rel (0 is the first
// data byte after the SYN) without advancing the sequence number: for
// retransmissions, overlaps with different data and out-of-order delivery.
func (c *TCPConn) At(fromClient bool, rel uint32, data []byte) Segment {
	return c.seg(fromClient, c.isn[side(fromClient)]+1+rel, PSH|ACK, data)
}

// Skip advances one side's sequence number by n bytes that are never sent,
// leaving a gap in the stream.
func (c *TCPConn) Skip(fromClient bool, n int) {
	c.next[side(fromClient)] += uint32(n)
}

// Close returns an orderly close started by one side: FIN|ACK, the peer's
// FIN|ACK, and the final ACK.
func (c *TCPConn) Close(fromClient bool) []Segment {
	a, b := side(fromClient), 1-side(fromClient)
	fin1 := c.seg(fromClient, c.next[a], FIN|ACK, nil)
	c.next[a]++
	fin2 := c.seg(!fromClient, c.next[b], FIN|ACK, nil)
	c.next[b]++
	last := c.seg(fromClient, c.next[a], ACK, nil)
	return []Segment{fin1, fin2, last}
}

// Reset returns an RST|ACK from one side.
func (c *TCPConn) Reset(fromClient bool) Segment {
	return c.seg(fromClient, c.next[side(fromClient)], RST|ACK, nil)
}

// Packet returns the IP packet for s.
func (c *TCPConn) Packet(s Segment) []byte {
	src, dst := c.Server, c.Client
	if s.FromClient {
		src, dst = c.Client, c.Server
	}
	w := c.Window
	if w == 0 {
		w = 65535
	}
	return IP(src.Addr(), dst.Addr(), ProtoTCP, TCP(src, dst, s.Seq, s.Ack, s.Flags, w, s.Payload))
}

// Packets returns the IP packets for segs, in order.
func (c *TCPConn) Packets(segs []Segment) [][]byte {
	out := make([][]byte, len(segs))
	for i, s := range segs {
		out[i] = c.Packet(s)
	}
	return out
}
