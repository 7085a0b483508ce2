//go:build !purego

#include "textflag.h"

// The result registers: R8 the top bits (bytes past ASCII), R9 the '"'
// bytes, R10 the '\' bytes, R11 the control characters (at most 0x1f: a
// saturating subtract of 0x1f gives zero), one bit per byte. Each step
// leaves its part in AX, BX, CX, DX; the parts are put together from the
// last bytes down.

// FIRST starts the results with a step's part.
#define FIRST \
	MOVQ AX, R8 \
	MOVQ BX, R9 \
	MOVQ CX, R10 \
	MOVQ DX, R11

// NEXT shifts the results up by n bits and adds a step's part below.
#define NEXT(n) \
	SHLQ $n, R8 \
	SHLQ $n, R9 \
	SHLQ $n, R10 \
	SHLQ $n, R11 \
	ORQ  AX, R8 \
	ORQ  BX, R9 \
	ORQ  CX, R10 \
	ORQ  DX, R11

#define RESULTS \
	MOVQ R9, quote+8(FP) \
	MOVQ R10, backslash+16(FP) \
	MOVQ R11, control+24(FP) \
	MOVQ R8, high+32(FP)

// SPLAT puts the byte repeated eight times, v, in the low half of X.
#define SPLAT(v, X) \
	MOVQ $v, AX \
	MOVQ AX, X

// MASKS16 is a step over the sixteen bytes at off(SI), with SSE2.
#define MASKS16(off) \
	MOVOU    off(SI), X0 \
	PMOVMSKB X0, AX \
	MOVO     X0, X5 \
	PCMPEQB  X1, X5 \
	PMOVMSKB X5, BX \
	MOVO     X0, X6 \
	PCMPEQB  X2, X6 \
	PMOVMSKB X6, CX \
	PSUBUSB  X3, X0 \
	PCMPEQB  X4, X0 \
	PMOVMSKB X0, DX

// func blockMasksSSE2(p *[64]byte) (quote, backslash, control, high uint64)
TEXT ·blockMasksSSE2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	SPLAT(0x2222222222222222, X1)
	PUNPCKLQDQ X1, X1
	SPLAT(0x5c5c5c5c5c5c5c5c, X2)
	PUNPCKLQDQ X2, X2
	SPLAT(0x1f1f1f1f1f1f1f1f, X3)
	PUNPCKLQDQ X3, X3
	PXOR X4, X4
	MASKS16(48)
	FIRST
	MASKS16(32)
	NEXT(16)
	MASKS16(16)
	NEXT(16)
	MASKS16(0)
	NEXT(16)
	RESULTS
	RET

// MASKS32 is a step over the thirty-two bytes at off(SI), with AVX2.
#define MASKS32(off) \
	VMOVDQU   off(SI), Y0 \
	VPMOVMSKB Y0, AX \
	VPCMPEQB  Y1, Y0, Y5 \
	VPMOVMSKB Y5, BX \
	VPCMPEQB  Y2, Y0, Y6 \
	VPMOVMSKB Y6, CX \
	VPSUBUSB  Y3, Y0, Y7 \
	VPCMPEQB  Y4, Y7, Y7 \
	VPMOVMSKB Y7, DX

// func blockMasksAVX2(p *[64]byte) (quote, backslash, control, high uint64)
TEXT ·blockMasksAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	SPLAT(0x2222222222222222, X1)
	VPBROADCASTB X1, Y1
	SPLAT(0x5c5c5c5c5c5c5c5c, X2)
	VPBROADCASTB X2, Y2
	SPLAT(0x1f1f1f1f1f1f1f1f, X3)
	VPBROADCASTB X3, Y3
	VPXOR Y4, Y4, Y4
	MASKS32(32)
	FIRST
	MASKS32(0)
	NEXT(32)
	VZEROUPPER
	RESULTS
	RET
