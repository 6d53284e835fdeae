package live

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procNet is where the network namespace's SNMP counters are read; tests
// point it elsewhere. /proc/self/net is the namespace of the reading
// process, which is the one whose AF_PACKET sockets the capture opened.
var procNet = "/proc/self/net"

// KernelReassembly is the kernel's IP reassembly counters of the
// sensor's network namespace (RFC 4293 ipSystemStats, as /proc/net/snmp
// and /proc/net/snmp6 show them). With kernel defragmentation
// (Config.NoDefrag false) every IPv4 fragment the sockets see goes through
// this reassembly first: a datagram it gives up on (its memory,
// net.ipv4.ipfrag_high_thresh, full under a fragment flood; overlapping
// fragments; ipfrag_time expired) never reaches the sensor, and these
// counters are the only trace of it. They count the whole namespace: in a
// namespace of its own the sensor's sockets are most of it.
type KernelReassembly struct {
	V4Requests, V4OKs, V4Fails, V4Timeouts uint64 // Ip: ReasmReqds, ReasmOKs, ReasmFails, ReasmTimeout
	V6Requests, V6OKs, V6Fails, V6Timeouts uint64 // Ip6ReasmReqds, Ip6ReasmOKs, Ip6ReasmFails, Ip6ReasmTimeout
}

// ReadKernelReassembly reads the reassembly counters of the current
// network namespace. What could be read is returned with the first error.
func ReadKernelReassembly() (KernelReassembly, error) {
	var k KernelReassembly
	b, err := os.ReadFile(procNet + "/snmp")
	if err == nil {
		err = parseSNMP(b, &k)
	}
	b6, err6 := os.ReadFile(procNet + "/snmp6")
	if err6 == nil {
		err6 = parseSNMP6(b6, &k)
	}
	if err := errors.Join(err, err6); err != nil {
		return k, fmt.Errorf("live: kernel reassembly counters: %w", err)
	}
	return k, nil
}

// parseSNMP reads the "Ip:" header and value lines of /proc/net/snmp.
func parseSNMP(b []byte, k *KernelReassembly) error {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = f[1:]
			continue
		}
		vals := f[1:]
		found := 0
		for i, n := range names {
			if i >= len(vals) {
				break
			}
			var dst *uint64
			switch n {
			case "ReasmReqds":
				dst = &k.V4Requests
			case "ReasmOKs":
				dst = &k.V4OKs
			case "ReasmFails":
				dst = &k.V4Fails
			case "ReasmTimeout":
				dst = &k.V4Timeouts
			default:
				continue
			}
			v, err := strconv.ParseUint(vals[i], 10, 64)
			if err != nil {
				return fmt.Errorf("snmp: Ip %s: %w", n, err)
			}
			*dst = v
			found++
		}
		if found != 4 {
			return errors.New("snmp: Ip reassembly counters missing")
		}
		return nil
	}
	return errors.New("snmp: no Ip lines")
}

// parseSNMP6 reads the "Ip6Reasm*" lines of /proc/net/snmp6.
func parseSNMP6(b []byte, k *KernelReassembly) error {
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		var dst *uint64
		switch f[0] {
		case "Ip6ReasmReqds":
			dst = &k.V6Requests
		case "Ip6ReasmOKs":
			dst = &k.V6OKs
		case "Ip6ReasmFails":
			dst = &k.V6Fails
		case "Ip6ReasmTimeout":
			dst = &k.V6Timeouts
		default:
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("snmp6: %s: %w", f[0], err)
		}
		*dst = v
		found++
	}
	if found != 4 {
		return errors.New("snmp6: reassembly counters missing")
	}
	return nil
}
