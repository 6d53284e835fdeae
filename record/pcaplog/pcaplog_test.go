package pcaplog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func testConfig(t *testing.T) Config {
	return Config{Dir: filepath.Join(t.TempDir(), "pcaps"), Streams: 1, FlowBytes: 4 << 10, AfterBytes: 4 << 10,
		Memory: 64 << 10, FileSize: 1 << 20, MaxFiles: 100, MaxBytes: 1 << 30}
}

// frame makes a recognisable frame: flow id, packet number, filler.
func frame(flow, n, size int) []byte {
	b := bytes.Repeat([]byte{byte(flow)}, size)
	binary.BigEndian.PutUint32(b, uint32(flow))
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	return b
}

type rec struct {
	ts      int64
	capLen  int
	wireLen int
	data    []byte
}

// readPcap reads a file with gopacket's reader: it must be a valid pcap.
func readPcap(t *testing.T, path string) ([]rec, layers.LinkType) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.Snaplen() != Snaplen {
		t.Errorf("%s: snaplen %d, want %d", path, r.Snaplen(), Snaplen)
	}
	var out []rec
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec{ci.Timestamp.UnixNano(), ci.CaptureLength, ci.Length, data})
	}
	return out, r.LinkType()
}

// recordAt parses the one record at off, as an analyst's tool seeking to
// the alert's offset would.
func recordAt(t *testing.T, path string, off int64) rec {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < fileHeaderLen || off+recHeaderLen > int64(len(b)) {
		t.Fatalf("offset %d outside %s (%d bytes)", off, path, len(b))
	}
	h := b[off:]
	n := int(binary.LittleEndian.Uint32(h[8:]))
	ts := int64(binary.LittleEndian.Uint32(h[0:]))*1e9 + int64(binary.LittleEndian.Uint32(h[4:]))
	return rec{ts, n, int(binary.LittleEndian.Uint32(h[12:])), h[recHeaderLen : recHeaderLen+n]}
}

func TestAlertWritesTheFlowsFrames(t *testing.T) {
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stream(0)
	var flows [3]Handle
	ts := int64(1_700_000_000_000_000_000)
	for n := range 5 {
		for fl := range flows {
			ts += 1000
			flows[fl] = s.Keep(flows[fl], &Frame{TS: ts, Link: 1, Data: frame(fl, n, 100)})
		}
	}
	h, ref, ok := s.Alert(flows[1], &Frame{TS: ts + 1, Link: 1, Data: frame(1, 5, 100)})
	if !ok || h != flows[1] {
		t.Fatalf("Alert: ok %v, handle %v want %v", ok, h, flows[1])
	}
	if ref.Packets != 6 || ref.Truncated || ref.Offset != fileHeaderLen || filepath.Dir(ref.File) != cfg.Dir {
		t.Errorf("ref %+v, want 6 packets at %d in %s", ref, fileHeaderLen, cfg.Dir)
	}
	// After the alert: written as they come, flow 0's never.
	s.Keep(flows[0], &Frame{TS: ts + 2, Link: 1, Data: frame(0, 5, 100)})
	s.Keep(flows[1], &Frame{TS: ts + 3, Link: 1, Wire: 1500, Data: frame(1, 6, 100)})
	// A second alert of the same flow points at the same place.
	if _, ref2, ok := s.Alert(flows[1], nil); !ok || ref2.Offset != ref.Offset || ref2.File != ref.File || ref2.Packets != 7 {
		t.Errorf("second alert ref %+v, want the first's place with 7 packets", ref2)
	}
	for _, h := range flows {
		s.Release(h)
	}
	s.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	recs, link := readPcap(t, ref.File)
	if link != layers.LinkTypeEthernet {
		t.Errorf("link type %v", link)
	}
	if len(recs) != 7 {
		t.Fatalf("%d records, want 7", len(recs))
	}
	for i, r := range recs {
		if want := frame(1, i, 100); !bytes.Equal(r.data, want) {
			t.Errorf("record %d is %x…, want flow 1 packet %d", i, r.data[:8], i)
		}
	}
	if recs[6].wireLen != 1500 || recs[6].capLen != 100 || recs[6].ts != ts+3 {
		t.Errorf("last record %+v: want wire 1500, caplen 100, ts %d", recs[6], ts+3)
	}
	if got := recordAt(t, ref.File, ref.Offset); !bytes.Equal(got.data, frame(1, 0, 100)) {
		t.Errorf("the record at the alert's offset is not the flow's first frame")
	}
	st, err := os.Stat(ref.File)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600", st.Mode(), err)
	}
	if st, _ := os.Stat(cfg.Dir); st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", st.Mode())
	}
	v := l.Stats()
	if v.FlowsStored != 3 || v.Alerts != 2 || v.Packets != 7 || v.HeldBytes != 0 {
		t.Errorf("stats %+v", v)
	}
}

