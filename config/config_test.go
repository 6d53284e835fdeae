package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultLoads(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Reassembly.Memcap != 256<<20 || c.Reassembly.InspectDepth != 1<<20 {
		t.Errorf("reassembly defaults: %+v", c.Reassembly)
	}
	if c.Flows.TCPEstablishedTimeout.D() != 5*time.Minute || c.Flows.UDPTimeout.D() != time.Minute {
		t.Errorf("flow defaults: %+v", c.Flows)
	}
	if c.Where("reassembly.memcap") == "(default)" {
		t.Errorf("default keys should have positions, got %q", c.Where("reassembly.memcap"))
	}
}

func TestOverlay(t *testing.T) {
	c, err := Parse("my.yaml", []byte("workers: 3\nreassembly:\n  memcap: 1GiB\ndecode:\n  vxlan_ports: [4790]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 3 || c.Reassembly.Memcap != 1<<30 {
		t.Errorf("overlay not applied: %+v", c)
	}
	if c.Reassembly.InspectDepth != 1<<20 {
		t.Errorf("unset key lost its default: %v", c.Reassembly.InspectDepth)
	}
	if len(c.Decode.VXLANPorts) != 1 || c.Decode.VXLANPorts[0] != 4790 {
		t.Errorf("lists replace: %v", c.Decode.VXLANPorts)
	}
	if got := c.Where("reassembly.memcap"); got != "my.yaml:3" {
		t.Errorf("Where = %q", got)
	}
}

func TestErrorsNameFileLineKey(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad size", "workers: 1\nreassembly:\n  memcap: lots\n", `config.yaml:3: reassembly.memcap: "lots" is not a size`},
		{"unknown key", "flows:\n  tcp_timeout: 5m\n", `config.yaml:2: flows.tcp_timeout: unknown key`},
		{"unknown top key", "\nworkrs: 2\n", `config.yaml:2: workrs: unknown key`},
		{"bad duration", "flows:\n  udp_timeout: soon\n", `config.yaml:2: flows.udp_timeout: "soon" is not a duration`},
		{"bad int", "workers: many\n", `config.yaml:1: workers: "many" is not an integer`},
		{"port too big", "decode:\n  vxlan_ports: [70000]\n", `config.yaml:2: decode.vxlan_ports[0]: "70000" is not a non-negative integer`},
		{"list expected", "decode:\n  vxlan_ports: 4789\n", `config.yaml:2: decode.vxlan_ports: expected a list`},
		{"mapping expected", "flows: 5\n", `config.yaml:1: flows: expected a mapping`},
		{"empty keylog file", "workers: 1\ntls:\n  keylog_files: [/a.log, \"\"]\n", `config.yaml:3: tls.keylog_files: entry 1 is empty`},
		{"keylog files not a list", "tls:\n  keylog_files: /a.log\n", `config.yaml:2: tls.keylog_files: expected a list`},
		{"keystore too big", "tls:\n  keystore_bytes: 2GiB\n", `config.yaml:2: tls.keystore_bytes: 2GiB is out of range`},
		{"duplicate", "workers: 1\nworkers: 2\n", `config.yaml:2: workers: duplicate key (first at line 1)`},
		{"syntax", "flows:\n  a: [\n", `config.yaml:2: did not find expected node content`},
		{"range", "workers: 1\ndecode:\n  tunnel_depth: 99\n", `config.yaml:3: decode.tunnel_depth: 99 is out of range`},
		{"checksum mode", "decode:\n  checksums: yes\n", `config.yaml:2: decode.checksums: "yes": want auto, on or off`},
		{"relation", "reassembly:\n  flow_memcap: 1GiB\n", `config.yaml:2: reassembly.flow_memcap: must be positive and at most reassembly.memcap`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"64k", 64 << 10, true}, {"256MiB", 256 << 20, true},
		{"1 GB", 1e9, true}, {"1.5MiB", 3 << 19, true}, {"500MB", 500e6, true},
		{"lots", 0, false}, {"-1", 0, false}, {"MiB", 0, false}, {"1 parsec", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseSize(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Default()))
	f.Add([]byte("workers: 2\nreassembly: {memcap: 1GiB}\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml") && !strings.HasPrefix(err.Error(), "(default)") {
			t.Fatalf("error without file position: %v", err)
		}
	})
}
