// Command genmix writes the benchmark captures, deterministic for a given
// -seed so every run reads the same bytes (see BENCHMARKS.md):
//
//   - -profile long (default): about 400 MB of mostly long flows (TLS up-
//     and downloads, HTTP with JSON bodies carrying a realistic density of
//     sensitive values, DNS, QUIC, other TCP), 128 concurrent flows;
//   - -profile short: egress as real networks see it, dominated by short
//     flows — 55% short TLS sessions, 20% DNS, 15% HTTP API calls with JSON
//     bodies (half of them numeric arrays), 7% QUIC, 3% binary uploads —
//     with many small packets and 1024 concurrent flows;
//   - -profile open: -open N flows that are opened and carry their first
//     exchange but never close (60% TLS, 20% HTTP, 20% DNS), to measure
//     the memory one open flow costs;
//   - -profile synflood: -syns N unanswered SYNs, each opening a half-open
//     flow (the flow table's cost per flow that never carries payload).
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
	profile := flag.String("profile", "long", "traffic `profile`: long, short, open or synflood")
	open := flag.Int("open", 100000, "flows left open (profile open)")
	syns := flag.Int("syns", 1000000, "SYNs (profile synflood)")
	flag.Parse()
	var err error
	switch *profile {
	case "long":
		err = run(*out, *size, *concurrent, *seed)
	case "short":
		if !isSet("flows") {
			*concurrent = 1024
		}
		err = runProfile(*out, *size, *concurrent, *seed, profileShort)
	case "open":
		err = runOpen(*out, *open, *seed)
	case "synflood":
		err = runSYNFlood(*out, *syns, *seed)
	default:
		err = fmt.Errorf("unknown -profile %q (long, short, open, synflood)", *profile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genmix:", err)
		os.Exit(1)
	}
}

// isSet reports whether a flag was given on the command line.
func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// profile chooses what kind of flow newFlow starts.
type profile int

const (
	profileLong profile = iota
	profileShort
	profileOpen
)

func run(path string, size int64, concurrent int, seed uint64) error {
	return runProfile(path, size, concurrent, seed, profileLong)
}

func runProfile(path string, size int64, concurrent int, seed uint64, prof profile) error {
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
	g.profile = prof
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
	profile profile
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

// runOpen writes n flows that each open and carry their first exchange but
// never close, one after the other: at the end of the capture all n are open.
func runOpen(path string, n int, seed uint64) error {
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
	g.profile = profileOpen
	for i := 0; i < n && g.err == nil; i++ {
		fl := g.newFlow()
		for fl.step(g) && g.err == nil {
		}
	}
	if g.err != nil {
		return g.err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "genmix: %s: %d packets, %d bytes, %d open flows\n", path, g.packets, g.written, g.flows)
	return f.Close()
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