// A flow past FlowBytes keeps its first bytes (the frame that crosses the
// bound is cut to it); an alert then says truncated and counts what was
// not kept. After the alert, AfterBytes bounds what is written.
func TestFlowAndAfterCaps(t *testing.T) {
	cfg := testConfig(t)
	cfg.FlowBytes, cfg.AfterBytes = 1000, 250
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stream(0)
	var h Handle
	for n := range 10 {
		h = s.Keep(h, &Frame{TS: int64(n), Link: 1, Data: frame(7, n, 300)})
	}
	_, ref, ok := s.Alert(h, nil)
	if !ok || ref.Packets != 4 || !ref.Truncated {
		t.Fatalf("ref %+v ok %v: want 4 packets (3×300 + 100 of the 4th), truncated", ref, ok)
	}
	for n := 10; n < 13; n++ {
		s.Keep(h, &Frame{TS: int64(n), Link: 1, Data: frame(7, n, 100)})
	}
	s.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	recs, _ := readPcap(t, ref.File)
	var caps []int
	for _, r := range recs {
		caps = append(caps, r.capLen)
	}
	if want := []int{300, 300, 300, 100, 100, 100, 50}; !slices.Equal(caps, want) {
		t.Errorf("caplens %v, want %v", caps, want)
	}
	if recs[3].wireLen != 300 || recs[6].wireLen != 100 {
		t.Errorf("cut records must keep their wire length: %d, %d", recs[3].wireLen, recs[6].wireLen)
	}
	if v := l.Stats(); v.Dropped[1].Reason != "over_cap" || v.Dropped[1].N != 6+0 {
		t.Errorf("over_cap = %+v, want 6 (not kept before the alert) ", v.Dropped[1])
	}
}

// When the arena is full the flow that began first is evicted (counted);
// its handle goes stale, so it is not stored again from the middle, and an
// alert on it gets only the packet at hand, marked truncated.
func TestEvictionWhenOverBudget(t *testing.T) {
	cfg := testConfig(t)
	cfg.Memory = 8*chunkCost + chunkCost/2
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stream(0)
	var hs []Handle
	for fl := range 10 {
		hs = append(hs, s.Keep(0, &Frame{TS: int64(fl), Link: 1, Data: frame(fl, 0, chunkSize-recHeaderLen)}))
	}
	v := l.Stats()
	if v.Evicted != 2 || v.FlowsStored != 10 || v.HeldBytes != 8*chunkSize {
		t.Errorf("evicted %d stored %d held %d: want 2, 10, %d", v.Evicted, v.FlowsStored, v.HeldBytes, 8*chunkSize)
	}
	if s.st.get(hs[0]) != nil || s.st.get(hs[1]) != nil || s.st.get(hs[2]) == nil {
		t.Error("the two oldest flows should be the evicted ones")
	}
	if h := s.Keep(hs[0], &Frame{TS: 20, Link: 1, Data: frame(0, 1, 50)}); h != hs[0] || s.st.get(h) != nil {
		t.Error("an evicted flow was stored again from the middle")
	}
	if _, _, ok := s.Alert(hs[1], nil); ok {
		t.Error("an alert on an evicted flow without a packet at hand got a reference")
	}
	_, ref, ok := s.Alert(hs[0], &Frame{TS: 21, Link: 1, Data: frame(0, 2, 50)})
	if !ok || ref.Packets != 1 || !ref.Truncated {
		t.Errorf("alert on an evicted flow: %+v %v, want the packet at hand, truncated", ref, ok)
	}
	// Released flows give their room back.
	for _, h := range hs[2:] {
		s.Release(h)
	}
	if v := l.Stats(); v.HeldBytes != 0 || v.NoPackets != 1 {
		t.Errorf("after release: held %d, alerts without packets %d", v.HeldBytes, v.NoPackets)
	}
	s.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
}

