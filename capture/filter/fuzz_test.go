package filter

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// FuzzCompile feeds arbitrary expressions and frames: compiling never
// panics, every program it returns is valid for bpf.NewVM and the kernel
// (at most MaxInstructions, jumps in range, ends with ret), and the Matcher
// agrees with bpf.VM on the frame.
func FuzzCompile(f *testing.F) {
	if data, err := os.ReadFile("testdata/exprs.txt"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				f.Add(line, []byte{})
			}
		}
	}
	for _, fr := range mixedEthernet(f)[:12] {
		f.Add("vlan and tcp port 80 or ip6 net 2001:db8::/32", fr.data)
	}
	f.Add("((((", []byte{0x45})
	f.Add("host 1.2.3.4 and not ( 5.6.7.8 or", []byte(nil))
	f.Add("portrange 65535-0", []byte(nil))
	f.Add("\\", []byte(nil))
	f.Fuzz(func(t *testing.T, expr string, frame []byte) {
		for _, lt := range []LinkType{LinkEthernet, LinkLinuxSLL, LinkRaw} {
			prog, err := Compile(expr, lt, 0)
			if err != nil {
				continue
			}
			if len(prog) == 0 || len(prog) > MaxInstructions {
				t.Fatalf("%q: %d instructions", expr, len(prog))
			}
			vm, err := bpf.NewVM(prog)
			if err != nil {
				t.Fatalf("%q: bpf.NewVM: %v", expr, err)
			}
			raw, err := bpf.Assemble(prog)
			if err != nil {
				t.Fatalf("%q: assemble: %v", expr, err)
			}
			m, err := newMatcherRaw(expr, raw)
			if err != nil {
				t.Fatalf("%q: matcher: %v", expr, err)
			}
			n, err := vm.Run(frame)
			if err != nil {
				t.Fatalf("%q: vm: %v", expr, err)
			}
			if got := m.Match(frame); got != (n > 0) {
				t.Fatalf("%q on %x: Matcher %v, bpf.VM %v", expr, frame, got, n > 0)
			}
			if lt != LinkEthernet {
				continue
			}
			// KernelVLAN programs only differ in how they read VLAN tags;
			// with no tag reported they must agree with the offline one.
			live, err := NewMatcherWith(expr, lt, Options{KernelVLAN: true})
			if err != nil && strings.Contains(err.Error(), "not supported with KernelVLAN") {
				continue
			}
			if err != nil {
				t.Fatalf("%q: offline compiles, KernelVLAN fails: %v", expr, err)
			}
			if got := live.MatchMeta(frame, Meta{WireLen: len(frame)}); got != (n > 0) {
				t.Fatalf("%q on %x: KernelVLAN without tag %v, offline %v", expr, frame, got, n > 0)
			}
			live.MatchMeta(frame, Meta{WireLen: len(frame), VLANPresent: true, VLANTCI: 100})
		}
	})
}
