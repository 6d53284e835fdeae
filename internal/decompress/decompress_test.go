package decompress

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestFormatsByMagic(t *testing.T) {
	content := []byte(strings.Repeat("tapdlp record line\n", 1000))
	gz, zs := compressBoth(t, content)
	for _, tc := range []struct {
		name string
		in   []byte
		want Format
	}{{"plain", content, Plain}, {"gzip", gz.Bytes(), Gzip}, {"zstd", zs.Bytes(), Zstd}, {"empty", nil, Plain}} {
		r, err := NewReader(bytes.NewReader(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || r.Format != tc.want {
			t.Fatalf("%s: format %s err %v", tc.name, r.Format, err)
		}
		if want := content; tc.in == nil {
			if len(got) != 0 {
				t.Errorf("%s: read %d bytes", tc.name, len(got))
			}
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs", tc.name)
		}
		if err := r.Close(); err != nil || r.Close() != nil {
			t.Errorf("%s: close: %v", tc.name, err)
		}
	}
}

// A zstd frame header asking for a window over MaxZstdWindow is refused
// instead of allocating it.
func TestZstdWindowBounded(t *testing.T) {
	// Frame header: magic, descriptor with single-segment off and no
	// checksum, window descriptor exponent 30 (1 GiB window), then a raw
	// last block of one byte.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, (30 - 10) << 3}
	blk := make([]byte, 4)
	binary.LittleEndian.PutUint32(blk, 1|0<<1|1<<3) // last, raw, size 1
	frame = append(frame, blk[:3]...)
	frame = append(frame, 'x')
	r, err := NewReader(bytes.NewReader(frame))
	if err != nil {
		return // refused up front
	}
	defer r.Close()
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("a 1 GiB zstd window was accepted")
	}
}

func TestCorruptGzipNamed(t *testing.T) {
	_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0x00}))
	if err == nil || !strings.HasPrefix(err.Error(), "gzip:") {
		t.Fatalf("err %v, want a gzip error", err)
	}
}

// NewReaderSize sizes the buffer the content is read from, never below
// BufferSize, for every format.
func TestNewReaderSize(t *testing.T) {
	content := []byte(strings.Repeat("0123456789abcdef", 1<<15)) // 512 KiB
	gz, zs := compressBoth(t, content)
	for _, tc := range []struct {
		name       string
		in         []byte
		size, want int
	}{
		{"plain", content, 256 << 10, 256 << 10},
		{"gzip", gz.Bytes(), 256 << 10, 256 << 10},
		{"zstd", zs.Bytes(), 256 << 10, 256 << 10},
		{"plain small", content, 100, BufferSize},
	} {
		r, err := NewReaderSize(bytes.NewReader(tc.in), tc.size)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Size() != tc.want {
			t.Errorf("%s: buffer %d, want %d", tc.name, r.Size(), tc.want)
		}
		// A peek of the whole buffer is served without ErrBufferFull.
		if b, err := r.Peek(tc.want); err != nil || !bytes.Equal(b, content[:tc.want]) {
			t.Errorf("%s: peek %d: %v", tc.name, tc.want, err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, content) {
			t.Errorf("%s: content differs (%v)", tc.name, err)
		}
		r.Close()
	}
}

// compressBoth returns content compressed as gzip and as zstd.
func compressBoth(t *testing.T, content []byte) (gz, zs *bytes.Buffer) {
	t.Helper()
	gz, zs = new(bytes.Buffer), new(bytes.Buffer)
	gw := gzip.NewWriter(gz)
	zw, err := zstd.NewWriter(zs)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []interface {
		Write([]byte) (int, error)
		Close() error
	}{gw, zw} {
		if _, err := w.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return gz, zs
}
