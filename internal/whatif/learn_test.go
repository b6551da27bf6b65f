package whatif

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCover(t *testing.T) {
	var obs []netip.Prefix
	for i := 0; i < 100; i++ {
		obs = append(obs, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i * 2)}), 32))
	}
	obs = append(obs, netip.MustParsePrefix("3.80.12.7/32"))
	published := []netip.Prefix{netip.MustParsePrefix("3.80.0.0/12"), netip.MustParsePrefix("3.80.12.0/24")}
	got, err := Cover(obs, published, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > MaxBlocks {
		t.Errorf("%d blocks", len(got))
	}
	// The published /24 (within the budget) names the EC2 address; the
	// /12 is beyond it.
	found := false
	for _, p := range got {
		found = found || p == netip.MustParsePrefix("3.80.12.0/24")
		if p.Bits() < 24 {
			t.Errorf("%s wider than the budget", p)
		}
	}
	if !found {
		t.Errorf("published prefix not used: %v", got)
	}
	for _, o := range obs {
		covered := false
		for _, p := range got {
			covered = covered || p.Contains(o.Addr())
		}
		if !covered {
			t.Errorf("%s not covered", o)
		}
	}
	// Addresses over all of IPv4 never become 0.0.0.0/0, whatever the
	// budget.
	var spread []netip.Prefix
	for i := 0; i < 200; i++ {
		spread = append(spread, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i), 1, 1, 1}), 32))
	}
	if _, err := Cover(spread, nil, 8); err == nil || !strings.Contains(err.Error(), "widening budget") {
		t.Errorf("err = %v", err)
	}
	got, err = Cover(spread, nil, 32)
	for _, p := range got {
		if p.Bits() == 0 {
			t.Errorf("covered with %v (%v)", got, err)
		}
	}
}
