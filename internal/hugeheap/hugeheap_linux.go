package hugeheap

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugePage = 2 << 20

const enabledFile = "/sys/kernel/mm/transparent_hugepage/enabled"

// Advise advises size bytes of heap address space for huge pages when the
// kernel's THP mode is madvise (in mode always the heap gets them anyway;
// in mode never, or without THP, it does nothing). size ≤ 0 does nothing.
//
// Call it once, before the first garbage collection: only then is the
// block sure to land on pages the heap never used. Used pages must be
// zeroed before reuse, and zeroing the block would fault all of it in.
// After a collection Advise does nothing and says so (ErrLate); a second
// call in one process does nothing either (ErrAgain), whatever it asks.
func Advise(size int64) (Result, error) {
	if called.Swap(true) {
		return Result{}, ErrAgain
	}
	return advise(size)
}

// advise is Advise without the once-per-process gate.
func advise(size int64) (Result, error) {
	if size <= 0 {
		return Result{}, nil
	}
	if collections() > 0 {
		return Result{}, ErrLate
	}
	b, err := os.ReadFile(enabledFile)
	if errors.Is(err, os.ErrNotExist) {
		return Result{}, nil // a kernel without THP
	}
	if err != nil {
		return Result{}, fmt.Errorf("huge pages: %w", err)
	}
	r := Result{Mode: thpMode(string(b))}
	if r.Mode != "madvise" {
		return r, nil
	}
	beg, end, err := adviseRange(size)
	r.Advised = int64(end - beg)
	return r, err
}

// collections returns how many garbage collections have completed.
func collections() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// adviseRange allocates size bytes, advises the huge pages wholly inside
// them, [beg, end), and lets them go. The allocation comes straight from the
// page heap and is not written (fresh pages are known to be zero), so
// nothing is faulted in.
func adviseRange(size int64) (beg, end uintptr, err error) {
	block := make([]byte, size)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(block)))
	beg = (start + hugePage - 1) &^ (hugePage - 1)
	end = max(beg, (start+uintptr(size))&^(hugePage-1))
	if beg < end {
		if err = unix.Madvise(block[beg-start:end-start], unix.MADV_HUGEPAGE); err != nil {
			beg, end, err = 0, 0, fmt.Errorf("huge pages: madvise: %w", err)
		}
	}
	runtime.KeepAlive(block)
	runtime.GC() // the heap goal must come from the live heap, not from the block
	return beg, end, err
}
