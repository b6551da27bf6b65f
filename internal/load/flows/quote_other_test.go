//go:build !amd64 || purego

package flows

import "testing"

// checkKernels has nothing to compare without a vector kernel: findQuotes
// is then the Go version, which checkQuotes compares with quotesByByte.
func checkKernels(*testing.T, []byte) {}
