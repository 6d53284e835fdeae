package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr string
		lt   LinkType
		want string
	}{
		{"tcp port", LinkEthernet, "filter: 1:9: unexpected end of expression"},
		{"host 1.2.3.4 foo", LinkEthernet, `filter: 1:14: unexpected "foo"`},
		{"host foo", LinkEthernet, `filter: 1:6: host names are not supported ("foo")`},
		{"host 10.0.0.1 or bar", LinkEthernet, `filter: 1:18: host names are not supported ("bar")`},
		{"port http", LinkEthernet, `filter: 1:6: port names are not supported ("http")`},
		{"ip proto \\tcp", LinkEthernet, `filter: 1:10: protocol names are not supported ("tcp")`},
		{"len", LinkEthernet, `filter: 1:4: expected a comparison (=, !=, <, <=, >, >=), got ""`},
		{"tcp[13:3] = 1", LinkEthernet, "filter: 1:8: data size must be 1, 2, or 4"},
		{"tcp[0] / 0 = 1", LinkEthernet, "filter: 1:8: division by zero"},
		{"ip[0] % (1 - 1) = 1", LinkEthernet, "filter: 1:7: division by zero"},
		{"-ip[0] = 1", LinkEthernet, "filter: 1:1: unary minus is not supported"},
		{"vlan and tcp[13] = 2", LinkEthernet, ""},
		{"tcp[0", LinkEthernet, "filter: 1:6: unexpected end of expression"},
		{"ip[0] =", LinkEthernet, "filter: 1:8: unexpected end of expression"},
		{"ip[0] + 1", LinkEthernet, `filter: 1:10: expected a comparison`},
		{"ip[0] = = 1", LinkEthernet, `filter: 1:9: unexpected "="`},
		{"foo[0] = 1", LinkEthernet, `filter: 1:1: unexpected "foo"`},
		{strings.Repeat("ip[0] + (", 20) + "ip[0]" + strings.Repeat(")", 20) + " = 1", LinkEthernet, "arithmetic expression too complex"},
		{strings.Repeat("ip[0] + ", 20) + "ip[0] = 1", LinkEthernet, ""},
		{"ip[" + strings.Repeat("ip[", 20) + "0" + strings.Repeat("]", 21) + " = 1", LinkEthernet, ""},
		{"(tcp", LinkEthernet, "filter: 1:5: unexpected end of expression"},
		{"tcp)", LinkEthernet, `filter: 1:4: unexpected ")"`},
		{"and tcp", LinkEthernet, `filter: 1:1: unexpected "and"`},
		{"tcp and", LinkEthernet, "filter: 1:8: unexpected end of expression"},
		{"broadcast", LinkEthernet, `filter: 1:1: "broadcast" is not supported`},
		{"gateway 10.0.0.1", LinkEthernet, "filter: 1:1: gateway is not supported"},
		{"10.0.0.1", LinkEthernet, `filter: 1:1: unexpected "10.0.0.1": a qualifier such as host, net or port must come first`},
		{"tcp or 80", LinkEthernet, `filter: 1:8: "80" has no qualifier to reuse`},
		{"tcp host 10.0.0.1", LinkEthernet, "filter: 1:10: 'tcp' modifier applied to host"},
		{"ip host ::1", LinkEthernet, "filter: 1:9: 'ip' modifier applied to ip6 host"},
		{"ip6 host 10.0.0.1", LinkEthernet, "filter: 1:10: 'ip6' modifier applied to ip host"},
		{"ip port 80", LinkEthernet, "filter: 1:9: illegal qualifier of 'port'"},
		{"port 70000", LinkEthernet, "filter: 1:6: illegal port number 70000 > 65535"},
		{"vlan 4096", LinkEthernet, "filter: 1:1: VLAN tag 4096 greater than maximum 4095"},
		{"vlan", LinkRaw, "filter: 1:1: no VLAN support for RAW"},
		{"vlan 10", LinkLinuxSLL, "filter: 1:1: no VLAN support for LINUX_SLL"},
		{"ether host 1:2:3:4:5:6", LinkRaw, "filter: 1:12: ethernet addresses supported only on"},
		{"host 1:2:3:4:5:6", LinkEthernet, "filter: 1:6: ethernet address used in non-ether expression"},
		{"net 10.1.2.3/8", LinkEthernet, `filter: 1:5: non-network bits set in "10.1.2.3/8"`},
		{"net 10.0.0.0/33", LinkEthernet, "filter: 1:5: mask length must be <= 32"},
		{"net 2001:db8::1/32", LinkEthernet, `filter: 1:5: non-network bits set in "2001:db8::1/32"`},
		{"net ::/129", LinkEthernet, "filter: 1:8: mask length must be <= 128"},
		{"src 10.0.0.0/8", LinkEthernet, "filter: 1:5: Mask syntax for networks only"},
		{"host 1.2.3.4.5", LinkEthernet, `filter: 1:6: host names are not supported ("1.2.3.4.5")`},
		{"host fe80::1%eth0", LinkEthernet, `filter: 1:13: unexpected "%"`},
		{"host 2001:db8:::1", LinkEthernet, `filter: 1:6: invalid IPv6 address "2001:db8:::1"`},
		{"port 99999999999", LinkEthernet, "filter: 1:6: number 99999999999 overflows 32 bits"},
		{"port 09", LinkEthernet, `filter: 1:6: invalid number "09"`},
		{"portrange 80", LinkEthernet, ""},
		{"port 1-2", LinkEthernet, `filter: 1:6: port range "1-2" used without portrange`},
		{"ether proto 0x06", LinkEthernet, "filter: 1:13: ether proto 0x6 is not supported"},
		{"ether", LinkEthernet, "filter: 1:1: link layer applied in wrong context"},
		{"less", LinkEthernet, `filter: 1:5: less needs a number, got ""`},
		{"tcp and\n  bogus", LinkEthernet, `filter: 2:3: "bogus" has no qualifier to reuse`},
		{"tcp ünï", LinkEthernet, `filter: 1:5: unexpected character 'ü'`},
		{strings.Repeat("(", 300) + "tcp" + strings.Repeat(")", 300), LinkEthernet, "nested too deeply"},
		{strings.Repeat("not ", 300) + "tcp", LinkEthernet, "nested too deeply"},
		{strings.Repeat(" ", maxExprLen+1), LinkEthernet, "expression too long"},
		{"tcp", LinkType(9999), "unsupported link type 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.expr[:min(len(tt.expr), 40)], func(t *testing.T) {
			prog, err := Compile(tt.expr, tt.lt, 0)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("compiled to %d instructions, want error %q", len(prog), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestErrorCarriesPosition(t *testing.T) {
	_, err := Compile("tcp and\n  host foo", LinkEthernet, 0)
	var fe *Error
	if !errors.As(err, &fe) || fe.Line != 2 || fe.Col != 8 {
		t.Fatalf("got %#v, want *Error at 2:8", err)
	}
}

func TestEmptyAcceptsAll(t *testing.T) {
	for _, expr := range []string{"", "  \n\t "} {
		for _, lt := range []LinkType{LinkEthernet, LinkLinuxSLL, LinkRaw} {
			prog, err := Compile(expr, lt, 1500)
			if err != nil {
				t.Fatal(err)
			}
			want := []bpf.Instruction{bpf.RetConstant{Val: 1500}}
			if !reflect.DeepEqual(prog, want) {
				t.Fatalf("%q: got %v, want %v", expr, prog, want)
			}
		}
	}
}

func TestSnaplen(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, DefaultSnaplen}, {-1, DefaultSnaplen}, {96, 96}, {1 << 30, DefaultSnaplen}} {
		prog, err := Compile("tcp", LinkEthernet, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		accept := prog[len(prog)-2].(bpf.RetConstant)
		if int(accept.Val) != tt.want {
			t.Errorf("snaplen %d: accept returns %d, want %d", tt.in, accept.Val, tt.want)
		}
	}
}

// TestAbbreviation checks tcpdump's rule that an id after and/or reuses the
// previous qualifiers, by comparing with the spelled-out expression.
func TestAbbreviation(t *testing.T) {
	tests := []struct{ short, long string }{
		{"host 10.0.0.1 or 10.0.0.2", "host 10.0.0.1 or host 10.0.0.2"},
		{"tcp dst port 80 or 443", "tcp dst port 80 or tcp dst port 443"},
		{"src net 10.0.0.0/8 and not 10.1.0.0/16", "src net 10.0.0.0/8 and not src net 10.1.0.0/16"},
		{"host 10.0.0.1 and (10.0.0.2 or 10.0.0.3)", "host 10.0.0.1 and (host 10.0.0.2 or host 10.0.0.3)"},
		{"port (80 or 443)", "port 80 or port 443"},
		{"ether src 1:2:3:4:5:6 or 7:8:9:a:b:c", "ether src 1:2:3:4:5:6 or ether src 7:8:9:a:b:c"},
		{"ip6 host ::1 or ::2", "ip6 host ::1 or ip6 host ::2"},
	}
	for _, tt := range tests {
		a, err := Compile(tt.short, LinkEthernet, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Compile(tt.long, LinkEthernet, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%q and %q compile differently", tt.short, tt.long)
		}
	}
}

// TestLongJumps checks that a program whose tests sit more than 255
// instructions from their targets is laid out with ja trampolines and stays
// valid; the same expressions are checked against tcpdump in exprs.txt.
func TestLongJumps(t *testing.T) {
	expr := "host 10.0.0.1 and (port 1 or 2 or 3 or 4 or 5 or 6 or 7 or 8 or 9 or 10 or 11 or 12 or 80) or vlan and (port 1 or 2 or 3 or 4 or 5 or 6 or 7 or 8 or 80)"
	prog, err := Compile(expr, LinkEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 300 {
		t.Fatalf("program has %d instructions: too short to need long jumps", len(prog))
	}
	trampolines := 0
	for _, ins := range prog {
		if _, ok := ins.(bpf.Jump); ok {
			trampolines++
		}
	}
	if trampolines == 0 {
		t.Fatal("no ja trampoline in a program with far targets")
	}
	if _, err := bpf.NewVM(prog); err != nil {
		t.Fatalf("bpf.NewVM: %v", err)
	}
}

func TestTooLong(t *testing.T) {
	parts := make([]string, 200)
	for i := range parts {
		parts[i] = "port " + string(rune('1'+i%9))
	}
	_, err := Compile(strings.Join(parts, " or "), LinkEthernet, 0)
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("got %v, want ErrTooLong", err)
	}
}

func TestCompileRaw(t *testing.T) {
	raw, err := CompileRaw("tcp port 80", LinkEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	prog, _ := Compile("tcp port 80", LinkEthernet, 0)
	if len(raw) != len(prog) {
		t.Fatalf("raw has %d instructions, program %d", len(raw), len(prog))
	}
	back, allDecoded := bpf.Disassemble(raw)
	if !allDecoded || len(back) != len(prog) {
		t.Fatal("raw program does not disassemble")
	}
	if _, err := CompileRaw("host foo", LinkEthernet, 0); err == nil {
		t.Fatal("CompileRaw accepted a bad expression")
	}
}
