//go:build amd64 && !purego

package flows

import (
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// checkKernels runs each kernel this processor has against the Go version
// on b's whole 64-byte blocks and on b padded with spaces to 64: the same
// plain answer, and the same quote bits whenever the Go version's are
// meaningful (b plain). The kernels' bits are exact for any bytes, so they
// are compared with quotesByByte too.
func checkKernels(t *testing.T, b []byte) {
	t.Helper()
	padded := append(slices.Clone(b), spaces[:(64-len(b)%64)%64]...)
	kernels := map[string]func([]byte, []uint64) bool{"SSE2": quoteBlocksSSE2}
	if cpu.X86.HasAVX2 {
		kernels["AVX2"] = quoteBlocksAVX2
	}
	for _, in := range [][]byte{b[:len(b)&^63], padded} {
		wantQ, _ := quotesByByte(in)
		goQ := make([]uint64, len(in)/64)
		goPlain := quoteBlocksGo(in, goQ)
		for name, kernel := range kernels {
			// A word more than the blocks, to see the kernel writes
			// no further.
			q := make([]uint64, len(in)/64+1)
			q[len(q)-1] = 0x5a5a
			plain := kernel(in, q)
			if plain != goPlain {
				t.Fatalf("%s(%q): plain %v, Go version %v", name, in, plain, goPlain)
			}
			if plain && !slices.Equal(q[:len(goQ)], goQ) {
				t.Fatalf("%s(%q): quotes %x, Go version %x", name, in, q[:len(goQ)], goQ)
			}
			if !slices.Equal(q[:len(wantQ)], wantQ) || q[len(q)-1] != 0x5a5a {
				t.Fatalf("%s(%q): quotes %x, want %x then 5a5a", name, in, q, wantQ)
			}
		}
	}
}

// TestQuoteKernelAVX2Detected says which kernels the other tests ran, so a
// log shows whether AVX2 was covered on this machine.
func TestQuoteKernelAVX2Detected(t *testing.T) {
	t.Logf("AVX2: %v (SSE2 always)", cpu.X86.HasAVX2)
}
