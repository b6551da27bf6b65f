package engine

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// TestSplitFastPath holds split (which skips the set algebra when the
// destination is wholly allowed or wholly outside, nothing unknown) to the
// set algebra on random sets of a small address space, where every case
// comes up: wholly in, wholly out, partly, and unknown parts.
func TestSplitFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	random := func(empty bool) *netipx.IPSet {
		var b netipx.IPSetBuilder
		if !empty {
			for range 1 + r.IntN(3) {
				bits := 26 + r.IntN(7)
				addr := netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))})
				b.AddPrefix(netip.PrefixFrom(addr, bits).Masked())
			}
			if r.IntN(4) == 0 {
				b.AddSet(netset.Everything())
			}
		}
		s, _ := b.IPSet()
		return s
	}
	fast := map[string]int{}
	for range 5000 {
		allowed, unknown, dst := random(r.IntN(4) == 0), random(r.IntN(2) == 0), random(false)
		in, maybe, out := split(allowed, unknown, dst)
		win, wmaybe, wout := splitSets(allowed, unknown, dst)
		for _, c := range []struct {
			name      string
			got, want *netipx.IPSet
		}{{"in", in, win}, {"maybe", maybe, wmaybe}, {"out", out, wout}} {
			if g, w := netset.PrefixStrings(c.got), netset.PrefixStrings(c.want); !slices.Equal(g, w) {
				t.Fatalf("allowed %v unknown %v dst %v: %s %v, want %v", netset.PrefixStrings(allowed), netset.PrefixStrings(unknown), netset.PrefixStrings(dst), c.name, g, w)
			}
		}
		switch {
		case len(maybe.Ranges()) > 0 || len(in.Ranges()) > 0 && len(out.Ranges()) > 0:
			fast["partly or unknown"]++
		case len(in.Ranges()) > 0:
			fast["wholly allowed"]++
		default:
			fast["wholly outside"]++
		}
	}
	if len(fast) != 3 {
		t.Errorf("cases seen %v: want all three", fast)
	}
}
