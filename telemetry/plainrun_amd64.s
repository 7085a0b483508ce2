//go:build !purego

#include "textflag.h"

// MASKS16 looks at the sixteen bytes at off(SI) and leaves in AX the top
// bits (bytes past ASCII), in BX the '"' bytes, in CX the '\' bytes and in
// DX the control characters (at most 0x1f: a saturating subtract of 0x1f
// gives zero), one bit per byte.
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

	MASKS16(48)
	MOVQ AX, R8
	MOVQ BX, R9
	MOVQ CX, R10
	MOVQ DX, R11
	MASKS16(32)
	SHLQ $16, R8
	SHLQ $16, R9
	SHLQ $16, R10
	SHLQ $16, R11
	ORQ  AX, R8
	ORQ  BX, R9
	ORQ  CX, R10
	ORQ  DX, R11
	MASKS16(16)
	SHLQ $16, R8
	SHLQ $16, R9
	SHLQ $16, R10
	SHLQ $16, R11
	ORQ  AX, R8
	ORQ  BX, R9
	ORQ  CX, R10
	ORQ  DX, R11
	MASKS16(0)
	SHLQ $16, R8
	SHLQ $16, R9
	SHLQ $16, R10
	SHLQ $16, R11
	ORQ  AX, R8
	ORQ  BX, R9
	ORQ  CX, R10
	ORQ  DX, R11

	MOVQ R9, quote+8(FP)
	MOVQ R10, backslash+16(FP)
	MOVQ R11, control+24(FP)
	MOVQ R8, high+32(FP)
	RET

// MASKS32 is MASKS16 for the thirty-two bytes at off(SI), with AVX2.
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
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X3
	VPBROADCASTB X3, Y3
	VPXOR Y4, Y4, Y4

	MASKS32(32)
	MOVQ AX, R8
	MOVQ BX, R9
	MOVQ CX, R10
	MOVQ DX, R11
	MASKS32(0)
	SHLQ $32, R8
	SHLQ $32, R9
	SHLQ $32, R10
	SHLQ $32, R11
	ORQ  AX, R8
	ORQ  BX, R9
	ORQ  CX, R10
	ORQ  DX, R11
	VZEROUPPER

	MOVQ R9, quote+8(FP)
	MOVQ R10, backslash+16(FP)
	MOVQ R11, control+24(FP)
	MOVQ R8, high+32(FP)
	RET
