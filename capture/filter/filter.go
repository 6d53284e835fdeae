package filter

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"

	tdcapture "github.com/tapdlp/tapdlp/capture"
)

// LinkType is capture's link type (a pcap LINKTYPE_ value naming the frame
// format a program is compiled for): one enum for the decoder and the
// filter compiler.
type LinkType = tdcapture.LinkType

// Link types the compiler supports.
const (
	LinkEthernet = tdcapture.LinkEthernet // DLT_EN10MB
	LinkRaw      = tdcapture.LinkRaw      // LINKTYPE_RAW: frames start with the IPv4 or IPv6 header
	LinkLinuxSLL = tdcapture.LinkSLL      // Linux cooked capture v1 (16-byte header)
)

const (
	// MaxInstructions is the longest program Compile returns; it is the
	// kernel's BPF_MAXINSNS, so anything longer could not be attached.
	MaxInstructions = 4096
	// DefaultSnaplen is what an accepted packet returns when Compile is
	// given snaplen <= 0 (tcpdump's default).
	DefaultSnaplen = 262144
	// maxExprLen bounds the source text so hostile input cannot make the
	// parser build huge trees before the instruction cap is reached.
	maxExprLen = 64 << 10
	// maxDepth bounds nesting of parentheses and negations (recursion).
	maxDepth = 200
)

// ErrTooLong is wrapped by Compile's error when the program would exceed
// MaxInstructions.
var ErrTooLong = errors.New("filter: program too long")

// Error is a syntax or semantic error in a filter expression, with the
// 1-based line and column of the offending token.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	return fmt.Sprintf("filter: %d:%d: %s", e.Line, e.Col, e.Msg)
}

// Compile compiles a pcap-filter expression for frames of the given link
// type. An empty (or all-blank) expression compiles to a program that
// accepts every packet. Accepted packets return snaplen bytes (tcpdump's
// default 262144 when snaplen <= 0). The program never exceeds
// MaxInstructions and passes bpf.NewVM validation.
func Compile(expr string, linkType LinkType, snaplen int) ([]bpf.Instruction, error) {
	return CompileWith(expr, linkType, Options{Snaplen: snaplen})
}

// Options tune CompileWith. The zero value is Compile's behaviour.
type Options struct {
	// Snaplen is what an accepted packet returns; <= 0 means
	// DefaultSnaplen.
	Snaplen int
	// KernelVLAN compiles "vlan" the way tcpdump does on a live Linux
	// interface: Linux removes the outer 802.1Q/802.1ad tag from the data
	// an AF_PACKET filter sees and reports it as metadata, so the first
	// "vlan" tests that metadata (SKF_AD_VLAN_TAG_PRESENT/SKF_AD_VLAN_TAG)
	// or a tag still in the frame, and later offsets move by 4 only in
	// the latter case. Such programs need the kernel (or Matcher.MatchMeta)
	// to run: bpf.VM does not implement these loads. Ethernet only; off,
	// programs match tcpdump reading a capture file.
	KernelVLAN bool
}

// CompileWith is Compile with options.
func CompileWith(expr string, linkType LinkType, opts Options) ([]bpf.Instruction, error) {
	snaplen := opts.Snaplen
	if snaplen <= 0 || snaplen > DefaultSnaplen {
		snaplen = DefaultSnaplen
	}
	root, err := parse(expr, linkType, opts.KernelVLAN)
	if err != nil {
		return nil, err
	}
	return emitProgram(root, uint32(snaplen))
}

// CompileRaw is Compile followed by bpf.Assemble: the form SO_ATTACH_FILTER
// takes.
func CompileRaw(expr string, linkType LinkType, snaplen int) ([]bpf.RawInstruction, error) {
	prog, err := Compile(expr, linkType, snaplen)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble %q: %w", expr, err)
	}
	return raw, nil
}
