package bodydec

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"strings"
	"testing"
)

// zipArchive builds an archive with a deflated entry (data descriptor, as
// streaming writers make), a stored entry with sizes in its header, and a
// directory entry.
func zipArchive(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i, f := range files {
		name := "f" + strings.Repeat("x", i) + ".csv"
		if i%2 == 1 {
			h := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(f)),
				CompressedSize64: uint64(len(f)), UncompressedSize64: uint64(len(f))}
			e, err := w.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			e.Write([]byte(f))
			continue
		}
		e, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		e.Write([]byte(f))
	}
	if _, err := w.Create("dir/"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZip: the entries of an archive come out in order, each followed by a
// line break, whatever the input cut; the central directory ends it.
func TestZip(t *testing.T) {
	a := strings.Repeat("name,card\nalice,4111111111111111\n", 300)
	b := "bob,5500 0000 0000 0004\n"
	in := zipArchive(t, a, b, "ssn 123-45-6789")
	want := a + "\n" + b + "\n" + "ssn 123-45-6789\n\n"
	for _, cut := range []int{1, 3, 29, 1448, len(in)} {
		var d Decoder
		s := &sink{}
		d.Begin([]Coding{CodingZip})
		for p := in; len(p) > 0; {
			n := min(len(p), cut)
			if err := d.Push(p[:n], s); err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			p = p[n:]
		}
		if err := d.Finish(s); err != nil {
			t.Fatalf("cut %d: finish: %v", cut, err)
		}
		d.End()
		if got := s.out.String(); got != want {
			t.Fatalf("cut %d: got %d bytes %.60q, want %d", cut, len(got), got, len(want))
		}
	}
}

// TestZipUnsupported: an encrypted entry or an unknown method is an error
// after the entries before it were delivered; a cut archive is an error.
func TestZipUnsupported(t *testing.T) {
	in := zipArchive(t, "first entry\n", "second")
	var d Decoder
	s := &sink{}
	d.Begin([]Coding{CodingZip})
	bad := append([]byte(nil), in...)
	// The second local header: mark it encrypted.
	i := bytes.Index(bad[4:], []byte("PK\x03\x04")) + 4
	bad[i+6] |= 1
	err := d.Push(bad, s)
	if err == nil {
		err = d.Finish(s)
	}
	d.End()
	if err == nil || !strings.HasPrefix(s.out.String(), "first entry\n") {
		t.Fatalf("err %v, out %q", err, s.out.String())
	}
	d.Begin([]Coding{CodingZip})
	s = &sink{}
	err = d.Push(in[:40], s) // inside the first entry
	if err == nil {
		err = d.Finish(s)
	}
	if err == nil {
		t.Fatal("a cut archive decoded cleanly")
	}
	d.End()
}

// TestZipBomb: a highly compressible entry is bounded by the Sink.
func TestZipBomb(t *testing.T) {
	in := zipArchive(t, strings.Repeat("\x00", 64<<20))
	var d Decoder
	s := &sink{limit: 256 << 10}
	d.Begin([]Coding{CodingZip})
	d.Push(in, s)
	if !d.Failed() || s.out.Len() > 300<<10 {
		t.Fatalf("failed %v after %d bytes", d.Failed(), s.out.Len())
	}
	d.End()
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Coding
	}{
		{"\x1f\x8b\x08\x00", CodingGzip},
		{"\x1f\x8b\x07\x00", CodingNone}, // not the deflate method
		{"\x28\xb5\x2f\xfd", CodingZstd},
		{"PK\x03\x04", CodingZip},
		{"PK\x05\x06", CodingNone}, // an empty archive's end record: nothing to read
		{"\x1f\x8b\x08", CodingNone},
		{"", CodingNone},
		{"card", CodingNone},
	} {
		if got := Sniff([]byte(tc.in)); got != tc.want {
			t.Errorf("Sniff(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
