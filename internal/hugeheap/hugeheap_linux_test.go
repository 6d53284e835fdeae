package hugeheap

import (
	"bufio"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestAdviseMarksTheHeap checks with the kernel's own view (/proc/self/smaps)
// that the advised range is heap address space flagged for huge pages ("hg"),
// and that Advise leaves the block to the collector.
func TestAdviseMarksTheHeap(t *testing.T) {
	b, err := os.ReadFile(enabledFile)
	if err != nil || thpMode(string(b)) != "madvise" {
		t.Skipf("THP is not in madvise mode here (%q, %v)", b, err)
	}
	for _, size := range []int64{hugePage - 1, 8 << 20, 64<<20 + 12345} {
		beg, end, err := adviseRange(size)
		if err != nil {
			t.Fatal(err)
		}
		if n := int64(end - beg); n > size || n < size-2*hugePage {
			t.Errorf("size %d: advised %d bytes, want the 2 MiB-aligned interior", size, n)
		}
		if beg == end {
			continue // smaller than one aligned huge page: nothing to advise
		}
		for a := beg; a < end; a += hugePage {
			if !hugeFlagged(t, a) {
				t.Errorf("size %d: address %#x of the advised range has no hg flag in /proc/self/smaps", size, a)
				break
			}
		}
	}
}

// TestAdviseNothing: no size, no advice; once the heap has been collected,
// no advice either, and the reason.
func TestAdviseNothing(t *testing.T) {
	for _, n := range []int64{0, -1} {
		if r, err := advise(n); err != nil || r != (Result{}) {
			t.Errorf("advise(%d) = %+v, %v; want nothing done", n, r, err)
		}
	}
	runtime.GC()
	r, err := advise(64 << 20)
	if !errors.Is(err, ErrLate) || r.Advised != 0 {
		t.Errorf("Advise after a collection = %+v, %v; want nothing advised and ErrLate", r, err)
	}
}

// hugeFlagged reports whether the mapping holding address a is flagged for
// huge pages.
func hugeFlagged(t *testing.T, a uintptr) bool {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(lo, ":") {
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(a) >= l && uint64(a) < h
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Contains(line+" ", " hg ")
		}
	}
	return false
}
