package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// emitter lays out a test tree as straight-line BPF. Classic BPF only jumps
// forward, so the program is built backwards from its two return
// instructions: when a test is emitted, both of its targets already exist
// and their distances are known. A conditional jump reaches at most 255
// instructions; a farther target gets an unconditional "ja" trampoline
// (32-bit offset) placed right after the test.
type emitter struct {
	rev []bpf.Instruction // the program, last instruction first
	err error
}

// emitProgram compiles a tree into a program that returns snaplen for
// accepted packets and 0 otherwise.
func emitProgram(root *node, snaplen uint32) ([]bpf.Instruction, error) {
	switch root.kind {
	case nTrue:
		return []bpf.Instruction{bpf.RetConstant{Val: snaplen}}, nil
	case nFalse:
		return []bpf.Instruction{bpf.RetConstant{Val: 0}}, nil
	}
	e := &emitter{rev: make([]bpf.Instruction, 0, 64)}
	e.push(bpf.RetConstant{Val: 0})       // index 0: reject
	e.push(bpf.RetConstant{Val: snaplen}) // index 1: accept
	entry := e.emit(root, 1, 0)
	if e.err == nil && entry != len(e.rev)-1 {
		e.push(bpf.Jump{Skip: uint32(len(e.rev) - entry - 1)})
	}
	if e.err != nil {
		return nil, e.err
	}
	prog := make([]bpf.Instruction, len(e.rev))
	for i, ins := range e.rev {
		prog[len(prog)-1-i] = ins
	}
	return prog, nil
}

func (e *emitter) push(ins bpf.Instruction) {
	if len(e.rev) >= MaxInstructions {
		if e.err == nil {
			e.err = fmt.Errorf("%w (more than %d instructions)", ErrTooLong, MaxInstructions)
		}
		return
	}
	e.rev = append(e.rev, ins)
}

// emit places the code of n so that it continues at t when n holds and at f
// otherwise (both reverse indexes), and returns n's entry point.
func (e *emitter) emit(n *node, t, f int) int {
	if e.err != nil {
		return t
	}
	switch n.kind {
	case nTrue:
		return t
	case nFalse:
		return f
	case nNot:
		return e.emit(n.l, f, t)
	case nAnd:
		return e.emit(n.l, e.emit(n.r, t, f), f)
	case nOr:
		return e.emit(n.l, t, e.emit(n.r, t, f))
	}
	if t == f {
		return t // tests have no side effects: both outcomes go the same way
	}
	for e.err == nil {
		j := len(e.rev) // where the conditional jump will land
		switch {
		case j-t-1 > 255:
			e.push(bpf.Jump{Skip: uint32(j - t - 1)})
			t = len(e.rev) - 1
		case j-f-1 > 255:
			e.push(bpf.Jump{Skip: uint32(j - f - 1)})
			f = len(e.rev) - 1
		default:
			j = -1
		}
		if j < 0 {
			break
		}
	}
	j := len(e.rev)
	tt := n.t
	if tt.useX {
		e.push(bpf.JumpIfX{Cond: tt.op, SkipTrue: uint8(j - t - 1), SkipFalse: uint8(j - f - 1)})
	} else {
		e.push(bpf.JumpIf{Cond: tt.op, Val: tt.k, SkipTrue: uint8(j - t - 1), SkipFalse: uint8(j - f - 1)})
	}
	if tt.hasMask {
		e.push(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: tt.mask})
	}
	switch {
	case tt.mode == ldAbs && !tt.vshift:
		e.push(bpf.LoadAbsolute{Off: tt.off, Size: tt.size})
	case tt.mode == ldInd && !tt.vshift:
		e.push(bpf.LoadIndirect{Off: tt.off, Size: tt.size})
		e.push(bpf.LoadMemShift{Off: tt.xoff})
	case tt.mode == ldAbs:
		e.push(bpf.LoadIndirect{Off: tt.off, Size: tt.size})
		e.pushShiftX()
	case tt.mode == ldInd:
		// X = shift + 4*(pkt[shift+xoff]&0xf), then load at X+off.
		e.push(bpf.LoadIndirect{Off: tt.off, Size: tt.size})
		e.push(bpf.TAX{})
		e.push(bpf.ALUOpX{Op: bpf.ALUOpAdd})
		e.push(bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2})
		e.push(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf})
		e.push(bpf.LoadIndirect{Off: tt.xoff, Size: 1})
		e.pushShiftX()
	case tt.mode == ldLen:
		e.push(bpf.LoadExtension{Num: bpf.ExtLen})
	case tt.mode == ldExt:
		e.push(bpf.LoadExtension{Num: tt.ext})
	case tt.mode == ldProg:
		for i := len(tt.prog) - 1; i >= 0; i-- {
			e.push(tt.prog[i])
		}
	}
	return len(e.rev) - 1
}

// pushShiftX emits, in reverse, X = 4 unless the kernel reported a VLAN
// tag: (vlan_tag_present ^ 1) << 2.
func (e *emitter) pushShiftX() {
	e.push(bpf.TAX{})
	e.push(bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2})
	e.push(bpf.ALUOpConstant{Op: bpf.ALUOpXor, Val: 1})
	e.push(bpf.LoadExtension{Num: bpf.ExtVLANTagPresent})
}
