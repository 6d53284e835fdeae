package http

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The captures are public test traces (see testdata/README.md); the oracles
// are the expectations their own projects test against.
const pcapDir = "../../testdata/pcap"

type endpoint struct {
	addr netip.Addr
	port uint16
}

type segment struct {
	seq     uint32
	payload []byte
	order   int
}

type halfStream struct {
	segs    []segment
	synSeq  uint32
	sawSyn  bool
	firstAt int
}

// conn is one TCP connection's two directions, keyed by who sent first.
type conn struct {
	a, b   endpoint
	halves map[endpoint]*halfStream // by sender
}

// readTCP splits a capture into TCP connections with their segments.
func readTCP(t *testing.T, path string) []*conn {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var lt layers.LinkType
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	}
	conns := map[[2]endpoint]*conn{}
	var order []*conn
	for i := 0; ; i++ {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", path, i, err)
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.Default)
		tl, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tl == nil {
			continue
		}
		var s, d netip.Addr
		switch n := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			s, _ = netip.AddrFromSlice(n.SrcIP)
			d, _ = netip.AddrFromSlice(n.DstIP)
		case *layers.IPv6:
			s, _ = netip.AddrFromSlice(n.SrcIP)
			d, _ = netip.AddrFromSlice(n.DstIP)
		default:
			continue
		}
		from, to := endpoint{s, uint16(tl.SrcPort)}, endpoint{d, uint16(tl.DstPort)}
		key := [2]endpoint{from, to}
		if from.addr.Less(to.addr) || (from.addr == to.addr && from.port < to.port) {
			key = [2]endpoint{to, from}
		}
		c := conns[key]
		if c == nil {
			c = &conn{a: from, b: to, halves: map[endpoint]*halfStream{}}
			conns[key] = c
			order = append(order, c)
		}
		h := c.halves[from]
		if h == nil {
			h = &halfStream{firstAt: i}
			c.halves[from] = h
		}
		if tl.SYN {
			h.synSeq, h.sawSyn = tl.Seq, true
		}
		if len(tl.Payload) > 0 {
			h.segs = append(h.segs, segment{tl.Seq, append([]byte(nil), tl.Payload...), i})
		}
	}
	return order
}

// bytesOf orders a direction's segments by sequence number and drops
// retransmitted or overlapping bytes (first copy wins).
func (h *halfStream) bytesOf() []byte {
	if h == nil || len(h.segs) == 0 {
		return nil
	}
	base := h.segs[0].seq
	if h.sawSyn {
		base = h.synSeq + 1
	}
	rel := func(s segment) int64 { return int64(int32(s.seq - base)) }
	sort.SliceStable(h.segs, func(i, j int) bool { return rel(h.segs[i]) < rel(h.segs[j]) })
	var out []byte
	next := rel(h.segs[0])
	for _, s := range h.segs {
		r := rel(s)
		end := r + int64(len(s.payload))
		if end <= next {
			continue
		}
		if r < next {
			s.payload = s.payload[next-r:]
		}
		out = append(out, s.payload...)
		next = end
	}
	return out
}

type seenRequest struct{ method, host, path, ua string }

type pcapResult struct {
	requests []seenRequest
	statuses []int
	bodies   []string // decoded request and response bodies
	stops    []string
}

// collector is a Handler keeping what the oracles check.
type collector struct {
	res  *pcapResult
	body bytes.Buffer
}

func (c *collector) Start(m *Message) {
	if m.Side == Request {
		c.res.requests = append(c.res.requests, seenRequest{string(m.Method), string(m.Host), string(m.Path), string(m.UserAgent)})
	} else {
		c.res.statuses = append(c.res.statuses, m.Status)
	}
	c.body.Reset()
}
func (c *collector) Header(*Message, []byte, []byte) {}
func (c *collector) Body(_ *Message, b []byte)       { c.body.Write(b) }
func (c *collector) End(*Message) {
	if c.body.Len() > 0 {
		c.res.bodies = append(c.res.bodies, c.body.String())
	}
}
func (c *collector) Stop(s Side, r Reason) {
	c.res.stops = append(c.res.stops, s.String()+" "+r.String())
}

// parseConn runs both parsers over one connection; the client is the side
// whose first bytes sniff as a request.
func parseConn(c *conn, res *pcapResult) bool {
	ha, hb := c.halves[c.a], c.halves[c.b]
	ab, bb := ha.bytesOf(), hb.bytesOf()
	if Sniff(ab) != SniffRequest {
		ab, bb = bb, ab
		if Sniff(ab) != SniffRequest {
			return false
		}
	}
	pair := &Pairing{}
	req := NewParser(Request, Config{}, pair, &collector{res: res})
	resp := NewParser(Response, Config{}, pair, &collector{res: res})
	req.Feed(ab)
	resp.Feed(bb)
	req.Close()
	resp.Close()
	return true
}

