package filter

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// stripOuterVLAN does what Linux does before an AF_PACKET filter runs: it
// moves an outer 802.1Q or 802.1ad tag out of the frame into metadata.
func stripOuterVLAN(f []byte) ([]byte, Meta, bool) {
	if len(f) < 18 {
		return nil, Meta{}, false
	}
	tpid := binary.BigEndian.Uint16(f[12:])
	if tpid != ether8021Q && tpid != ether8021AD {
		return nil, Meta{}, false
	}
	out := append(append([]byte{}, f[:12]...), f[16:]...)
	return out, Meta{WireLen: len(out), VLANPresent: true, VLANTCI: binary.BigEndian.Uint16(f[14:])}, true
}

// TestKernelVLANWithoutTag checks that when the kernel reports no VLAN tag
// a KernelVLAN program selects exactly what the offline program selects,
// for every corpus expression and capture (tags left in the data included).
func TestKernelVLANWithoutTag(t *testing.T) {
	var pairs int
	for _, c := range loadCaptures(t) {
		if c.lt != LinkEthernet {
			continue
		}
		for _, e := range loadExprs(t) {
			off, err := NewMatcher(e, c.lt)
			if err != nil {
				continue
			}
			live, err := NewMatcherWith(e, c.lt, Options{KernelVLAN: true})
			if err != nil && strings.Contains(err.Error(), "not supported with KernelVLAN") {
				continue
			}
			if err != nil {
				t.Fatalf("%q: offline compiles but KernelVLAN fails: %v", e, err)
			}
			for i, f := range c.frames {
				if a, b := off.MatchLen(f.data, f.wire), live.MatchMeta(f.data, Meta{WireLen: f.wire}); a != b {
					t.Errorf("%q on %s packet %d: offline %v, KernelVLAN without tag %v", e, c.name, i, a, b)
				}
			}
			pairs++
		}
	}
	t.Logf("%d expression/capture pairs agree", pairs)
}

// TestKernelVLANStripped checks that a KernelVLAN program run on frames
// whose outer tag the kernel removed selects what tcpdump selects on the
// original frames.
func TestKernelVLANStripped(t *testing.T) {
	exprs := []string{
		"vlan", "vlan 100", "vlan 200", "vlan 10", "vlan and ip", "vlan and tcp port 80",
		"vlan 100 and tcp", "vlan and vlan", "vlan and vlan 100", "vlan 10 and vlan 100 and tcp port 80",
		"vlan and host 10.0.0.1", "vlan and ip6", "vlan and udp port 53", "vlan and arp", "not vlan",
		"vlan and ether src 00:11:22:33:44:55", "vlan 100 and vlan 200 and ip6 and port 80",
		"vlan and net 10.0.0.0/8 and not port 22", "ip", "tcp port 80 or udp",
	}
	var tagged int
	caps := loadCaptures(t)
	for _, e := range exprs {
		off, err := NewMatcher(e, LinkEthernet)
		if err != nil {
			t.Fatal(err)
		}
		live, err := NewMatcherWith(e, LinkEthernet, Options{KernelVLAN: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range caps {
			if c.lt != LinkEthernet {
				continue
			}
			for i, f := range c.frames {
				stripped, meta, ok := stripOuterVLAN(f.data)
				if !ok || len(f.data) != f.wire {
					continue
				}
				want := off.Match(f.data)
				hasVLAN := e != "ip" && e != "tcp port 80 or udp"
				if !hasVLAN {
					// Without "vlan", offsets are fixed: the stripped
					// frame is filtered as if it had never been tagged.
					want = off.Match(stripped)
				}
				if got := live.MatchMeta(stripped, meta); got != want {
					t.Errorf("%q on %s packet %d (tci %d): KernelVLAN %v, want %v", e, c.name, i, meta.VLANTCI, got, want)
				}
				tagged++
			}
		}
	}
	if tagged == 0 {
		t.Fatal("no tagged frames in the corpus")
	}
	t.Logf("%d expressions x tagged frames: %d verdicts agree", len(exprs), tagged)
}

func TestKernelVLANProgram(t *testing.T) {
	prog, err := CompileWith("vlan 100 and tcp port 80", LinkEthernet, Options{KernelVLAN: true})
	if err != nil {
		t.Fatal(err)
	}
	var present, tci bool
	for _, ins := range prog {
		if le, ok := ins.(bpf.LoadExtension); ok {
			present = present || le.Num == bpf.ExtVLANTagPresent
			tci = tci || le.Num == bpf.ExtVLANTag
		}
	}
	if !present || !tci {
		t.Fatal("KernelVLAN program does not read the VLAN metadata")
	}
	if _, err := bpf.Assemble(prog); err != nil {
		t.Fatal(err)
	}
	// Only Ethernet has VLANs; the option changes nothing elsewhere.
	if _, err := CompileWith("vlan", LinkRaw, Options{KernelVLAN: true}); err == nil {
		t.Fatal("vlan accepted on raw IP")
	}
}
