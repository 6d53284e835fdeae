package sinks

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

func recN(i int) []byte { return fmt.Appendf(nil, `{"type":"flow","n":%d}`, i) }

func segImage(recs ...[]byte) []byte {
	b := []byte(segMagic)
	for _, r := range recs {
		b = appendRecord(b, r)
	}
	return b
}

func TestScanSegment(t *testing.T) {
	good := segImage(recN(1), recN(2), recN(3))
	flip := bytes.Clone(good)
	flip[segHeaderLen+recHeaderLen+2] ^= 0xff // first payload byte changed: CRC mismatch
	huge := bytes.Clone(good)
	huge[segHeaderLen+3] = 0x7f // first length > maxRecord
	tests := []struct {
		name    string
		data    []byte
		records int
		goodEnd int
		status  recStatus
	}{
		{"clean", good, 3, len(good), recEnd},
		{"torn header", good[:len(good)-len(recN(3))-4], 2, len(good) - len(recN(3)) - recHeaderLen, recTruncated},
		{"torn payload", good[:len(good)-1], 2, len(good) - len(recN(3)) - recHeaderLen, recTruncated},
		{"crc mismatch", flip, 0, segHeaderLen, recCorrupt},
		{"length out of bounds", huge, 0, segHeaderLen, recCorrupt},
		{"no magic", []byte("not a segment"), 0, 0, recCorrupt},
		{"header only", []byte(segMagic), 0, segHeaderLen, recEnd},
		{"zero length record", append([]byte(segMagic), 0, 0, 0, 0, 0, 0, 0, 0), 0, segHeaderLen, recCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanSegment(tt.data, 0, 1<<20)
			if got.records != tt.records || got.goodEnd != tt.goodEnd || got.status != tt.status {
				t.Fatalf("got %+v, want records %d goodEnd %d status %d", got, tt.records, tt.goodEnd, tt.status)
			}
		})
	}
}

// FuzzSpoolSegment feeds arbitrary segment images (what a crash or a bad
// disk can leave) to the scanner and to the spool reader: neither may
// panic or loop, and what they deliver must be exactly the well-framed
// prefix.
func FuzzSpoolSegment(f *testing.F) {
	good := segImage(recN(1), recN(2), []byte(`{"type":"alert"}`))
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte(segMagic))
	f.Add(append([]byte(segMagicV1), good[segHeaderLen:]...)) // format 1: converted at open
	f.Add([]byte{})
	f.Add(append([]byte(segMagic), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0))
	// One directory for all runs: a TempDir per input costs more than the
	// code under test.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxRec = 1 << 16
		sc := scanSegment(data, 0, maxRec)
		if sc.goodEnd > len(data) || sc.records > len(data)/(recHeaderLen+1)+1 {
			t.Fatalf("scan out of bounds: %+v for %d bytes", sc, len(data))
		}
		// Re-framing the records found must reproduce the prefix.
		var recs [][]byte
		if sc.goodEnd >= segHeaderLen {
			b := data[segHeaderLen:sc.goodEnd]
			for len(b) > 0 {
				p, n, st := decodeRecord(b, maxRec)
				if st != recOK {
					t.Fatalf("prefix does not decode: status %d", st)
				}
				recs = append(recs, p)
				b = b[n:]
			}
			if !bytes.Equal(segImage(recs...), data[:sc.goodEnd]) {
				t.Fatal("re-framed prefix differs")
			}
		}
		// The spool reader on the same bytes, as left on disk by a crash.
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x.seg", firstSegID)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		sp, err := openSpool(dir, 1<<30, 1<<20, maxRec, new(Stats))
		if err != nil {
			t.Fatal(err)
		}
		defer sp.close()
		var got [][]byte
		for range len(data) + 2 {
			b, _, err := sp.readBatch(7, 1<<10)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				break
			}
			got = append(got, b...)
		}
		if len(data) >= segHeaderLen && string(data[:segHeaderLen]) == segMagicV1 {
			// A format-1 segment is converted at open: expect its records
			// as framed by the conversion.
			img := migrateV1(data, segHeaderLen, maxRec)
			sc := scanSegment(img, 0, maxRec)
			recs = recs[:0]
			for b := img[segHeaderLen:sc.goodEnd]; len(b) > 0; {
				p, n, _ := decodeRecord(b, maxRec)
				recs = append(recs, p)
				b = b[n:]
			}
		}
		if len(got) != len(recs) {
			t.Fatalf("spool read %d records, scan found %d", len(got), len(recs))
		}
		for i := range got {
			if !bytes.Equal(got[i], recs[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
	})
}

