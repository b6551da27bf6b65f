package traffic

import (
	"math/rand"
	"net/netip"
	"testing"
)

// TestAddrSetCovers adds random addresses (IPv4 and IPv6, clustered and
// spread) and checks against the list of what was added: every address
// stays covered, the prefixes stay sorted and disjoint, at most MaxAddrs,
// and Widened is set exactly when a prefix is not a single address.
func TestAddrSetCovers(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 50; round++ {
		var s AddrSet
		var added []netip.Addr
		n := rng.Intn(600)
		for i := 0; i < n; i++ {
			var a netip.Addr
			switch rng.Intn(3) {
			case 0:
				a = netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.Intn(256))})
			case 1:
				a = netip.AddrFrom4([4]byte{byte(rng.Intn(256)), byte(rng.Intn(256)), 7, 9})
			default:
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.Intn(256))})
			}
			s.Add(a)
			added = append(added, a)
		}
		if len(s.Prefixes) > MaxAddrs {
			t.Fatalf("%d prefixes", len(s.Prefixes))
		}
		single := true
		for i, p := range s.Prefixes {
			single = single && p.IsSingleIP()
			if i > 0 && (!lessPrefix(s.Prefixes[i-1], p) || s.Prefixes[i-1].Overlaps(p)) {
				t.Fatalf("prefixes not sorted and disjoint: %v", s.Prefixes)
			}
		}
		if s.Widened == single && len(s.Prefixes) > 0 {
			t.Errorf("widened %v with prefixes %v", s.Widened, s.Prefixes)
		}
		for _, a := range added {
			covered := false
			for _, p := range s.Prefixes {
				covered = covered || p.Contains(a)
			}
			if !covered {
				t.Fatalf("%s added but not covered by %v", a, s.Prefixes)
			}
		}
	}
}

func TestShrinkMergesClosestFirst(t *testing.T) {
	ps := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("10.0.0.2/32"),
		netip.MustParsePrefix("10.9.0.1/32"), netip.MustParsePrefix("::1/128"),
	}
	got := Shrink(Normalize(ps), 3)
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/30"), netip.MustParsePrefix("10.9.0.1/32"), netip.MustParsePrefix("::1/128")}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// IPv4 and IPv6 never merge, even past the target.
	if got := Shrink([]netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("::1/128")}, 1); len(got) != 2 {
		t.Errorf("merged families: %v", got)
	}
}