// Files rotate before passing FileSize (a flow's kept frames stay in one
// file), the oldest are deleted beyond MaxFiles or MaxBytes, and numbering
// continues after the files already there, so nothing is overwritten.
func TestRotationAndRetention(t *testing.T) {
	cfg := testConfig(t)
	cfg.FileSize, cfg.MaxFiles, cfg.MaxBytes = 4096, 3, 1<<30
	cfg.FlowBytes = 2000
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(cfg.Dir, fileName(41, 0))
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(cfg.Dir, "notes.txt")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stream(0)
	var refs []Ref
	for fl := range 12 {
		var h Handle
		for n := range 4 {
			h = s.Keep(h, &Frame{TS: int64(fl*10 + n), Link: 1, Data: frame(fl, n, 400)})
		}
		_, ref, ok := s.Alert(h, nil)
		if !ok || ref.Packets != 4 || ref.Truncated {
			t.Fatalf("flow %d: %+v", fl, ref)
		}
		refs = append(refs, ref)
		s.Release(h)
	}
	s.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(cfg.Dir, "alerts-*.pcap"))
	if len(names) != 3 {
		t.Fatalf("%d files kept, want 3: %v", len(names), names)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Error("the oldest file (from before) was not deleted")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("a file not named like an alert pcap was touched")
	}
	v := l.Stats()
	// 4 records of 416 bytes fit twice in 4096 bytes: 6 files, the first
	// numbered after the file already there.
	if v.Rotated != 5 || v.Deleted != 4 {
		t.Errorf("rotated %d deleted %d, want 5 and 4", v.Rotated, v.Deleted)
	}
	if !strings.HasSuffix(refs[0].File, fileName(42, 0)) {
		t.Errorf("first file %s, want number 42", refs[0].File)
	}
	for i, ref := range refs[6:] {
		fl := 6 + i
		recs, _ := readPcap(t, ref.File)
		st, _ := os.Stat(ref.File)
		if st.Size() > cfg.FileSize {
			t.Errorf("%s is %d bytes, over %d", ref.File, st.Size(), cfg.FileSize)
		}
		got := recordAt(t, ref.File, ref.Offset)
		if !bytes.Equal(got.data, frame(fl, 0, 400)) {
			t.Errorf("flow %d: the record at %s:%d is not its first frame", fl, ref.File, ref.Offset)
		}
		if len(recs) != 8 {
			t.Errorf("%s: %d records, want 8", ref.File, len(recs))
		}
	}
}

// A file that cannot be written is counted and logged, and the stream
// moves to a new file; the run goes on.
func TestWriteErrorsAreCounted(t *testing.T) {
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The file the stream will create exists already as a directory.
	if err := os.Mkdir(filepath.Join(cfg.Dir, fileName(1, 0)), 0o700); err != nil {
		t.Fatal(err)
	}
	s := l.Stream(0)
	h := s.Keep(0, &Frame{TS: 1, Link: 1, Data: frame(1, 0, 60)})
	if _, _, ok := s.Alert(h, nil); !ok {
		t.Fatal("no reference")
	}
	s.Close()
	err = l.Wait()
	if err == nil || !strings.Contains(err.Error(), fileName(1, 0)) {
		t.Errorf("Wait: %v, want the failed file named", err)
	}
	if v := l.Stats(); v.Dropped[2].Reason != "write_error" || v.Dropped[2].N != 1 || v.Packets != 0 {
		t.Errorf("stats %+v", v)
	}
	if !s.broken.Load() {
		t.Error("the stream was not told to start a new file")
	}
}

