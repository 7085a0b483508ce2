//go:build !purego

#include "textflag.h"

// KEYQUOTE32 leaves in AX the positions i of the thirty-two at DI where
// s[i] is '"' and s[i+1] is one of s, e, t, l, c.
#define KEYQUOTE32 \
	VMOVDQU   (SI)(DI*1), Y0 \
	VMOVDQU   1(SI)(DI*1), Y1 \
	VPCMPEQB  Y2, Y0, Y0 \
	VPCMPEQB  Y3, Y1, Y5 \
	VPCMPEQB  Y4, Y1, Y6 \
	VPOR      Y6, Y5, Y5 \
	VPCMPEQB  Y7, Y1, Y6 \
	VPOR      Y6, Y5, Y5 \
	VPCMPEQB  Y8, Y1, Y6 \
	VPOR      Y6, Y5, Y5 \
	VPCMPEQB  Y9, Y1, Y6 \
	VPOR      Y6, Y5, Y5 \
	VPAND     Y5, Y0, Y0 \
	VPMOVMSKB Y0, AX

#define BROADCAST(c, Y) \
	MOVQ $c, AX \
	MOVQ AX, X10 \
	VPBROADCASTB X10, Y

// func indexKeyQuoteAVX2(s string) int
//
// The caller guarantees len(s) >= 33; the last step reloads the final
// window, overlapping positions already found wanting.
TEXT ·indexKeyQuoteAVX2(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	BROADCAST(0x22, Y2) // "
	BROADCAST(0x73, Y3) // s
	BROADCAST(0x65, Y4) // e
	BROADCAST(0x74, Y7) // t
	BROADCAST(0x6c, Y8) // l
	BROADCAST(0x63, Y9) // c
	MOVQ BX, R9
	SUBQ $33, R9 // the last start of a whole window
	XORQ DI, DI

loop:
	CMPQ DI, R9
	JA   last
	KEYQUOTE32
	TESTL AX, AX
	JNZ  found
	ADDQ $32, DI
	JMP  loop

last:
	MOVQ R9, DI
	KEYQUOTE32
	TESTL AX, AX
	JNZ  found
	MOVQ $-1, ret+16(FP)
	VZEROUPPER
	RET

found:
	BSFL AX, AX
	ADDQ DI, AX
	MOVQ AX, ret+16(FP)
	VZEROUPPER
	RET
