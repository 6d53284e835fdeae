//go:build !amd64

package classify

import "testing"

// checkTableLayout has nothing to check without planes_amd64.s.
func checkTableLayout(t *testing.T) { t.Helper() }
