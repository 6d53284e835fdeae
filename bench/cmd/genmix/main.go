// Command genmix writes the benchmark capture: a synthetic egress mix of
// about 400 MB (mostly TLS, some HTTP with JSON bodies carrying a realistic
// density of sensitive values, DNS, QUIC and other TCP) with 128 concurrent
// flows and realistic packet sizes. It is deterministic for a given -seed, so
// every benchmark run reads the same bytes. See BENCHMARKS.md.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	out := flag.String("o", "mix.pcap", "output pcap `FILE`")
	size := flag.Int64("size", 400<<20, "approximate capture size in bytes")
	concurrent := flag.Int("flows", 128, "concurrent flows")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*out, *size, *concurrent, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genmix:", err)
		os.Exit(1)
	}
}

func run(path string, size int64, concurrent int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	g := newGen(seed, w)
	active := make([]*flow, concurrent)
	for i := range active {
		active[i] = g.newFlow()
	}
	for g.written < size {
		i := g.rng.IntN(len(active))
		if !active[i].step(g) {
			active[i] = g.newFlow()
		}
		if g.err != nil {
			return g.err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "genmix: %s: %d packets, %d bytes, %d flows\n", path, g.packets, g.written, g.flows)
	return f.Close()
}

type gen struct {
	rng     *rand.Rand
	w       *pcapgo.Writer
	ts      time.Time
	written int64
	packets int64
	flows   int
	err     error
	buf     gopacket.SerializeBuffer
	quic    [2][]byte
}

func newGen(seed uint64, w *pcapgo.Writer) *gen {
	q1, _ := hex.DecodeString(quicInitial1Hex)
	q2, _ := hex.DecodeString(quicInitial2Hex)
	return &gen{
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		w:    w,
		ts:   time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		buf:  gopacket.NewSerializeBuffer(),
		quic: [2][]byte{q1, q2},
	}
}

// write serializes one packet; time advances as if on a ~5 Gbit/s link.
func (g *gen) write(ls ...gopacket.SerializableLayer) {
	if g.err != nil {
		return
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(g.buf, opts, ls...); err != nil {
		g.err = err
		return
	}
	b := g.buf.Bytes()
	g.ts = g.ts.Add(time.Duration(len(b)*8/5+g.rng.IntN(200)) * time.Nanosecond)
	ci := gopacket.CaptureInfo{Timestamp: g.ts, CaptureLength: len(b), Length: len(b)}
	if err := g.w.WritePacket(ci, b); err != nil {
		g.err = err
	}
	g.written += int64(len(b)) + 16
	g.packets++
}
