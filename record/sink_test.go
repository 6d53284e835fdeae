package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestWriterSinkLines(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriterSink(&buf)
	for _, r := range []string{`{"a":1}`, `{"b":2}`} {
		if err := s.Write(Encoded{Kind: KindFlow, JSON: []byte(r)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("got %q", got)
	}
	if err := s.Write(Encoded{Kind: KindFlow, JSON: []byte("{}")}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}

// The writer sink's outcomes, as the configured stdout output counts
// them: written, failed (a reader that left is EPIPE), closed; and the
// flush timer that makes records reach a live reader.
func TestWriterSinkOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		w           func(t *testing.T) (io.Writer, func() string)
		opt         WriterOptions
		closeFirst  bool
		wantErr     error // from Write or Close
		wantCounted []WriteResult
		want        string // what the writer got before Close ("-": unchecked)
	}{
		{"buffered until close", bufWriter, WriterOptions{}, false, nil, []WriteResult{Written, Written}, ""},
		{"flush timer", bufWriter, WriterOptions{FlushInterval: time.Millisecond}, false, nil, []WriteResult{Written, Written}, "{\"a\":1}\n{\"b\":2}\n"},
		{"after close", bufWriter, WriterOptions{}, true, ErrClosed, []WriteResult{WriteClosed, WriteClosed}, ""},
		{"reader gone", func(t *testing.T) (io.Writer, func() string) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			t.Cleanup(func() { w.Close() })
			return w, func() string { return "-" }
		}, WriterOptions{FlushInterval: time.Millisecond}, false, syscall.EPIPE, []WriteResult{Written, Written, WriteFailed}, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, got := tt.w(t)
			var mu sync.Mutex
			var counted []WriteResult
			opt := tt.opt
			opt.Counted = func(r WriteResult) {
				mu.Lock()
				defer mu.Unlock()
				if len(counted) < 3 {
					counted = append(counted, r)
				}
			}
			s := NewWriterSinkOptions(w, opt)
			if tt.closeFirst {
				s.Close()
			}
			var err error
			for _, r := range []string{`{"a":1}`, `{"b":2}`} {
				err = errors.Join(err, s.Write(Encoded{Kind: KindFlow, JSON: []byte(r)}))
			}
			if tt.want != "" && tt.want != "-" {
				for deadline := time.Now().Add(5 * time.Second); got() != tt.want && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
			if tt.want != "-" && got() != tt.want {
				t.Errorf("before close the writer got %q, want %q", got(), tt.want)
			}
			if len(tt.wantCounted) == 3 { // the timer's failed flush
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					mu.Lock()
					n := len(counted)
					mu.Unlock()
					if n == 3 {
						break
					}
				}
			}
			err = errors.Join(err, s.Close())
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(counted, tt.wantCounted) {
				t.Errorf("counted %v, want %v", counted, tt.wantCounted)
			}
		})
	}
}

// bufWriter is a writer safe to read while the flush timer writes.
func bufWriter(*testing.T) (io.Writer, func() string) {
	w := &syncBuffer{}
	return w, func() string {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.b.String()
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds {
		back, ok := ParseKind(k.String())
		if !ok || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), back, ok)
		}
	}
	if _, ok := ParseKind("sensitive"); ok {
		t.Error("ParseKind accepted an unknown type")
	}
	if Kind(0).String() != "unknown" || Kind(99).String() != "unknown" {
		t.Error("invalid kinds must not name a type")
	}
}

// Route must agree with the "type" field each record type writes, and
// carry the community_id: sinks route on it instead of parsing the JSON.
func TestRouteMatchesJSON(t *testing.T) {
	for _, v := range []Routed{
		&Flow{Type: "flow", CommunityID: "1:abc="},
		&Alert{Type: "alert", CommunityID: "1:def="},
		&Volume{Type: "volume", Key: "svc|dst"},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Type        string `json:"type"`
			CommunityID string `json:"community_id"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		k, key := v.Route()
		if k.String() != m.Type || key != m.CommunityID {
			t.Errorf("%T: Route() = %v, %q; JSON has type %q community_id %q", v, k, key, m.Type, m.CommunityID)
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
