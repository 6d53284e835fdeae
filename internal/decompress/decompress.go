// Package decompress opens a maybe-compressed stream: gzip and zstd are
// recognised by their magic numbers (never by a file name) and anything
// else passes through. It is the one place that decides how much memory a
// hostile compressed input may demand, for every reader of files tapdlp
// did not write itself (capture files, record files fed to the report).
// It must not know what the bytes mean.
package decompress

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// MaxZstdWindow bounds the memory a hostile zstd frame header can make a
// file reader allocate (64 MiB; zstd's default allows up to 8 GiB).
const MaxZstdWindow = 64 << 20

// MaxZstdWindowHTTP is RFC 8878's window limit for zstd content coding in
// HTTP (8 MiB): a body asking for more is not valid HTTP zstd.
const MaxZstdWindowHTTP = 8 << 20

// BufferSize is the size of the buffers in front of and behind a decoder.
const BufferSize = 64 << 10

// Format names what a Reader found.
type Format string

// The formats a Reader recognises.
const (
	Plain Format = "plain"
	Gzip  Format = "gzip"
	Zstd  Format = "zstd"
)

var (
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Reader is a buffered reader of a stream's decompressed content.
type Reader struct {
	*bufio.Reader
	Format Format
	gz     *gzip.Reader
	zd     *zstd.Decoder
}

// NewReader looks at r's first bytes and returns a reader of its content,
// decompressed when it is gzip or zstd. Errors name the format found;
// Close releases the decoder (r itself is not closed).
func NewReader(r io.Reader) (*Reader, error) { return NewReaderSize(r, BufferSize) }

// NewReaderSize is NewReader with buffers of size bytes (at least
// BufferSize): a reader that hands out the content in place (bufio Peek)
// can ask for as much as it needs in one piece.
func NewReaderSize(r io.Reader, size int) (*Reader, error) {
	size = max(size, BufferSize)
	br := bufio.NewReaderSize(r, size)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, magicGzip):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &Reader{Reader: bufio.NewReaderSize(gz, size), Format: Gzip, gz: gz}, nil
	case bytes.HasPrefix(head, magicZstd):
		zd, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxZstdWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &Reader{Reader: bufio.NewReaderSize(zd, size), Format: Zstd, zd: zd}, nil
	}
	return &Reader{Reader: br, Format: Plain}, nil
}

// Close releases the decoder. It is safe to call twice.
func (r *Reader) Close() error {
	var err error
	if r.zd != nil {
		r.zd.Close()
		r.zd = nil
	}
	if r.gz != nil {
		err = r.gz.Close()
		r.gz = nil
	}
	return err
}
