package tapconn

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"testing"
)

// A recorded exchange over a real pipe round-trips through WritePcap and
// ReadPcap: both directions' bytes come back whole, in order, whatever the
// segment size.
func TestRecordWriteRead(t *testing.T) {
	var r Recorder
	cc, sc := net.Pipe()
	c := r.Wrap(cc)
	go func() {
		buf := make([]byte, 64)
		n, _ := io.ReadFull(sc, buf[:11])
		_, _ = sc.Write(append([]byte("echo: "), buf[:n]...))
		sc.Close()
	}()
	if _, err := c.Write([]byte("hello there")); err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(c)
	c.Close()
	conns := r.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	if got := Side(conns[0], true); string(got) != "hello there" {
		t.Errorf("client side %q", got)
	}
	if got := Side(conns[0], false); !bytes.Equal(got, reply) || string(got) != "echo: hello there" {
		t.Errorf("server side %q (client read %q)", got, reply)
	}
	for _, mss := range []int{1, 3, 1000} {
		path := filepath.Join(t.TempDir(), "x.pcap")
		if err := WritePcap(path, conns, 8080, mss); err != nil {
			t.Fatal(err)
		}
		segs, n, err := ReadPcap(path)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || len(segs) == 0 {
			t.Fatalf("mss %d: %d connections, %d segments", mss, n, len(segs))
		}
		var out, in []byte
		for _, s := range segs {
			if len(s.Data) > mss {
				t.Errorf("mss %d: a %d-byte segment", mss, len(s.Data))
			}
			if s.FromClient {
				out = append(out, s.Data...)
			} else {
				in = append(in, s.Data...)
			}
		}
		if string(out) != "hello there" || string(in) != "echo: hello there" {
			t.Errorf("mss %d: read back %q / %q", mss, out, in)
		}
	}
}