func readAll(t *testing.T, sp *spool, commit bool) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		b, pos, err := sp.readBatch(3, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			return out
		}
		out = append(out, b...)
		if commit {
			if err := sp.commit(pos, len(b)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestSpoolOrderSegmentsAndCap(t *testing.T) {
	dir := t.TempDir()
	st := new(Stats)
	// Small segments force several files; the cap stops appends.
	sp, err := openSpool(dir, 2000, 200, 1<<20, st)
	if err != nil {
		t.Fatal(err)
	}
	var in [][]byte
	for i := range 200 {
		in = append(in, recN(i))
	}
	n, err := sp.append(in)
	if err != errSpoolFull || n == 0 || n == len(in) {
		t.Fatalf("append: %d, %v; want a partial append and errSpoolFull", n, err)
	}
	if st.SpoolBytes.Load() > 2000 {
		t.Fatalf("spool holds %d bytes over its 2000 cap", st.SpoolBytes.Load())
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	got := readAll(t, sp, true)
	if len(got) != n {
		t.Fatalf("read %d, want %d", len(got), n)
	}
	for i := range got {
		if !bytes.Equal(got[i], in[i]) {
			t.Fatalf("record %d: %s, want %s", i, got[i], in[i])
		}
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 0 || st.SpoolBytes.Load() != 0 {
		t.Fatalf("after delivering everything: %d segments, %d bytes", len(segs), st.SpoolBytes.Load())
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpool(dir, 1<<20, 256, 1<<20, new(Stats))
	if err != nil {
		t.Fatal(err)
	}
	var in [][]byte
	for i := range 30 {
		in = append(in, recN(i))
	}
	if _, err := sp.append(in); err != nil {
		t.Fatal(err)
	}
	// Deliver and commit 7, read (but do not commit) 3 more.
	b, pos, _ := sp.readBatch(7, 1<<20)
	if err := sp.commit(pos, len(b)); err != nil {
		t.Fatal(err)
	}
	_, _, _ = sp.readBatch(3, 1<<20)
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	// A crash mid-append leaves a torn record at the end of a segment.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	last := segs[len(segs)-1]
	f, _ := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.Write(appendRecord(nil, recN(999))[:10])
	_ = f.Close()

	st := new(Stats)
	sp, err = openSpool(dir, 1<<20, 256, 1<<20, st)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Unread() != 23 {
		t.Fatalf("unread after restart %d, want 23", sp.Unread())
	}
	// Records appended after the restart come after the old ones.
	if _, err := sp.append([][]byte{recN(30)}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, sp, true)
	want := append(in[7:], recN(30))
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: %s, want %s", i, got[i], want[i])
		}
	}
	if st.SpoolCorrupt.Load() != 1 {
		t.Fatalf("torn segments counted %d, want 1", st.SpoolCorrupt.Load())
	}
	_ = sp.close()
}

func TestSpoolPrepend(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpool(dir, 1<<20, 1<<10, 1<<20, new(Stats))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sp.append([][]byte{recN(2), recN(3)})
	if _, err := sp.prepend([][]byte{recN(0), recN(1)}); err != nil {
		t.Fatal(err)
	}
	_ = sp.close()
	sp, err = openSpool(dir, 1<<20, 1<<10, 1<<20, new(Stats))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, sp, true)
	for i := range 4 {
		if i >= len(got) || !bytes.Equal(got[i], recN(i)) {
			t.Fatalf("after prepend and restart got %q", got)
		}
	}
	_ = sp.close()
}

// A spool written by the version that stored bare JSON (format 1) is
// converted at open: undelivered records keep their order and gain the
// kind and key routing needs; records before the cursor stay delivered.
func TestSpoolMigratesFormat1(t *testing.T) {
	dir := t.TempDir()
	recs := []string{
		`{"type":"flow","community_id":"1:a=","n":0}`,
		`{"type":"alert","community_id":"1:b=","n":1}`,
		`{"type":"volume","n":2}`,
	}
	img := []byte(segMagicV1)
	var offs []int
	for _, r := range recs {
		offs = append(offs, len(img))
		img = appendRecord(img, []byte(r))
	}
	seg := filepath.Join(dir, fmt.Sprintf("%016x.seg", 1))
	if err := os.WriteFile(seg, img, 0o640); err != nil {
		t.Fatal(err)
	}
	sp0 := &spool{dir: dir}
	if err := sp0.saveCursor(spoolPos{seg: 1, off: int64(offs[1])}); err != nil { // record 0 was delivered
		t.Fatal(err)
	}
	sp, err := openSpool(dir, 1<<20, 1<<20, 1<<20, new(Stats))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	b, _, err := sp.readBatch(10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind record.Kind
		key  string
		json string
	}{{record.KindAlert, "1:b=", recs[1]}, {record.KindVolume, "", recs[2]}}
	if len(b) != len(want) {
		t.Fatalf("read %d records, want %d", len(b), len(want))
	}
	for i, w := range want {
		k, key, js := unframe(b[i])
		if k != w.kind || string(key) != w.key || string(js) != w.json {
			t.Errorf("record %d: %v %q %s, want %v %q %s", i, k, key, js, w.kind, w.key, w.json)
		}
	}
	if data, _ := os.ReadFile(seg); string(data[:segHeaderLen]) != segMagic {
		t.Errorf("segment still starts with %q", data[:segHeaderLen])
	}
}
