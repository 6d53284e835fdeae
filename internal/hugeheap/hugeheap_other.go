//go:build !linux

package hugeheap

// Advise does nothing outside Linux.
func Advise(size int64) (Result, error) { return Result{}, nil }
