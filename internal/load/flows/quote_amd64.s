//go:build amd64 && !purego

#include "textflag.h"

// The quote pass of a Hubble line (quote_amd64.go): for each 64 bytes of b,
// a word of q with bit i set where byte i is a '"', and in the result
// whether no byte of b is a '\\', below 0x20 or above 0x7f. A byte is
// "below 0x20 or above 0x7f" exactly when it is below 0x20 as a signed byte
// (0x80-0xff are negative), so one signed comparison finds both.

// func quoteBlocksSSE2(b []byte, q []uint64) bool
TEXT ·quoteBlocksSSE2(SB), NOSPLIT, $0-49
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	MOVQ q_base+24(FP), DI
	SHRQ $6, CX

	// X0, X1, X2: '"', '\\' and 0x20 in every byte; X3 gathers the
	// bytes that make a line not plain.
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x2020202020202020, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2
	PXOR X3, X3
	TESTQ CX, CX
	JZ sse2done

sse2loop:
	MOVOU 0(SI), X4
	MOVOU 16(SI), X5
	MOVOU 32(SI), X6
	MOVOU 48(SI), X7

	// Quotes: a byte mask of each 16, then 16 bits of the word.
	MOVO X0, X8
	PCMPEQB X4, X8
	MOVO X0, X9
	PCMPEQB X5, X9
	MOVO X0, X10
	PCMPEQB X6, X10
	MOVO X0, X11
	PCMPEQB X7, X11
	PMOVMSKB X8, AX
	PMOVMSKB X9, BX
	PMOVMSKB X10, DX
	PMOVMSKB X11, R8
	SHLQ $16, BX
	SHLQ $32, DX
	SHLQ $48, R8
	ORQ BX, AX
	ORQ R8, DX
	ORQ DX, AX
	MOVQ AX, (DI)

	// Backslashes.
	MOVO X1, X8
	PCMPEQB X4, X8
	MOVO X1, X9
	PCMPEQB X5, X9
	MOVO X1, X10
	PCMPEQB X6, X10
	MOVO X1, X11
	PCMPEQB X7, X11
	POR X8, X3
	POR X9, X10
	POR X11, X3
	POR X10, X3

	// 0x20 > byte, signed: control characters and bytes beyond ASCII.
	MOVO X2, X8
	PCMPGTB X4, X8
	MOVO X2, X9
	PCMPGTB X5, X9
	MOVO X2, X10
	PCMPGTB X6, X10
	MOVO X2, X11
	PCMPGTB X7, X11
	POR X8, X3
	POR X9, X10
	POR X11, X3
	POR X10, X3

	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ sse2loop

sse2done:
	PMOVMSKB X3, AX
	TESTL AX, AX
	SETEQ ret+48(FP)
	RET

// func quoteBlocksAVX2(b []byte, q []uint64) bool
TEXT ·quoteBlocksAVX2(SB), NOSPLIT, $0-49
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	MOVQ q_base+24(FP), DI
	SHRQ $6, CX

	MOVQ $0x2222222222222222, AX
	MOVQ AX, X0
	VPBROADCASTQ X0, Y0
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X1
	VPBROADCASTQ X1, Y1
	MOVQ $0x2020202020202020, AX
	MOVQ AX, X2
	VPBROADCASTQ X2, Y2
	VPXOR Y3, Y3, Y3
	TESTQ CX, CX
	JZ avx2done

avx2loop:
	VMOVDQU 0(SI), Y4
	VMOVDQU 32(SI), Y5

	// Quotes: 32 bits of the word from each 32 bytes.
	VPCMPEQB Y0, Y4, Y6
	VPCMPEQB Y0, Y5, Y7
	VPMOVMSKB Y6, AX
	VPMOVMSKB Y7, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (DI)

	// Backslashes, then 0x20 > byte (signed).
	VPCMPEQB Y1, Y4, Y6
	VPCMPEQB Y1, Y5, Y7
	VPCMPGTB Y4, Y2, Y8
	VPCMPGTB Y5, Y2, Y9
	VPOR Y6, Y7, Y6
	VPOR Y8, Y9, Y8
	VPOR Y6, Y3, Y3
	VPOR Y8, Y3, Y3

	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ avx2loop

avx2done:
	VPMOVMSKB Y3, AX
	VZEROUPPER
	TESTL AX, AX
	SETEQ ret+48(FP)
	RET
