package live

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKernelReassembly(t *testing.T) {
	dir := t.TempDir()
	snmp := "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits\n" +
		"Ip: 2 64 56439 0 0 0 0 0 56439 54042 0 0 7 1200 300 42 0 0 0 54042\n" +
		"Icmp: InMsgs InErrors\nIcmp: 1 2\n"
	snmp6 := "Ip6InReceives                   \t9\nIp6ReasmTimeout                 \t3\nIp6ReasmReqds                   \t40\nIp6ReasmOKs                     \t10\nIp6ReasmFails                   \t5\n"
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("snmp", snmp)
	write("snmp6", snmp6)
	old := procNet
	procNet = dir
	t.Cleanup(func() { procNet = old })

	k, err := ReadKernelReassembly()
	if err != nil {
		t.Fatal(err)
	}
	want := KernelReassembly{V4Requests: 1200, V4OKs: 300, V4Fails: 42, V4Timeouts: 7, V6Requests: 40, V6OKs: 10, V6Fails: 5, V6Timeouts: 3}
	if k != want {
		t.Errorf("got %+v, want %+v", k, want)
	}

	write("snmp6", "Ip6InReceives 9\n") // a kernel without the IPv6 counters
	k, err = ReadKernelReassembly()
	if err == nil || !strings.Contains(err.Error(), "snmp6") || k.V4Fails != 42 {
		t.Errorf("missing IPv6 counters: %+v, %v", k, err)
	}
	write("snmp", "Ip: ReasmFails\nIp: many\n")
	if _, err := ReadKernelReassembly(); err == nil {
		t.Error("garbage accepted")
	}
}

// On a Linux machine the current namespace's counters are readable.
func TestReadKernelReassemblyLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/net/snmp"); err != nil {
		t.Skip("no /proc/self/net/snmp")
	}
	if _, err := ReadKernelReassembly(); err != nil {
		t.Fatal(err)
	}
}
