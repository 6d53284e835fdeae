package scenarios

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/netip"
	"net/textproto"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// Values planted by Leak in every traffic-derived field the sensor can
// write (issue 11.1). None of them may reach any output unmasked.
const (
	LeakCard   = "6011000990139424"
	LeakSSN    = "412-67-3058"
	LeakAWSKey = "akiaq3xg7kz2pm5vwr4n" // a made-up AWS key id, lower-cased as DNS labels carry it
	LeakEmail  = "qzleaker.person@zq.test"
	LeakJWT    = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZWFrLXRlc3QtOTkiLCJuYW1lIjoiTGVhayBUZXN0In0.Qx7vK2mNp8rT4wYz1aBcDeFgHiJkLmNoPqRsTuVwXyZ"
)

// LeakValues returns the planted values.
func LeakValues() []string { return []string{LeakCard, LeakSSN, LeakAWSKey, LeakEmail, LeakJWT} }

// Leak is a capture whose names, headers, URIs, DNS questions and answers,
// SMTP envelope, multipart file names and JSON keys carry the planted
// values: DNS exfiltration (card and lower-cased key id as labels), an SNI,
// a CONNECT target, a Host, a path and query, User-Agent, Cookie, Referer,
// Authorization and custom headers, response headers, and raw SMTP.
func Leak() ([]byte, error) {
	c := newCapture(layers.LinkTypeEthernet)
	dotted := LeakCard[:4] + "." + LeakCard[4:8] + "." + LeakCard[8:12] + "." + LeakCard[12:]
	// DNS exfiltration to an outside resolver: values as labels, answered (a
	// CNAME carries them back).
	for i, q := range []string{
		LeakCard + "." + LeakAWSKey + ".exfil-dns.test",
		dotted + ".split.exfil-dns.test",
		strings.ReplaceAll(LeakSSN, "-", ".") + ".ssn.exfil-dns.test",
	} {
		id := uint16(0x4c00 + i)
		c.udp(fmt.Sprintf("10.9.0.5:%d", 40000+i), "192.0.2.53:53", DNSQuery(id, q, 1))
		c.udp("192.0.2.53:53", fmt.Sprintf("10.9.0.5:%d", 40000+i), DNSResponse(id, q, 1,
			DNSAnswer{Name: q, CNAME: LeakCard + ".cname.exfil-dns.test", TTL: 60},
			DNSAnswer{Name: LeakCard + ".cname.exfil-dns.test", Addr: netip.MustParseAddr("203.0.113.66"), TTL: 60}))
	}
	// A TLS connection to the name the DNS answer gave (dst.dns_name) with
	// another name in its SNI.
	c.conversation("10.9.0.5:41000", "203.0.113.66:443", 11, ClientHello(LeakCard+".sni.exfil.test", "h2", LeakSSN))
	// CONNECT through a proxy.
	c.conversation("10.9.0.5:41001", "10.9.0.8:3128", 12,
		[]byte("CONNECT "+LeakCard+".connect.exfil.test:443 HTTP/1.1\r\nHost: "+LeakCard+".connect.exfil.test:443\r\nProxy-Authorization: Bearer "+LeakJWT+"\r\n\r\n"),
		[]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	// Plain HTTP with every header carrying values.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.SetBoundary("leak-boundary-7")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+LeakEmail+`"; filename="`+LeakSSN+"_"+LeakCard+`.csv"`)
	h.Set("Content-Type", "text/csv")
	pw, _ := mw.CreatePart(h)
	pw.Write([]byte("id\n1\n"))
	mw.Close()
	req := func(method, target, ct string, body []byte) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s.host.exfil.test\r\n", method, target, LeakCard)
		fmt.Fprintf(&b, "User-Agent: LeakUA/1.0 (%s; %s; %s)\r\n", LeakCard, LeakEmail, LeakSSN)
		fmt.Fprintf(&b, "Cookie: sid=%s; k=%s\r\n", LeakJWT, LeakAWSKey)
		fmt.Fprintf(&b, "Referer: http://%s.ref.test/?card=%s&e=%s\r\n", LeakAWSKey, LeakCard, LeakEmail)
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\nX-Leak-%s: %s\r\n", LeakJWT, LeakCard, LeakEmail)
		if ct != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", ct, len(body))
		}
		b.WriteString("\r\n")
		b.Write(body)
		return []byte(b.String())
	}
	resp := []byte("HTTP/1.1 302 Found\r\nLocation: http://" + LeakCard + ".loc.test/" + LeakSSN + "\r\nSet-Cookie: t=" + LeakJWT + "\r\nContent-Length: 0\r\n\r\n")
	target := "/u/" + LeakSSN + "/" + LeakCard + "/" + LeakEmail + "?q=" + LeakEmail + "&k=" + LeakAWSKey + "&t=" + LeakJWT
	c.conversation("10.9.0.5:41002", "198.51.100.9:80", 13,
		req("GET", target, "", nil), resp,
		req("POST", "/"+LeakCard, "application/json", []byte(`{"`+LeakEmail+`":1,"`+LeakCard+`":{"`+LeakSSN+`":"x"}}`)), resp,
		req("POST", "/upload", mw.FormDataContentType(), mp.Bytes()), resp)
	// SMTP envelope and headers.
	c.conversation("10.9.0.5:41003", "198.51.100.25:25", 14,
		nil, []byte("220 mx.test ESMTP\r\n"),
		[]byte("EHLO "+LeakCard+".helo.test\r\n"), []byte("250 mx.test\r\n"),
		[]byte("MAIL FROM:<"+LeakEmail+">\r\n"), []byte("250 OK\r\n"),
		[]byte("RCPT TO:<"+LeakCard+"@rcpt.test>\r\n"), []byte("250 OK\r\n"),
		[]byte("DATA\r\n"), []byte("354 go\r\n"),
		[]byte("Subject: "+LeakSSN+"\r\n\r\nhello\r\n.\r\n"), []byte("250 queued\r\n"))
	return c.bytes()
}
