package live

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/filter"
)

func TestInterfaceLinkType(t *testing.T) {
	dir := t.TempDir()
	for name, typ := range map[string]string{
		"eth0": "1\n", "lo": "772\n", "tun0": "65534\n", "sit1": "776\n", "can0": "280\n", "weird": "ether\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "type"), []byte(typ), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := sysClassNet
	sysClassNet = dir
	t.Cleanup(func() { sysClassNet = old })
	tests := []struct {
		iface string
		want  capture.LinkType
		err   string
	}{
		{"eth0", capture.LinkEthernet, ""},
		{"lo", capture.LinkEthernet, ""},
		{"tun0", capture.LinkRaw, ""},
		{"sit1", capture.LinkRaw, ""},
		{"can0", 0, "hardware type 280 not supported"},
		{"weird", 0, `hardware type "ether"`},
		{"missing", 0, "does not exist"},
		{"../eth0", 0, "invalid name"},
		{"..", 0, "invalid name"},
	}
	for _, tt := range tests {
		got, err := interfaceLinkType(tt.iface)
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("interfaceLinkType(%q) = %v, %v; want %v", tt.iface, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("interfaceLinkType(%q) error = %v, want %q", tt.iface, err, tt.err)
		}
	}
}

func TestCompileFilter(t *testing.T) {
	tests := []struct {
		expr string
		link capture.LinkType
		ok   bool
	}{
		{"", capture.LinkEthernet, true},
		{"not port 22", capture.LinkEthernet, true},
		{"vlan 100 and tcp", capture.LinkEthernet, true},
		{"udp port 53", capture.LinkRaw, true},
		{"port", capture.LinkEthernet, false},
		{"host example.com", capture.LinkEthernet, false},
		{"tcp", capture.LinkSLL2, false},
	}
	for _, tt := range tests {
		err := CompileFilter(tt.expr, tt.link)
		if (err == nil) != tt.ok {
			t.Errorf("CompileFilter(%q, %d) = %v, want ok=%v", tt.expr, tt.link, err, tt.ok)
		}
	}
	var fe *filter.Error
	if err := CompileFilter("tcp and (", capture.LinkEthernet); !errors.As(err, &fe) {
		t.Errorf("a syntax error is %T (%v), want a *filter.Error with a position", err, err)
	}
}

// TestSnaplenProgram checks that the attached program returns the snaplen:
// that is how the kernel enforces it.
func TestSnaplenProgram(t *testing.T) {
	raw, err := compileFilter("", capture.LinkEthernet, 9216)
	if err != nil {
		t.Fatal(err)
	}
	last := raw[len(raw)-1]
	if last.K != 9216 {
		t.Fatalf("accept returns %d, want the snaplen 9216 (program %v)", last.K, raw)
	}
}
