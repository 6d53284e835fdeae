//go:build !amd64

package classify

// hasPlanes64 is false: planes64 is written for amd64 only.
const hasPlanes64 = false

// planes64 is not called on this architecture (hasPlanes64).
func planes64(src *byte, v *[8]uint64) { panic("classify: planes64 without AVX2") }
