// Package hugeheap asks the kernel to back the first part of the Go heap
// with transparent huge pages, once, at start-up.
//
// A sensor's heap is its flow table, sessions and batches: touched at random
// and grown on every new flow. Each first touch of a 4 KiB page is a page
// fault, and in a virtual machine a fault can cost 14-16 µs (measured on the
// project's Firecracker VMs: the short-flow benchmark mix took 12,700 faults,
// ~18 % of its CPU). With THP in "madvise" mode — the default of Debian,
// Ubuntu and most container hosts — the Go runtime no longer asks for huge
// pages itself (it stopped in Go 1.21.1), so this package does: it
// allocates a block of heap address space, advises MADV_HUGEPAGE on it and
// frees it. The runtime reuses the lowest free addresses first, so the
// sensor's first allocations land in the advised range and fault once per
// 2 MiB instead of once per 4 KiB; pages it never touches cost nothing.
//
// It must not change what the program computes, and it must not hold
// memory: the block is garbage before Advise returns, and a collection runs
// so the heap's growth target is not inflated by it. What it does change is
// granularity: heap pages freed inside the range may stay resident, because
// the kernel's khugepaged can collapse a partly released huge page again.
//
// One residual risk: a goroutine stack freed at the very top of the heap
// before Advise makes the block straddle used pages, and the runtime then
// zeroes (faults in) all of it once; the scavenger returns it later.
package hugeheap

import (
	"errors"
	"strings"
	"sync/atomic"
)

// Advise's refusals.
var (
	ErrLate  = errors.New("huge pages: not advised, the heap was already collected (advise before anything else)")
	ErrAgain = errors.New("huge pages: the process decided at its first Advise")
)

// called is set by the first Advise.
var called atomic.Bool

// Result says what Advise did.
type Result struct {
	Mode    string // the kernel's THP mode: always, madvise, never, or "" (no THP)
	Advised int64  // bytes of heap address space advised (0: nothing done)
}

// thpMode returns the selected mode in the contents of
// /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise] never").
func thpMode(enabled string) string {
	i := strings.IndexByte(enabled, '[')
	j := strings.IndexByte(enabled, ']')
	if i < 0 || j < i {
		return ""
	}
	return enabled[i+1 : j]
}
