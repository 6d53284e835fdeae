//go:build !linux

package hugeheap

// Advise does nothing outside Linux but answer a second call like Linux
// does (ErrAgain).
func Advise(size int64) (Result, error) {
	if called.Swap(true) {
		return Result{}, ErrAgain
	}
	return Result{}, nil
}
