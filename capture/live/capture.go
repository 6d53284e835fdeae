package live

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/filter"
)

// Capture is the set of sockets of one live capture: Config.Sockets sockets
// on each interface, socket i of every interface holding position i in that
// interface's fanout group. The kernel's symmetric hash maps a flow to the
// same position in every group, so with FanoutHash the two halves of a flow
// seen on two tap ports reach sockets of the same index.
type Capture struct {
	cfg   Config
	socks [][]*Socket // [index][interface]
}

// Open validates cfg, compiles its filter and opens every socket. It needs
// CAP_NET_RAW only (promiscuous mode and fanout need no CAP_NET_ADMIN, as measured by e2e/setcap_test.go); once it returns, the
// sockets keep working without them (see DropPrivileges).
func Open(cfg Config) (*Capture, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Capture{cfg: cfg, socks: make([][]*Socket, cfg.Sockets)}
	for j, iface := range cfg.Interfaces {
		link, err := interfaceLinkType(iface)
		if err != nil {
			c.Close()
			return nil, err
		}
		prog, err := compileFilter(cfg.Filter, link, cfg.Snaplen)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("live: %s: %w", iface, err)
		}
		for i := range cfg.Sockets {
			s, err := openSocket(cfg, iface, cfg.FanoutGroup+uint16(j), i, link, prog)
			if err != nil {
				c.Close()
				return nil, err
			}
			c.socks[i] = append(c.socks[i], s)
		}
	}
	return c, nil
}

// CompileFilter checks a tcpdump-syntax filter for the given link type the
// way Open will, so a bad expression is reported before anything opens.
func CompileFilter(expr string, link capture.LinkType) error {
	_, err := compileFilter(expr, link, DefaultSnaplen)
	return err
}

func compileFilter(expr string, link capture.LinkType, snaplen int) ([]bpf.RawInstruction, error) {
	var fl filter.LinkType
	switch link {
	case capture.LinkEthernet:
		fl = filter.LinkEthernet
	case capture.LinkRaw:
		fl = filter.LinkRaw
	default:
		return nil, fmt.Errorf("capture filter: link type %d not supported", link)
	}
	// KernelVLAN: on a live socket the kernel has removed the outer tag
	// before the filter runs, and "vlan" must test the metadata instead.
	prog, err := filter.CompileWith(expr, fl, filter.Options{Snaplen: snaplen, KernelVLAN: fl == filter.LinkEthernet})
	if err != nil {
		return nil, fmt.Errorf("capture filter %q: %w", expr, err)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("capture filter %q: assemble: %w", expr, err)
	}
	return raw, nil
}

// ARPHRD_* values (include/uapi/linux/if_arp.h) of the devices whose
// AF_PACKET frames tapdlp can decode.
const (
	arphrdEther    = 1
	arphrdLoopback = 772   // Ethernet headers with zero addresses
	arphrdNone     = 65534 // tun, wireguard: frames start with the IP header
	arphrdIPIP     = 768
	arphrdTunnel6  = 769
	arphrdSIT      = 776
)

// sysClassNet is where interface types are read; tests point it elsewhere.
var sysClassNet = "/sys/class/net"

// interfaceLinkType maps the device's hardware type to the link type of the
// frames a SOCK_RAW packet socket returns on it.
func interfaceLinkType(iface string) (capture.LinkType, error) {
	if strings.ContainsAny(iface, "/\x00") || iface == "." || iface == ".." {
		return 0, fmt.Errorf("live: interface %q: invalid name", iface)
	}
	b, err := os.ReadFile(sysClassNet + "/" + iface + "/type")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("live: interface %q does not exist", iface)
		}
		return 0, fmt.Errorf("live: interface %q: %w", iface, err)
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("live: interface %q: hardware type %q: %w", iface, strings.TrimSpace(string(b)), err)
	}
	switch t {
	case arphrdEther, arphrdLoopback:
		return capture.LinkEthernet, nil
	case arphrdNone, arphrdIPIP, arphrdTunnel6, arphrdSIT:
		return capture.LinkRaw, nil
	}
	return 0, fmt.Errorf("live: interface %q: hardware type %d not supported (Ethernet and IP-only devices are)", iface, t)
}

// Config returns the configuration in effect (defaults filled in).
func (c *Capture) Config() Config { return c.cfg }

// Sockets returns socket index i of every interface, in Config.Interfaces
// order. The slice is shared; do not modify it.
func (c *Capture) Sockets(i int) []*Socket { return c.socks[i] }

// All returns every socket, index-major.
func (c *Capture) All() []*Socket {
	var all []*Socket
	for _, row := range c.socks {
		all = append(all, row...)
	}
	return all
}

// Stats are the kernel counters of every socket and their totals, and the
// kernel's IP reassembly counters of the capture's network namespace.
type Stats struct {
	Packets, Drops, Freezes, Stale uint64
	Sockets                        []SocketStats
	Reassembly                     KernelReassembly
}

// Stats reads every socket's counters (see Socket.Stats) and the kernel's
// reassembly counters (see KernelReassembly). It returns what it could
// read together with the first error.
func (c *Capture) Stats() (Stats, error) {
	var st Stats
	var first error
	st.Reassembly, first = ReadKernelReassembly()
	for _, s := range c.All() {
		ss, err := s.Stats()
		if err != nil && first == nil {
			first = err
		}
		st.Packets += ss.Packets
		st.Drops += ss.Drops
		st.Freezes += ss.Freezes
		st.Stale += ss.Stale
		st.Sockets = append(st.Sockets, ss)
	}
	return st, first
}

// Close closes every socket. Readers must have stopped calling Next.
func (c *Capture) Close() {
	for _, row := range c.socks {
		for _, s := range row {
			if s != nil {
				s.Close()
			}
		}
	}
}
