package classify

import (
	"testing"
	"unsafe"
)

// checkTableLayout fails when nibbleTables' fields are not at the offsets
// planes_amd64.s reads them from.
func checkTableLayout(t *testing.T) {
	t.Helper()
	var n nibbleTables
	if unsafe.Offsetof(n.flags) != 0 || unsafe.Offsetof(n.high) != 192 || unsafe.Offsetof(n.low4) != 384 {
		t.Fatalf("nibbleTables layout changed: flags %d, high %d, low4 %d; planes_amd64.s reads 0, 192, 384",
			unsafe.Offsetof(n.flags), unsafe.Offsetof(n.high), unsafe.Offsetof(n.low4))
	}
}