func parseCapture(t *testing.T, name string) *pcapResult {
	res := &pcapResult{}
	n := 0
	for _, c := range readTCP(t, filepath.Join(pcapDir, name)) {
		if parseConn(c, res) {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s: no HTTP connection found", name)
	}
	return res
}

func stripPort(h string) string {
	n, _, ok := normalizeHost(make([]byte, 255), []byte(h))
	if !ok {
		return h
	}
	return string(n)
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// TestArkimeOracle compares methods, hosts, paths and body MD5s with
// Arkime's expected sessions for the same captures.
func TestArkimeOracle(t *testing.T) {
	for _, name := range []string{"arkime_http-post-upload.pcap", "arkime_v6-http.pcap"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(pcapDir, name+".arkime.test.json"))
			if err != nil {
				t.Fatal(err)
			}
			var oracle struct {
				Sessions []struct {
					Body struct {
						HTTP *struct {
							Host, Method, Path, MD5 []string
						} `json:"http"`
					} `json:"body"`
				} `json:"sessions3"`
			}
			if err := json.Unmarshal(raw, &oracle); err != nil {
				t.Fatal(err)
			}
			var wantHosts, wantMethods, wantPaths, wantMD5 []string
			for _, s := range oracle.Sessions {
				if h := s.Body.HTTP; h != nil {
					for _, x := range h.Host {
						wantHosts = append(wantHosts, stripPort(x))
					}
					wantMethods = append(wantMethods, h.Method...)
					wantPaths = append(wantPaths, h.Path...)
					wantMD5 = append(wantMD5, h.MD5...)
				}
			}
			res := parseCapture(t, name)
			var hosts, methods, paths, sums []string
			for _, r := range res.requests {
				hosts, methods, paths = append(hosts, r.host), append(methods, r.method), append(paths, r.path)
			}
			for _, b := range res.bodies {
				s := md5.Sum([]byte(b))
				sums = append(sums, hex.EncodeToString(s[:]))
			}
			check := func(what string, got, want []string) {
				if g, w := uniq(got), uniq(want); !slices.Equal(g, w) {
					t.Errorf("%s: got %q, Arkime %q", what, g, w)
				}
			}
			check("hosts", hosts, wantHosts)
			check("methods", methods, wantMethods)
			check("paths", paths, wantPaths)
			check("body md5", sums, wantMD5)
			if len(res.stops) != 0 {
				t.Errorf("stops: %v", res.stops)
			}
			t.Logf("%d requests, %d responses, %d bodies match Arkime", len(res.requests), len(res.statuses), len(res.bodies))
		})
	}
}

var ndpiFlow = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)
var ndpiURL = regexp.MustCompile(`\[URL: [^/\]]*(/[^\]]*)\]`)
var ndpiUA = regexp.MustCompile(`\[User-Agent: ([^\]]*)\]`)
var ndpiStatus = regexp.MustCompile(`\[StatusCode: (\d+)\]`)

// TestNDPIOracle compares each flow's first request (Host, URL path,
// User-Agent) and status with nDPI's expected output.
func TestNDPIOracle(t *testing.T) {
	for _, name := range []string{"ndpi_http-manipulated.pcap", "ndpi_http_ua_splitted_in_two_pkts.pcapng"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(pcapDir, name+".ndpi.out"))
			if err != nil {
				t.Fatal(err)
			}
			portRE := regexp.MustCompile(`TCP [0-9.]+:(\d+) <->`)
			flows := 0
			conns := readTCP(t, filepath.Join(pcapDir, name))
			for _, line := range strings.Split(string(raw), "\n") {
				pm := portRE.FindStringSubmatch(line)
				hm := ndpiFlow.FindStringSubmatch(line)
				if pm == nil || hm == nil {
					continue
				}
				flows++
				var res *pcapResult
				for _, c := range conns {
					if itoa(int(c.a.port)) == pm[1] || itoa(int(c.b.port)) == pm[1] {
						res = &pcapResult{}
						parseConn(c, res)
						break
					}
				}
				if res == nil || len(res.requests) == 0 {
					t.Fatalf("flow with client port %s: no request parsed", pm[1])
				}
				first := res.requests[0]
				if first.host != hm[1] {
					t.Errorf("port %s: host %q, nDPI %q", pm[1], first.host, hm[1])
				}
				if m := ndpiURL.FindStringSubmatch(line); m != nil && first.path != m[1] {
					t.Errorf("port %s: path %q, nDPI %q", pm[1], first.path, m[1])
				}
				// nDPI keeps only the part of a split User-Agent in the first
				// packet ("Mozil"); the reassembled value must start with it.
				if m := ndpiUA.FindStringSubmatch(line); m != nil && !strings.HasPrefix(first.ua, m[1]) {
					t.Errorf("port %s: user-agent %q, nDPI %q", pm[1], first.ua, m[1])
				}
				if m := ndpiStatus.FindStringSubmatch(line); m != nil && (len(res.statuses) == 0 || itoa(res.statuses[0]) != m[1]) {
					t.Errorf("port %s: status %v, nDPI %s", pm[1], res.statuses, m[1])
				}
				t.Logf("port %s: %d requests (first %s %s%s), %d responses, stops %v", pm[1], len(res.requests), first.method, first.host, first.path, len(res.statuses), res.stops)
			}
			if flows == 0 {
				t.Fatal("oracle has no flows")
			}
		})
	}
}

// TestCreditCardCapture: the decoded response body holds every card number
// Zeek's credit-card-exposure baseline found in this capture.
func TestCreditCardCapture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(pcapDir, "cce_credit-cards.pcap.zeek-baseline.log"))
	if err != nil {
		t.Fatal(err)
	}
	cardRE := regexp.MustCompile(`CellBody>(\d{15,16})<`)
	var cards []string
	for _, m := range cardRE.FindAllStringSubmatch(string(raw), -1) {
		cards = append(cards, m[1])
	}
	if len(cards) != 5 {
		t.Fatalf("baseline has %d cards", len(cards))
	}
	res := parseCapture(t, "cce_credit-cards.pcap")
	if len(res.requests) == 0 || res.requests[0].host != "www.paypalobjects.com" {
		t.Fatalf("requests: %+v", res.requests)
	}
	all := strings.Join(res.bodies, "\n")
	for _, c := range cards {
		if !strings.Contains(all, c) {
			t.Errorf("card ending %s not in decoded bodies", c[len(c)-4:])
		}
	}
}
