package record

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriterSinkLines(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriterSink(&buf)
	for _, r := range []string{`{"a":1}`, `{"b":2}`} {
		if err := s.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("got %q", got)
	}
	if err := s.Write([]byte("{}")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}

func TestFileSink(t *testing.T) {
	for _, path := range []string{filepath.Join(t.TempDir(), "flows.jsonl"), os.DevNull} {
		s, err := NewFileSink(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write([]byte(`{"type":"flow"}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: close: %v", path, err)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	tm := TimeFromNanos(1763823845123456789)
	b, _ := tm.MarshalJSON()
	if string(b) != `"2025-11-22T15:04:05.123456Z"` {
		t.Errorf("MarshalJSON = %s", b)
	}
	var back Time
	if err := back.UnmarshalJSON(b); err != nil || back.UnixMicro() != tm.UnixMicro() {
		t.Errorf("round trip: %v %v", back, err)
	}
}
