//go:build amd64 && !purego

package flows

import "golang.org/x/sys/cpu"

// quoteBlocks sets q[k] to the bits of the quotes of b[64k:64k+64] (bit i
// for byte 64k+i) and reports whether b holds no backslash, no control
// character (below 0x20) and no byte beyond ASCII; len(b) is a multiple of
// 64 and q has a word for each 64 bytes. On amd64 a vector kernel (SSE2,
// which every amd64 processor has, or AVX2 where the processor and the
// operating system support it) compares 16 or 32 bytes in one instruction
// where the Go version (quoteBlocksGo) takes about 13 operations for eight.
// Unlike the Go version it sets every word of q even when it reports false.
func quoteBlocks(b []byte, q []uint64) bool {
	if len(b) == 0 {
		return true
	}
	_ = q[len(b)/64-1] // the kernels store a word for each 64 bytes
	if cpu.X86.HasAVX2 {
		return quoteBlocksAVX2(b, q)
	}
	return quoteBlocksSSE2(b, q)
}

// quoteBlocksSSE2 and quoteBlocksAVX2 are quoteBlocks for len(b) a multiple
// of 64 and len(q) >= len(b)/64 (which they do not check); AVX2 only if
// cpu.X86.HasAVX2.
//
//go:noescape
func quoteBlocksSSE2(b []byte, q []uint64) bool

//go:noescape
func quoteBlocksAVX2(b []byte, q []uint64) bool
