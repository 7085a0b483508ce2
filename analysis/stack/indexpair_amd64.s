//go:build !purego

#include "textflag.h"

// PAIR32 leaves in AX the positions i of the thirty-two at DI where
// s[i] == c0 (Y1) and s[i+d] == c1 (Y2); R8 is s+d.
#define PAIR32 \
	VMOVDQU   (SI)(DI*1), Y3 \
	VMOVDQU   (R8)(DI*1), Y4 \
	VPCMPEQB  Y1, Y3, Y3 \
	VPCMPEQB  Y2, Y4, Y4 \
	VPAND     Y3, Y4, Y4 \
	VPMOVMSKB Y4, AX

// func indexPairAVX2(s string, c0, c1 byte, d int) int
//
// Thirty-two start positions per step: the bytes at i and at i+d are
// compared at once. The caller guarantees len(s) >= d+32; the last step
// reloads the final window, overlapping positions already found wanting.
TEXT ·indexPairAVX2(SB), NOSPLIT, $0-40
	MOVQ    s_base+0(FP), SI
	MOVQ    s_len+8(FP), BX
	MOVBLZX c0+16(FP), AX
	MOVBLZX c1+17(FP), CX
	MOVQ    d+24(FP), DX
	MOVQ    AX, X1
	VPBROADCASTB X1, Y1
	MOVQ    CX, X2
	VPBROADCASTB X2, Y2
	LEAQ    (SI)(DX*1), R8 // s + d
	MOVQ    BX, R9
	SUBQ    DX, R9
	SUBQ    $32, R9 // the last start of a whole window
	XORQ    DI, DI

loop:
	CMPQ    DI, R9
	JA      last
	PAIR32
	TESTL   AX, AX
	JNZ     found
	ADDQ    $32, DI
	JMP     loop

last:
	MOVQ    R9, DI
	PAIR32
	TESTL   AX, AX
	JNZ     found
	MOVQ    $-1, ret+32(FP)
	VZEROUPPER
	RET

found:
	BSFL    AX, AX
	ADDQ    DI, AX
	MOVQ    AX, ret+32(FP)
	VZEROUPPER
	RET

// PAIRS32 leaves in AX the positions i of the thirty-two at DI where
// s[i] == a0 (Y1) and s[i+d] == a1 (Y2), or s[i] == b0 (Y5) and
// s[i+d] == b1 (Y6); R8 is s+d.
#define PAIRS32 \
	VMOVDQU   (SI)(DI*1), Y3 \
	VMOVDQU   (R8)(DI*1), Y4 \
	VPCMPEQB  Y1, Y3, Y7 \
	VPCMPEQB  Y2, Y4, Y8 \
	VPAND     Y7, Y8, Y8 \
	VPCMPEQB  Y5, Y3, Y3 \
	VPCMPEQB  Y6, Y4, Y4 \
	VPAND     Y3, Y4, Y4 \
	VPOR      Y4, Y8, Y8 \
	VPMOVMSKB Y8, AX

// func indexPairsAVX2(s string, a0, a1, b0, b1 byte, d int) int
//
// indexPairAVX2 for either of two pairs at the same distance, in one pass.
TEXT ·indexPairsAVX2(SB), NOSPLIT, $0-40
	MOVQ    s_base+0(FP), SI
	MOVQ    s_len+8(FP), BX
	MOVBLZX a0+16(FP), AX
	MOVQ    AX, X1
	VPBROADCASTB X1, Y1
	MOVBLZX a1+17(FP), AX
	MOVQ    AX, X2
	VPBROADCASTB X2, Y2
	MOVBLZX b0+18(FP), AX
	MOVQ    AX, X5
	VPBROADCASTB X5, Y5
	MOVBLZX b1+19(FP), AX
	MOVQ    AX, X6
	VPBROADCASTB X6, Y6
	MOVQ    d+24(FP), DX
	LEAQ    (SI)(DX*1), R8 // s + d
	MOVQ    BX, R9
	SUBQ    DX, R9
	SUBQ    $32, R9 // the last start of a whole window
	XORQ    DI, DI

ploop:
	CMPQ    DI, R9
	JA      plast
	PAIRS32
	TESTL   AX, AX
	JNZ     pfound
	ADDQ    $32, DI
	JMP     ploop

plast:
	MOVQ    R9, DI
	PAIRS32
	TESTL   AX, AX
	JNZ     pfound
	MOVQ    $-1, ret+32(FP)
	VZEROUPPER
	RET

pfound:
	BSFL    AX, AX
	ADDQ    DI, AX
	MOVQ    AX, ret+32(FP)
	VZEROUPPER
	RET
