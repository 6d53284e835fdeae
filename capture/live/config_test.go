package live

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Interfaces: []string{"eth1"}}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"two interfaces", func(c *Config) { c.Interfaces = []string{"tap0", "tap1"}; c.Sockets = 4 }, ""},
		{"no interface", func(c *Config) { c.Interfaces = nil }, "no interface"},
		{"any", func(c *Config) { c.Interfaces = []string{"any"} }, `"any"`},
		{"empty name", func(c *Config) { c.Interfaces = []string{""} }, "name a device"},
		{"duplicate", func(c *Config) { c.Interfaces = []string{"eth1", "eth1"} }, "listed twice"},
		{"fanout mode", func(c *Config) { c.Fanout = 9 }, "fanout mode 9"},
		{"group overflow", func(c *Config) { c.FanoutGroup = 0xffff; c.Interfaces = []string{"a", "b"} }, "overflows"},
		{"too many sockets", func(c *Config) { c.Sockets = 2000 }, "more than 1024"},
		{"block not page multiple", func(c *Config) { c.BlockSize = 5000 }, "page size"},
		{"frame does not divide block", func(c *Config) { c.FrameSize = 3000 }, "frame size 3000"},
		{"ring below two blocks", func(c *Config) { c.RingSize = 1 << 20 }, "fewer than 2 blocks"},
		{"block timeout below 1ms", func(c *Config) { c.BlockTimeout = time.Microsecond }, "1ms"},
		{"snaplen beyond block", func(c *Config) { c.BlockSize = 64 << 10; c.Snaplen = 65536 }, "does not fit"},
		{"snaplen too small for defrag", func(c *Config) { c.Snaplen = 1500 }, "minimum with kernel defragmentation"},
		{"small snaplen without defrag", func(c *Config) { c.Snaplen = 1500; c.NoDefrag = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Interfaces: []string{"eth1"}}.withDefaults()
	if c.Sockets != 1 || c.RingSize != DefaultRingSize || c.BlockSize != DefaultBlockSize ||
		c.FrameSize != DefaultFrameSize || c.BlockTimeout != DefaultBlockTimeout || c.Snaplen != DefaultSnaplen ||
		c.FanoutGroup != DefaultFanoutGroup || !c.defrag() {
		t.Fatalf("withDefaults() = %+v", c)
	}
	if got := c.blocks(); got != DefaultRingSize/DefaultBlockSize {
		t.Fatalf("blocks() = %d", got)
	}
}

func TestParseFanoutMode(t *testing.T) {
	for _, m := range []FanoutMode{FanoutHash, FanoutCPU, FanoutQM, FanoutLB} {
		got, err := ParseFanoutMode(strings.ToUpper(m.String()))
		if err != nil || got != m {
			t.Errorf("ParseFanoutMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	for _, bad := range []string{"", "rollover", "hash "} {
		if _, err := ParseFanoutMode(bad); err == nil {
			t.Errorf("ParseFanoutMode(%q) accepted", bad)
		}
	}
	if s := FanoutMode(7).String(); s != "fanout(7)" {
		t.Errorf("String() of an unknown mode = %q", s)
	}
}
