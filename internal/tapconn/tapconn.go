// Package tapconn records the bytes real clients and servers exchange over
// loopback (a wrapped net.Conn) and turns them into pcaps with
// internal/pcapgen, so the app-layer parser tests read traffic produced by
// real implementations rather than hand-built frames. It also runs the
// optional tshark cross-checks. Test support only: never on the packet path.
package tapconn

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcaptest"
)

// Chunk is one Write (client) or Read (server bytes seen by the client).
type Chunk struct {
	FromClient bool
	Data       []byte
}

// Recorder collects the chunks of every connection it wrapped, per
// connection, in the order they happened.
type Recorder struct {
	mu    sync.Mutex
	conns [][]Chunk
}

// Wrap returns c recording its traffic as a new connection: c must be the
// client's end.
func (r *Recorder) Wrap(c net.Conn) net.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = append(r.conns, nil)
	return &conn{Conn: c, r: r, i: len(r.conns) - 1}
}

// Conns returns the recorded connections.
func (r *Recorder) Conns() [][]Chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]Chunk, len(r.conns))
	for i, c := range r.conns {
		out[i] = append([]Chunk(nil), c...)
	}
	return out
}

func (r *Recorder) add(i int, fromClient bool, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	r.conns[i] = append(r.conns[i], Chunk{fromClient, bytes.Clone(b)})
	r.mu.Unlock()
}

type conn struct {
	net.Conn
	r *Recorder
	i int
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.r.add(c.i, false, p[:n])
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	// Record before writing: the peer may answer before Write returns.
	c.r.add(c.i, true, p)
	return c.Conn.Write(p)
}

// Side returns the concatenated bytes of one direction.
func Side(chunks []Chunk, fromClient bool) []byte {
	var b []byte
	for _, c := range chunks {
		if c.FromClient == fromClient {
			b = append(b, c.Data...)
		}
	}
	return b
}

// WritePcap writes the connections as TCP flows to path: a handshake, the
// chunks in order cut into segments of mss bytes (odd sizes put frame
// boundaries anywhere), and a close. Connection i uses client port 40000+i
// and the server port.
func WritePcap(path string, conns [][]Chunk, serverPort uint16, mss int) error {
	return writeConns(path, mss, len(conns), func(i int) (cli, srv netip.AddrPort, isn [2]uint32, chunks []Chunk) {
		cli = netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i))
		srv = netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), serverPort)
		return cli, srv, [2]uint32{1000 + uint32(i)*7919, 5000 + uint32(i)*104729}, conns[i]
	})
}

// WriteConn writes one TCP connection from cli to srv carrying chunks, cut
// into segments of mss bytes (0: pcapgen's default), with its handshake
// (initial sequence numbers 1000 and 5000) and close, to a new pcap at path.
func WriteConn(path string, cli, srv netip.AddrPort, chunks []Chunk, mss int) error {
	return writeConns(path, mss, 1, func(int) (netip.AddrPort, netip.AddrPort, [2]uint32, []Chunk) {
		return cli, srv, [2]uint32{1000, 5000}, chunks
	})
}

// writeConns writes n connections, each described by conn(i), one after
// the other to a new pcap at path.
func writeConns(path string, mss, n int, conn func(i int) (cli, srv netip.AddrPort, isn [2]uint32, chunks []Chunk)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := pcapgen.NewWriter(f, pcapgen.LinkEthernet)
	if err != nil {
		f.Close()
		return err
	}
	for i := range n {
		cli, srv, isn, chunks := conn(i)
		tc := pcapgen.NewTCPConn(cli, srv, isn[0], isn[1])
		if mss > 0 {
			tc.MSS = mss
		}
		segs := tc.Handshake()
		for _, c := range chunks {
			segs = append(segs, tc.Send(c.FromClient, c.Data)...)
		}
		segs = append(segs, tc.Close(true)...)
		for _, p := range tc.Packets(segs) {
			if err := w.WriteIP(p); err != nil {
				f.Close()
				return err
			}
		}
	}
	return f.Close()
}

// Segment is one TCP payload read back from a pcap.
type Segment struct {
	Conn       int // index of the connection, in order of first appearance
	FromClient bool
	Data       []byte
}

// ReadPcap reads a pcap written by WritePcap (or any capture without
// retransmissions) and returns its payload-carrying segments in capture
// order; it fails if a direction has a hole.
func ReadPcap(path string) ([]Segment, int, error) {
	pkts, err := pcaptest.Load(path)
	if err != nil {
		return nil, 0, err
	}
	for i, s := range pcaptest.TCPStreams(pkts) {
		if s.ClientGap || s.ServerGap {
			return nil, 0, fmt.Errorf("tapconn: connection %d has a hole", i)
		}
	}
	idx := map[[2]netip.AddrPort]int{}
	var out []Segment
	for _, p := range pkts {
		if p.UDP {
			continue
		}
		k, fromClient := [2]netip.AddrPort{p.Src, p.Dst}, true
		if _, ok := idx[k]; !ok {
			if j, ok := idx[[2]netip.AddrPort{p.Dst, p.Src}]; ok {
				k, fromClient = [2]netip.AddrPort{p.Dst, p.Src}, false
				_ = j
			} else {
				idx[k] = len(idx)
			}
		}
		if len(p.Payload) > 0 {
			out = append(out, Segment{idx[k], fromClient, p.Payload})
		}
	}
	return out, len(idx), nil
}

// Tshark runs tshark on path with the given arguments (-r path first) and
// returns its output lines; the test is skipped by the caller when tshark is
// absent (exec error).
func Tshark(path string, args ...string) ([]string, error) {
	out, err := exec.Command("tshark", append([]string{"-r", path}, args...)...).Output()
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// Keep copies a capture a test wrote to $TAPDLP_WRITE_FIXTURES/name when
// that variable names a directory: how the pipeline's end-to-end fixtures
// (testdata/appproto) are refreshed from the real clients and servers
// these tests run. Without it, it does nothing.
func Keep(path, name string) error {
	dir := os.Getenv("TAPDLP_WRITE_FIXTURES")
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), b, 0o644)
}
