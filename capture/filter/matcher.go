package filter

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
)

// Raw opcodes of the instructions Compile emits.
const (
	opLdW   = 0x20 // ld [k]
	opLdH   = 0x28 // ldh [k]
	opLdB   = 0x30 // ldb [k]
	opLdIW  = 0x40 // ld [x+k]
	opLdIH  = 0x48 // ldh [x+k]
	opLdIB  = 0x50 // ldb [x+k]
	opLdLen = 0x80 // ld #len
	opLdImm = 0x00 // ld #k
	opLdMem = 0x60 // ld M[k]
	opLdxB  = 0xb1 // ldx 4*([k]&0xf)
	opLdxM  = 0x61 // ldx M[k]
	opSt    = 0x02 // st M[k]
	opNeg   = 0x84 // neg
	opTax   = 0x07 // tax
	opJa    = 0x05
	opJeq   = 0x15
	opJgt   = 0x25
	opJge   = 0x35
	opJset  = 0x45
	opJeqX  = 0x1d
	opJgtX  = 0x2d
	opJgeX  = 0x3d
	opJsetX = 0x4d
	opRetK  = 0x06

	clsALU   = 0x04
	srcX     = 0x08
	aluOpMsk = 0xf0

	// Ancillary loads ("ld [SKF_AD_OFF+n]") used by Options.KernelVLAN.
	extVLANTag        = 0xfffff000 + uint32(bpf.ExtVLANTag)
	extVLANTagPresent = 0xfffff000 + uint32(bpf.ExtVLANTagPresent)
)

// Meta is what the kernel knows about a packet beyond its captured bytes.
type Meta struct {
	WireLen     int    // length on the wire ("less", "greater")
	VLANPresent bool   // an outer VLAN tag was removed from the data
	VLANTCI     uint16 // that tag's TCI
}

// Matcher runs a compiled filter over frames in Go, for replay, where no
// kernel runs the program. It interprets the assembled program directly:
// several times faster than bpf.VM's interface dispatch and allocation-free.
// A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	expr string
	prog []bpf.RawInstruction
}

// NewMatcher compiles expr for linkType and prepares it for Match.
func NewMatcher(expr string, linkType LinkType) (*Matcher, error) {
	return NewMatcherWith(expr, linkType, Options{})
}

// NewMatcherWith is NewMatcher with compile options.
func NewMatcherWith(expr string, linkType LinkType, opts Options) (*Matcher, error) {
	prog, err := CompileWith(expr, linkType, opts)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble %q: %w", expr, err)
	}
	return newMatcherRaw(expr, raw)
}

// newMatcherRaw checks that prog only uses instructions the interpreter
// implements and that every jump stays inside the program, so Match needs
// no checks beyond packet bounds.
func newMatcherRaw(expr string, prog []bpf.RawInstruction) (*Matcher, error) {
	if len(prog) == 0 || len(prog) > MaxInstructions {
		return nil, fmt.Errorf("filter: program length %d out of range", len(prog))
	}
	for pc, ins := range prog {
		left := uint64(len(prog) - pc - 1)
		switch ins.Op {
		case opLdW:
			if ins.K >= 0xfffff000 && ins.K != extVLANTag && ins.K != extVLANTagPresent {
				return nil, fmt.Errorf("filter: instruction %d: ancillary load 0x%x not supported by Matcher", pc, ins.K)
			}
		case opLdH, opLdB, opLdIW, opLdIH, opLdIB, opLdLen, opLdImm, opLdxB, opNeg, opTax:
		case opLdMem, opLdxM, opSt:
			if ins.K >= 16 {
				return nil, fmt.Errorf("filter: instruction %d: scratch slot %d out of range", pc, ins.K)
			}
		case clsALU | uint16(bpf.ALUOpAdd), clsALU | uint16(bpf.ALUOpSub), clsALU | uint16(bpf.ALUOpMul),
			clsALU | uint16(bpf.ALUOpOr), clsALU | uint16(bpf.ALUOpAnd), clsALU | uint16(bpf.ALUOpShiftLeft),
			clsALU | uint16(bpf.ALUOpShiftRight), clsALU | uint16(bpf.ALUOpXor),
			clsALU | srcX | uint16(bpf.ALUOpAdd), clsALU | srcX | uint16(bpf.ALUOpSub), clsALU | srcX | uint16(bpf.ALUOpMul),
			clsALU | srcX | uint16(bpf.ALUOpDiv), clsALU | srcX | uint16(bpf.ALUOpMod), clsALU | srcX | uint16(bpf.ALUOpOr),
			clsALU | srcX | uint16(bpf.ALUOpAnd), clsALU | srcX | uint16(bpf.ALUOpShiftLeft),
			clsALU | srcX | uint16(bpf.ALUOpShiftRight), clsALU | srcX | uint16(bpf.ALUOpXor):
		case clsALU | uint16(bpf.ALUOpDiv), clsALU | uint16(bpf.ALUOpMod):
			if ins.K == 0 {
				return nil, fmt.Errorf("filter: instruction %d divides by zero", pc)
			}
		case opJa:
			if uint64(ins.K) >= left {
				return nil, fmt.Errorf("filter: instruction %d jumps out of the program", pc)
			}
		case opJeq, opJgt, opJge, opJset, opJeqX, opJgtX, opJgeX, opJsetX:
			if uint64(ins.Jt) >= left || uint64(ins.Jf) >= left {
				return nil, fmt.Errorf("filter: instruction %d jumps out of the program", pc)
			}
		case opRetK:
		default:
			return nil, fmt.Errorf("filter: instruction %d: opcode 0x%x not supported by Matcher", pc, ins.Op)
		}
	}
	if prog[len(prog)-1].Op != opRetK {
		return nil, fmt.Errorf("filter: program does not end with ret")
	}
	return &Matcher{expr: expr, prog: prog}, nil
}

