//go:build !purego

#include "textflag.h"

// STOPMASK sets R10 to the bytes of X0 that stop a plain run ('"', '\\' or
// at most 0x1f, found by a saturating subtract of 0x1f giving zero) and R9
// to their top bits (bytes past ASCII).
#define STOPMASK \
	PMOVMSKB X0, R9 \
	MOVO     X0, X5 \
	PCMPEQB  X1, X5 \
	MOVO     X0, X6 \
	PCMPEQB  X2, X6 \
	POR      X6, X5 \
	MOVO     X0, X6 \
	PSUBUSB  X3, X6 \
	PCMPEQB  X4, X6 \
	POR      X6, X5 \
	PMOVMSKB X5, R10

// func scanStringSSE2(b []byte) (n int, flags int)
//
// See scanStringBody. Sixteen bytes per step; the caller guarantees
// len(b) >= 16, so a step near the end reloads the last sixteen bytes and
// shifts out those already seen.
TEXT ·scanStringSSE2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X3
	PUNPCKLQDQ X3, X3
	PXOR X4, X4
	XORQ DI, DI  // position
	XORL R8, R8  // top bits seen: nonzero when a byte is past ASCII
	XORL R11, R11 // escapes seen

loop:
	LEAQ 16(DI), AX
	CMPQ AX, BX
	JA   tail
	MOVOU (SI)(DI*1), X0
	STOPMASK
	TESTL R10, R10
	JNZ  found
	ORL  R9, R8
	ADDQ $16, DI
	JMP  loop

tail:
	CMPQ DI, BX
	JAE  end
	LEAQ -16(BX), DX
	MOVOU (SI)(DX*1), X0
	STOPMASK
	MOVQ DI, CX
	SUBQ DX, CX // the bytes of this load before DI, already seen
	SHRL CX, R10
	SHRL CX, R9
	TESTL R10, R10
	JNZ  found
	ORL  R9, R8
	MOVQ BX, DI
	JMP  end

found:
	BSFL R10, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	ANDL AX, R9 // top bits of the bytes before the stop
	ORL  R9, R8
	ADDQ CX, DI
	MOVBLZX (SI)(DI*1), AX
	CMPB AL, $0x5c
	JNE  end // the closing quote or a control character
	LEAQ 1(DI), DX
	CMPQ DX, BX
	JAE  end // a backslash ending the input
	MOVBLZX (SI)(DX*1), AX
	CMPB AL, $0x6e // n
	JEQ  newline
	CMPB AL, $0x22 // "
	JEQ  short
	CMPB AL, $0x5c // backslash
	JEQ  short
	CMPB AL, $0x2f // /
	JEQ  short
	CMPB AL, $0x74 // t
	JEQ  short
	CMPB AL, $0x72 // r
	JEQ  short
	CMPB AL, $0x62 // b
	JEQ  short
	CMPB AL, $0x66 // f
	JEQ  short
	JMP  end // \u or an invalid escape: the caller reads it

newline:
	ORL  $4, R11
short:
	ORL  $1, R11
	ADDQ $2, DI
	JMP  loop

end:
	TESTL R8, R8
	JZ   ascii
	ORL  $0x80, R11
ascii:
	MOVQ DI, n+24(FP)
	MOVQ R11, flags+32(FP)
	RET
