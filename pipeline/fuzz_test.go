package pipeline

import (
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
)

// FuzzSession drives arbitrary payload through the whole worker path —
// decode, flow table, reassembly, protocol recognition, the app parsers,
// naming, content inspection, rules and record building — as chunks of one
// TCP connection (both directions, any server port) and as UDP datagrams.
// Nothing may panic (the worker's recover would hide it, so the test checks
// the panic counter), and every record must encode.
func FuzzSession(f *testing.F) {
	f.Add(uint16(443), []byte("\x16\x03\x01"), scenarios.ClientHello("api.openai.com", "h2"), []byte{})
	f.Add(uint16(80), scenarios.HTTPRequest("POST", "/x?cc=4111111111111111", "a.example", []string{"Content-Encoding: gzip"}, scenarios.Gzip([]byte(`{"a":"536-22-8741"}`))), scenarios.HTTPResponse(200, "text/plain", []byte("ok")), []byte("GET / HTTP/1.1\r\n"))
	f.Add(uint16(53), scenarios.DNSQuery(1, "a.example", 1), scenarios.DNSResponse(1, "a.example", 1, scenarios.DNSAnswer{Name: "a.example", Addr: addr4("192.0.2.1"), TTL: 60}), []byte{0, 5, 1, 2})
	f.Add(uint16(25), []byte("EHLO x\r\n"), []byte("220 ok\r\n"), []byte("DATA\r\ncard 4111 1111 1111 1111\r\n.\r\n"))
	// One pipeline (its catalog takes a while to build); a fresh worker,
	// flow table and decoder per input.
	p := oneWorkerPipeline(f, "")
	f.Fuzz(func(t *testing.T, port uint16, out, in, more []byte) {
		panics, encErrs := p.stats.WorkerPanics.Load(), p.stats.RecordErrors.Load()
		w := newWorker(0, p)
		d := newDispatcher(p, []*worker{w})
		ts := int64(1e18)
		feed := func(ip []byte) {
			frame := pcapgen.EthernetIP(ip)
			ts += 1e6
			m := capture.Meta{TS: ts, CapLen: len(frame), WireLen: len(frame), LinkType: capture.LinkEthernet}
			if d.dec.Decode(frame, m, &d.pkt) != capture.OK {
				return
			}
			d.dns.Packet(d.pkt.Proto, d.pkt.SrcPort, d.pkt.Dst, d.pkt.Payload, d.pkt.TS)
			b := d.cur[0]
			b.reset()
			b.add(&d.pkt)
			w.packet(&b.pkts[0], usePacket)
		}
		if port == 0 {
			port = 1
		}
		conn := pcapgen.NewTCPConn(ap("10.0.0.1:40000"), apPort("192.0.2.1", port), 1, 2)
		conn.MSS = 512
		for _, s := range conn.Handshake() {
			feed(conn.Packet(s))
		}
		for i, chunk := range [][]byte{out, in, more} {
			if len(chunk) == 0 {
				continue
			}
			for _, s := range conn.Send(i != 1, chunk) {
				feed(conn.Packet(s))
			}
		}
		for _, chunk := range [][]byte{out, in, more} {
			if len(chunk) > 0 && len(chunk) < 1400 {
				feed(pcapgen.IPUDP(ap("10.0.0.1:40001"), apPort("192.0.2.1", port), chunk))
				feed(pcapgen.IPUDP(apPort("192.0.2.1", port), ap("10.0.0.1:40001"), chunk))
			}
		}
		w.table.Flush(reassembly.EndShutdown)
		if n := p.stats.WorkerPanics.Load() - panics; n != 0 {
			t.Fatalf("%d panics recovered in the worker", n)
		}
		if n := p.stats.RecordErrors.Load() - encErrs; n != 0 {
			t.Fatalf("%d records failed to encode", n)
		}
	})
}