// String returns the filter expression.
func (m *Matcher) String() string { return m.expr }

// Match reports whether the filter accepts frame, taking its length as the
// wire length.
func (m *Matcher) Match(frame []byte) bool {
	return m.MatchMeta(frame, Meta{WireLen: len(frame)})
}

// MatchLen reports whether the filter accepts frame, a capture of a packet
// of wireLen bytes ("less" and "greater" test the wire length, as in
// tcpdump). A load past the captured bytes rejects the packet, as the
// kernel and libpcap do.
func (m *Matcher) MatchLen(frame []byte, wireLen int) bool {
	return m.MatchMeta(frame, Meta{WireLen: wireLen})
}

// MatchMeta reports whether the filter accepts frame given the kernel's
// view of it: what a KernelVLAN program sees on an AF_PACKET socket.
func (m *Matcher) MatchMeta(frame []byte, meta Meta) bool {
	var a, x uint32
	var mem [16]uint32
	prog := m.prog
	n := uint64(len(frame))
	for pc := 0; pc < len(prog); pc++ {
		ins := &prog[pc]
		switch ins.Op {
		case opLdW, opLdIW:
			if ins.Op == opLdW && ins.K >= 0xfffff000 {
				switch {
				case ins.K == extVLANTag:
					a = uint32(meta.VLANTCI)
				case meta.VLANPresent:
					a = 1
				default:
					a = 0
				}
				continue
			}
			off := uint64(ins.K)
			if ins.Op == opLdIW {
				off += uint64(x)
			}
			if off+4 > n {
				return false
			}
			a = binary.BigEndian.Uint32(frame[off:])
		case opLdH, opLdIH:
			off := uint64(ins.K)
			if ins.Op == opLdIH {
				off += uint64(x)
			}
			if off+2 > n {
				return false
			}
			a = uint32(binary.BigEndian.Uint16(frame[off:]))
		case opLdB, opLdIB:
			off := uint64(ins.K)
			if ins.Op == opLdIB {
				off += uint64(x)
			}
			if off+1 > n {
				return false
			}
			a = uint32(frame[off])
		case opLdLen:
			a = uint32(meta.WireLen)
		case opLdImm:
			a = ins.K
		case opLdMem:
			a = mem[ins.K]
		case opLdxM:
			x = mem[ins.K]
		case opSt:
			mem[ins.K] = a
		case opLdxB:
			if uint64(ins.K) >= n {
				return false
			}
			x = 4 * uint32(frame[ins.K]&0xf)
		case opTax:
			x = a
		case opNeg:
			a = -a
		case opJa:
			pc += int(ins.K)
		case opJeq:
			pc += jump(a == ins.K, ins)
		case opJgt:
			pc += jump(a > ins.K, ins)
		case opJge:
			pc += jump(a >= ins.K, ins)
		case opJset:
			pc += jump(a&ins.K != 0, ins)
		case opJeqX:
			pc += jump(a == x, ins)
		case opJgtX:
			pc += jump(a > x, ins)
		case opJgeX:
			pc += jump(a >= x, ins)
		case opJsetX:
			pc += jump(a&x != 0, ins)
		case opRetK:
			return ins.K != 0
		default: // ALU; newMatcherRaw admitted only known operations
			v := ins.K
			if ins.Op&srcX != 0 {
				v = x
			}
			var ok bool
			if a, ok = alu(bpf.ALUOp(ins.Op&aluOpMsk), a, v); !ok {
				return false
			}
		}
	}
	return false
}

// alu applies op like bpf.VM does: shifts of 32 or more give 0 and a
// division by zero rejects the packet.
func alu(op bpf.ALUOp, a, v uint32) (uint32, bool) {
	switch op {
	case bpf.ALUOpAdd:
		return a + v, true
	case bpf.ALUOpSub:
		return a - v, true
	case bpf.ALUOpMul:
		return a * v, true
	case bpf.ALUOpDiv:
		if v == 0 {
			return 0, false
		}
		return a / v, true
	case bpf.ALUOpMod:
		if v == 0 {
			return 0, false
		}
		return a % v, true
	case bpf.ALUOpOr:
		return a | v, true
	case bpf.ALUOpAnd:
		return a & v, true
	case bpf.ALUOpShiftLeft:
		return a << v, true
	case bpf.ALUOpShiftRight:
		return a >> v, true
	case bpf.ALUOpXor:
		return a ^ v, true
	}
	return 0, false
}

func jump(cond bool, ins *bpf.RawInstruction) int {
	if cond {
		return int(ins.Jt)
	}
	return int(ins.Jf)
}
