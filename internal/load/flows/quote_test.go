package flows

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// quotesByByte is the quote pass one byte at a time: the bits of the quotes
// of b and whether b is plain (no backslash, control character or byte
// beyond ASCII).
func quotesByByte(b []byte) ([]uint64, bool) {
	q := make([]uint64, (len(b)+63)/64)
	plain := true
	for i, c := range b {
		switch {
		case c == '"':
			q[i/64] |= 1 << (i % 64)
		case c == '\\' || c < 0x20 || c > 0x7f:
			plain = false
		}
	}
	return q, plain
}

// checkQuotes compares findQuotes on b with quotesByByte; the bits only
// count when b is plain (findQuotes says they are meaningless otherwise),
// and the kernels, where there are any, against the Go version.
func checkQuotes(t *testing.T, b []byte) {
	t.Helper()
	want, wantPlain := quotesByByte(b)
	// Start from dirty memory, as the scanner reuses it line to line.
	got, plain := findQuotes(b, []uint64{^uint64(0), ^uint64(0)}[:0])
	if plain != wantPlain {
		t.Fatalf("findQuotes(%q): plain %v, want %v", b, plain, wantPlain)
	}
	if plain && !slices.Equal(got, want) {
		t.Fatalf("findQuotes(%q): quotes %x, want %x", b, got, want)
	}
	checkKernels(t, b)
}

// adversarial holds the bytes a quote pass is likely to get wrong: the
// three it looks for, their neighbours, the signed and unsigned edges.
var adversarial = []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']', 0x7e, 0x7f, 0x80, 0x81, 0xa2, 0xdc, 0xfe, 0xff}

// TestFindQuotesEveryByte puts every byte value at every position of lines
// of 0 to 100 bytes (plain or holding a quote elsewhere), and each line at
// every alignment of the memory it is read from.
func TestFindQuotesEveryByte(t *testing.T) {
	buf := make([]byte, 64+200)
	for n := 0; n <= 100; n++ {
		for align := range 64 {
			b := buf[align : align+n]
			for i := range b {
				b[i] = 'a'
			}
			if n > 0 {
				b[n/2] = '"'
			}
			checkQuotes(t, b)
			if align != 0 && align != 7 && align != 33 {
				continue // every byte at every position: three alignments are enough
			}
			for i := range b {
				old := b[i]
				for c := range 256 {
					b[i] = byte(c)
					checkQuotes(t, b)
				}
				b[i] = old
			}
		}
	}
}

// TestFindQuotesRandom draws lines of 0 to 300 bytes, mostly plain JSON
// bytes with the adversarial ones sprinkled in, at random alignments.
func TestFindQuotesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 7))
	buf := make([]byte, 64+300)
	for range 200_000 {
		align, n := r.IntN(64), r.IntN(301)
		b := buf[align : align+n]
		odds := r.IntN(64) + 1
		for i := range b {
			switch r.IntN(odds) {
			case 0:
				b[i] = adversarial[r.IntN(len(adversarial))]
			case 1:
				b[i] = byte(r.IntN(256))
			case 2:
				b[i] = '"'
			default:
				b[i] = byte(' ' + r.IntN(0x7f-' '))
			}
		}
		checkQuotes(t, b)
	}
}

// FuzzQuotes checks the quote pass on arbitrary bytes at every alignment.
func FuzzQuotes(f *testing.F) {
	f.Add([]byte(`{"flow":{"time":"2024-01-01T00:00:00Z","verdict":"FORWARDED"}}`))
	f.Add([]byte("\"\\\x00\x1f\x20\x7f\x80\xff"))
	f.Add(make([]byte, 130))
	f.Fuzz(func(t *testing.T, data []byte) {
		buf := make([]byte, 64+len(data))
		for align := range 64 {
			copy(buf[align:], data)
			checkQuotes(t, buf[align:align+len(data)])
		}
	})
}
