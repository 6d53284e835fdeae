package http_test

import (
	"fmt"

	httpparse "github.com/tapdlp/tapdlp/appproto/http"
)

// printer names the destination from Start and would feed the scanner from
// Header (every header) and Body.
type printer struct{}

func (printer) Start(m *httpparse.Message) {
	if m.Side == httpparse.Request {
		fmt.Printf("%s host=%s path=%s query=%s\n", m.Method, m.Host, m.Path, m.Query)
	} else {
		fmt.Printf("status=%d\n", m.Status)
	}
}

func (printer) Header(m *httpparse.Message, name, value []byte) {
	fmt.Printf("  header %s (%d bytes)\n", name, len(value))
}

func (printer) Body(m *httpparse.Message, data []byte) {
	fmt.Printf("  %s body %q (%s)\n", m.Side, data, m.ContentType)
}

func (printer) End(m *httpparse.Message) {}

func (printer) Stop(side httpparse.Side, r httpparse.Reason) {
	fmt.Printf("%s stopped: %s\n", side, r)
}

func Example() {
	var pair httpparse.Pairing // one per connection, shared by both sides
	cfg := httpparse.Config{}  // defaults: 32 KiB heads, 1 MiB decoded per message
	req := httpparse.NewParser(httpparse.Request, cfg, &pair, printer{})
	resp := httpparse.NewParser(httpparse.Response, cfg, &pair, printer{})
	defer req.Close()
	defer resp.Close()

	req.Feed([]byte("POST /v1/upload?token=abc HTTP/1.1\r\nHost: Files.Example.com:8443\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ssn\":"))
	req.Feed([]byte("\"1\"}"))
	resp.Feed([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	// Output:
	// POST host=files.example.com path=/v1/upload query=token=abc
	//   header Host (22 bytes)
	//   header Authorization (8 bytes)
	//   header Content-Type (16 bytes)
	//   header Content-Length (2 bytes)
	//   request body "{\"ssn\":" (application/json)
	//   request body "\"1\"}" (application/json)
	// status=204
}
