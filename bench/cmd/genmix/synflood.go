package main

import (
	"bufio"
	"fmt"
	"net"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// runSYNFlood writes n TCP SYNs, each from its own source address and port
// to one server, none answered: every packet opens a half-open flow that
// never carries a payload byte (issue 11 item 3). Time advances 1 µs per
// packet, so the whole flood fits in one second of packet time and no flow
// times out before the capture ends.
func runSYNFlood(path string, n int, seed uint64) error {
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
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	dst := net.IP{192, 0, 2, 80}
	for i := 0; i < n && g.err == nil; i++ {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)}, DstIP: dst, Id: uint16(i)}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(1024 + g.rng.IntN(60000)), DstPort: 443, Seq: g.rng.Uint32(), SYN: true, Window: 64240}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		b := g.buf
		if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
			return err
		}
		g.ts = g.ts.Add(1000)
		ci := gopacket.CaptureInfo{Timestamp: g.ts, CaptureLength: len(b.Bytes()), Length: len(b.Bytes())}
		if err := w.WritePacket(ci, b.Bytes()); err != nil {
			return err
		}
		g.packets++
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "genmix: %s: %d SYNs\n", path, n)
	return f.Close()
}
