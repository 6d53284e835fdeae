package sensor

import (
	"os"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/record"
)

func TestIdentity(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		name   string
		sensor string
		ifaces []string
		files  []string
		want   record.Sensor
	}{
		{"replay without a name leaves it out", "", nil, []string{"/x/a.pcap"}, record.Sensor{}},
		{"replay with a name", "edge-1", nil, []string{"/x/a.pcap"}, record.Sensor{Name: "edge-1", Host: host, Interface: "a.pcap"}},
		{"replay of several files names no file", "edge-1", nil, []string{"a.pcap", "b.pcap"}, record.Sensor{Name: "edge-1", Host: host}},
		{"live always", "", []string{"eth0", "eth1"}, nil, record.Sensor{Host: host, Interface: "eth0,eth1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Config{}
			c.Sensor.Name = tt.sensor
			c.Capture.Interfaces = tt.ifaces
			s := &Sensor{cfg: Config{Config: c, Files: tt.files}}
			if got := s.identity(); got != tt.want {
				t.Errorf("identity() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
