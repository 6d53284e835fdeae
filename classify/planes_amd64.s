#include "textflag.h"

// LOOKUP adds to Y6 (bytes 0-31) and Y7 (bytes 32-63) the flags of the
// bytes whose high nibble is row's (2 to 7): the row's table looked up by
// the low nibbles (Y2, Y3), kept where the high nibble (Y4, Y5) is the
// row's. DX points at the nibbleTables.
#define LOOKUP(row) \
	VMOVDQU (32*row)(DX), Y8 \
	VMOVDQU (192+32*row)(DX), Y9 \
	VPSHUFB Y2, Y8, Y10 \
	VPCMPEQB Y9, Y4, Y11 \
	VPAND Y11, Y10, Y10 \
	VPOR Y10, Y6, Y6 \
	VPSHUFB Y3, Y8, Y12 \
	VPCMPEQB Y9, Y5, Y13 \
	VPAND Y13, Y12, Y12 \
	VPOR Y12, Y7, Y7

// PLANE stores flag j's word: each byte's bit j shifted to bit 7, one bit
// per byte from each half.
#define PLANE(j) \
	VPSLLW $(7-j), Y6, Y10 \
	VPSLLW $(7-j), Y7, Y11 \
	VPMOVMSKB Y10, AX \
	VPMOVMSKB Y11, BX \
	SHLQ $32, BX \
	ORQ BX, AX \
	MOVQ AX, (8*j)(DI)

// func planes64Tables(src *byte, v *[8]uint64, t *nibbleTables)
// Flags of the 64 bytes at src (candFlags, by t.flags), one word per
// flag, bit q for byte q. Y0/Y1 hold the bytes, Y2/Y3 their low and Y4/Y5
// their high nibbles, Y6/Y7 the flags; see planes_amd64.go.
TEXT ·planes64Tables(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ t+16(FP), DX
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 384(DX), Y15
	VPAND Y15, Y0, Y2
	VPAND Y15, Y1, Y3
	VPSRLW $4, Y0, Y4
	VPAND Y15, Y4, Y4
	VPSRLW $4, Y1, Y5
	VPAND Y15, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	LOOKUP(0)
	LOOKUP(1)
	LOOKUP(2)
	LOOKUP(3)
	LOOKUP(4)
	LOOKUP(5)
	PLANE(0)
	PLANE(1)
	PLANE(2)
	PLANE(3)
	PLANE(4)
	PLANE(5)
	PLANE(6)
	PLANE(7)
	VZEROUPPER
	RET
