//go:build !amd64 || purego

package flows

// quoteBlocks sets q[k] to the bits of the quotes of b[64k:64k+64] and
// reports whether b holds no backslash, control character or byte beyond
// ASCII (see quoteBlocksGo); without a vector kernel it is the Go version.
func quoteBlocks(b []byte, q []uint64) bool {
	return quoteBlocksGo(b, q)
}
