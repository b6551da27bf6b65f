package netset

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"

	"go4.org/netipx"
)

// bitmap is the brute-force oracle for Ports: one bit per (protocol, port).
type bitmap [numProtocols][MaxPort + 1]bool

func (b *bitmap) from(p Ports) {
	for _, proto := range Protocols {
		for _, r := range p.Ranges(proto) {
			for n := r.Lo; n <= r.Hi; n++ {
				b[proto][n] = true
			}
		}
	}
}

func randomPorts(r *rand.Rand) Ports {
	var p Ports
	for i := r.IntN(5); i > 0; i-- {
		lo := int32(1 + r.IntN(100))
		if r.IntN(4) == 0 {
			lo = int32(1 + r.IntN(MaxPort))
		}
		hi := lo + int32(r.IntN(20))
		p = p.Union(PortRange(Protocols[r.IntN(3)], lo, hi))
	}
	if r.IntN(10) == 0 {
		p = p.Union(AllOf(Protocols[r.IntN(3)]))
	}
	return p
}

func checkCanonical(t *testing.T, p Ports) {
	t.Helper()
	for _, proto := range Protocols {
		rs := p.Ranges(proto)
		for i, r := range rs {
			if r.Lo > r.Hi || r.Lo < MinPort || r.Hi > MaxPort {
				t.Fatalf("bad range %v", r)
			}
			if i > 0 && r.Lo <= rs[i-1].Hi+1 {
				t.Fatalf("ranges %v and %v overlap or touch", rs[i-1], r)
			}
		}
	}
}

func TestPortsAgainstBitmap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 300; i++ {
		a, b := randomPorts(r), randomPorts(r)
		var ba, bb, bu, bi bitmap
		ba.from(a)
		bb.from(b)
		var bd bitmap
		u, in, d := a.Union(b), a.Intersect(b), a.Difference(b)
		checkCanonical(t, u)
		checkCanonical(t, in)
		checkCanonical(t, d)
		bu.from(u)
		bi.from(in)
		bd.from(d)
		for _, proto := range Protocols {
			for n := MinPort; n <= MaxPort; n++ {
				if bu[proto][n] != (ba[proto][n] || bb[proto][n]) || bi[proto][n] != (ba[proto][n] && bb[proto][n]) {
					t.Fatalf("%v ∪/∩ %v wrong at %s %d", a, b, proto, n)
				}
				if bd[proto][n] != (ba[proto][n] && !bb[proto][n]) {
					t.Fatalf("%v \\ %v wrong at %s %d", a, b, proto, n)
				}
				if a.Contains(proto, int32(n)) != ba[proto][n] {
					t.Fatalf("%v Contains %s %d", a, proto, n)
				}
			}
		}
		if u.Equal(in) != (u.String() == in.String()) {
			t.Fatalf("Equal disagrees with String for %v, %v", u, in)
		}
		j, _ := json.Marshal(a)
		var back Ports
		if err := json.Unmarshal(j, &back); err != nil || !back.Equal(a) {
			t.Fatalf("JSON round trip of %v: %s -> %v (%v)", a, j, back, err)
		}
	}
}

func TestPortsString(t *testing.T) {
	tests := []struct {
		p    Ports
		want string
	}{
		{Ports{}, "None"},
		{AllPorts(), "All Connections"},
		{PortRange(TCP, 80, 80).Union(PortRange(TCP, 443, 443)).Union(PortRange(UDP, 53, 53)), "TCP 80,443; UDP 53"},
		{PortRange(TCP, 8000, 8080).Union(PortRange(TCP, 8081, 8090)), "TCP 8000-8090"},
		{AllOf(UDP).Union(PortRange(SCTP, 1, 1)), "UDP 1-65535; SCTP 1"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func mustSet(prefixes ...string) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range prefixes {
		b.AddPrefix(netip.MustParsePrefix(p))
	}
	s, _ := b.IPSet()
	return s
}

func TestPartition(t *testing.T) {
	sets := []*netipx.IPSet{
		Block(netip.MustParsePrefix("10.0.1.1/16"), []netip.Prefix{netip.MustParsePrefix("10.0.128.0/17")}),
		mustSet("10.0.0.0/8"),
		mustSet("2600:1f18::/33"),
	}
	parts := Partition(sets)
	var ids []string
	for _, p := range parts {
		ids = append(ids, p.ID())
	}
	if len(parts) != 4 {
		t.Fatalf("parts = %v, want 4: the rest, 10/8 outside the block, the block, the IPv6 block", ids)
	}
	checkPartition(t, sets, parts)
}

// checkPartition verifies a partition by brute force on sample addresses:
// parts are disjoint, cover everything, and each set is a union of parts.
func checkPartition(t *testing.T, sets []*netipx.IPSet, parts []Part) {
	t.Helper()
	samples := []netip.Addr{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}
	for _, s := range sets {
		for _, r := range s.Ranges() {
			samples = append(samples, r.From(), r.To(), r.From().Prev(), r.To().Next())
		}
	}
	for _, a := range samples {
		if !a.IsValid() {
			continue
		}
		in := -1
		for i, p := range parts {
			if p.Set.Contains(a) {
				if in >= 0 {
					t.Fatalf("%s is in parts %d and %d", a, in, i)
				}
				in = i
			}
		}
		if in < 0 {
			t.Fatalf("%s is in no part", a)
		}
		for k, s := range sets {
			if s.Contains(a) != parts[in].In[k] {
				t.Fatalf("%s: set %d membership %v, part says %v", a, k, s.Contains(a), parts[in].In[k])
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range parts {
		key := ""
		for _, b := range p.In {
			key += map[bool]string{true: "1", false: "0"}[b]
		}
		if seen[key] {
			t.Fatalf("two parts share membership %s: they should be one", key)
		}
		seen[key] = true
	}
}

func FuzzPartition(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 8, 10, 1, 0, 0, 16, 52, 216, 0, 0, 15})
	f.Fuzz(func(t *testing.T, data []byte) {
		var sets []*netipx.IPSet
		for len(data) >= 5 && len(sets) < 8 {
			p, err := netip.AddrFrom4([4]byte{data[0], data[1], data[2], data[3]}).Prefix(int(data[4] % 33))
			if err == nil {
				sets = append(sets, mustSet(p.String()))
			}
			data = data[5:]
		}
		checkPartition(t, sets, Partition(sets))
	})
}

func FuzzPorts(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		r := rand.New(rand.NewPCG(s1, s2))
		a, b := randomPorts(r), randomPorts(r)
		u := a.Union(b)
		checkCanonical(t, u)
		checkCanonical(t, a.Intersect(b))
		d := a.Difference(b)
		checkCanonical(t, d)
		if !d.Intersect(b).IsEmpty() || !d.Union(a.Intersect(b)).Equal(a) {
			t.Fatalf("%v \\ %v = %v is wrong", a, b, d)
		}
		if !u.Intersect(a).Equal(a) || !u.Intersect(b).Equal(b) {
			t.Fatalf("%v is not a superset of %v and %v", u, a, b)
		}
	})
}