// Keeping, alerting and releasing allocate nothing once the stream's
// buffers exist: the per-packet path is preallocated.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stream(0)
	data := frame(1, 0, 1514)
	fr := &Frame{TS: 1, Link: 1, Data: data}
	cycle := func() {
		var h Handle
		for range 8 {
			fr.TS++
			h = s.Keep(h, fr)
		}
		s.Alert(h, fr)
		s.Keep(h, fr)
		s.Release(h)
		h2 := s.Keep(0, fr)
		s.Release(h2)
		s.Flush()
	}
	for range 50 {
		cycle()
	}
	if n := testing.AllocsPerRun(200, cycle); n != 0 {
		t.Errorf("%.1f allocations per cycle, want 0", n)
	}
	s.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
}

// With the writer stuck (a dead disk), a live Stream never waits: once its
// queue is full, frames are dropped and counted, the alert that could not
// write its frames says truncated, and one that wrote none gets no
// reference. A replay's Stream (Block) waits instead and loses nothing.
func TestFullQueue(t *testing.T) {
	for _, block := range []bool{false, true} {
		t.Run(map[bool]string{false: "live drops", true: "replay waits"}[block], func(t *testing.T) {
			cfg := testConfig(t)
			cfg.FlowBytes, cfg.Memory, cfg.Block = 60000, 8<<20, block
			l, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			stuck := make(chan struct{})
			l.beforeWrite = func() { <-stuck }
			s := l.Stream(0)
			// 40 flows of 40 frames of 1500 bytes: 2.4 MB of alerts, more
			// than the queue's 2 MiB.
			type res struct {
				ref Ref
				ok  bool
			}
			done := make(chan []res)
			go func() {
				var out []res
				for fl := range 40 {
					var h Handle
					for n := range 40 {
						h = s.Keep(h, &Frame{TS: int64(fl*100 + n), Link: 1, Data: frame(fl, n, 1500)})
					}
					_, ref, ok := s.Alert(h, nil)
					out = append(out, res{ref, ok})
					s.Release(h)
				}
				s.Flush()
				done <- out
			}()
			var out []res
			select {
			case out = <-done:
				if block {
					t.Fatal("a blocking stream did not wait for the stuck writer")
				}
			case <-time.After(time.Second):
				if !block {
					t.Fatal("a live stream waited for the stuck writer")
				}
			}
			close(stuck)
			if block {
				out = <-done
			}
			s.Close()
			if err := l.Wait(); err != nil {
				t.Fatal(err)
			}
			v := l.Stats()
			dropped := v.Dropped[0].N
			written := 0
			for _, r := range out {
				if r.ok {
					written += r.ref.Packets
				}
			}
			if uint64(written) != v.Packets || written+int(dropped) != 40*40 {
				t.Errorf("%d frames referenced, %d written, %d dropped: want referenced = written, written + dropped = 1600", written, v.Packets, dropped)
			}
			if block && (dropped != 0 || v.NoPackets != 0) {
				t.Errorf("a blocking stream dropped %d frames, %d alerts", dropped, v.NoPackets)
			}
			if !block {
				if dropped == 0 || v.NoPackets == 0 || !out[len(out)-1].ref.Truncated && out[len(out)-1].ok {
					t.Errorf("no drops counted with the writer stuck: %+v", v)
				}
				for i, r := range out {
					if r.ok && r.ref.Packets < 40 && !r.ref.Truncated {
						t.Errorf("alert %d wrote %d of 40 frames without saying truncated", i, r.ref.Packets)
					}
				}
			}
		})
	}
}
