package pcaplog

import (
	"path/filepath"
	"testing"
)

// FuzzStream drives a small Stream with arbitrary sequences of frames,
// alerts and releases (several flows, two link types, frames up to 2 KiB
// against a 2000-byte flow bound and an 8 KiB arena) and checks the
// store's accounting after every step and the files at the end: every
// chunk is free or held, held bytes never pass the arena, a reference
// points into a file, every file reads as a valid pcap, and releasing
// every flow gives every chunk back.
func FuzzStream(f *testing.F) {
	f.Add([]byte{0, 10, 1, 20, 16, 0, 9, 200, 24, 0, 2, 255})
	f.Add([]byte{0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 16, 1, 0, 7, 128, 7, 24, 0})
	f.Add([]byte{1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3, 7, 3, 8, 3, 9, 3, 17, 1, 18, 0x81, 25, 0, 26, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 512 {
			ops = ops[:512]
		}
		dir := t.TempDir()
		cfg := Config{Dir: filepath.Join(dir, "p"), Streams: 1, FlowBytes: 2000, AfterBytes: 1000, Memory: 16 * chunkCost,
			FileSize: 8192, MaxFiles: 3, MaxBytes: 1 << 20}
		l, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := l.Stream(0)
		var hs [8]Handle
		nchunks := len(s.st.next)
		for i := 0; i+1 < len(ops); i += 2 {
			fl, arg := ops[i]&7, int(ops[i+1])
			fr := &Frame{TS: int64(i), Link: 1, Data: frame(int(fl), i, arg*8+8)}
			if arg&0x80 != 0 {
				fr.Link = 101
			}
			switch (ops[i] >> 3) & 3 {
			case 0, 1:
				hs[fl] = s.Keep(hs[fl], fr)
			case 2:
				var pend *Frame
				if arg&1 != 0 {
					pend = fr
				}
				h, ref, ok := s.Alert(hs[fl], pend)
				hs[fl] = h
				if ok && (ref.File == "" || ref.Packets < 1 || ref.Offset < fileHeaderLen) {
					t.Fatalf("bad reference %+v", ref)
				}
			case 3:
				s.Release(hs[fl])
				hs[fl] = 0
			}
			held := s.c.HeldBytes.Load()
			if held < 0 || held > cfg.Memory || int(held/chunkSize)+len(s.st.freeChunks) != nchunks {
				t.Fatalf("step %d: held %d bytes, %d free chunks of %d", i, held, len(s.st.freeChunks), nchunks)
			}
		}
		for _, h := range hs {
			s.Release(h)
		}
		if held := s.c.HeldBytes.Load(); held != 0 || len(s.st.freeChunks) != nchunks || len(s.st.freeSlots) != len(s.st.slots) {
			t.Fatalf("after releasing every flow: held %d, %d/%d chunks, %d/%d slots free", held,
				len(s.st.freeChunks), nchunks, len(s.st.freeSlots), len(s.st.slots))
		}
		s.Close()
		if err := l.Wait(); err != nil {
			t.Fatal(err)
		}
		names, _ := filepath.Glob(filepath.Join(cfg.Dir, "*.pcap"))
		for _, n := range names {
			readPcap(t, n)
		}
	})
}
