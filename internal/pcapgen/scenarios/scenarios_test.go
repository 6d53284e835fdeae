package scenarios

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed captures must be exactly what the generator builds, so the
// golden records always describe reproducible inputs.
func TestCommittedCapturesAreRegenerable(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "pcap", name))
		if err != nil {
			t.Errorf("%s: %v (run go run ./testdata/gen)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator builds (run go run ./testdata/gen and review the diff)", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Files()
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s: two builds differ", name)
		}
	}
}
