package netset

import (
	"net/netip"
	"sort"
	"strings"

	"go4.org/netipx"
)

// Everything is the whole IPv4 and IPv6 address space.
func Everything() *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.AddPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	b.AddPrefix(netip.MustParsePrefix("::/0"))
	s, _ := b.IPSet()
	return s
}

// Block returns the addresses of an ipBlock: cidr minus every except.
// CIDRs with host bits set mean their network, as the API server reads them.
func Block(cidr netip.Prefix, except []netip.Prefix) *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.AddPrefix(cidr.Masked())
	for _, e := range except {
		b.RemovePrefix(e.Masked())
	}
	s, _ := b.IPSet()
	return s
}

// Part is one piece of a partition: addresses that every given set either
// holds entirely or not at all.
type Part struct {
	Set *netipx.IPSet
	// In[i] reports whether sets[i] holds this part.
	In []bool
}

// ID names a part by its prefixes, IPv4 before IPv6, joined by commas.
func (p Part) ID() string { return strings.Join(PrefixStrings(p.Set), ",") }

// PrefixStrings returns the minimal prefixes of a set in ascending order.
func PrefixStrings(s *netipx.IPSet) []string {
	prefixes := s.Prefixes()
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p.String()
	}
	return out
}

// Partition splits the whole address space into the coarsest parts such
// that every set is a union of parts: addresses with the same membership in
// every set share a part, contiguous or not. Parts are ordered by their
// first address. Cost grows with the number of range boundaries, not with
// addresses.
func Partition(sets []*netipx.IPSet) []Part {
	// Cut points: where any set's range starts or ends.
	cuts := map[netip.Addr]bool{
		netip.IPv4Unspecified(): true,
		netip.IPv6Unspecified(): true,
	}
	for _, s := range sets {
		for _, r := range s.Ranges() {
			cuts[r.From()] = true
			if next := r.To().Next(); next.IsValid() && !(r.To().Is4() && next.Is6()) {
				cuts[next] = true
			}
		}
	}
	points := make([]netip.Addr, 0, len(cuts))
	for a := range cuts {
		points = append(points, a)
	}
	sort.Slice(points, func(i, j int) bool { return points[i].Less(points[j]) })
	type piece struct {
		r   netipx.IPRange
		key string
		in  []bool
	}
	var pieces []piece
	for i, from := range points {
		var to netip.Addr
		switch {
		case i+1 < len(points) && points[i+1].Is4() == from.Is4():
			to = points[i+1].Prev()
		case from.Is4():
			to = netip.MustParseAddr("255.255.255.255")
		default:
			to = netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
		}
		in := make([]bool, len(sets))
		var key strings.Builder
		for k, s := range sets {
			in[k] = s.Contains(from)
			if in[k] {
				key.WriteByte('1')
			} else {
				key.WriteByte('0')
			}
		}
		pieces = append(pieces, piece{r: netipx.IPRangeFrom(from, to), key: key.String(), in: in})
	}
	builders := map[string]*netipx.IPSetBuilder{}
	var order []string
	ins := map[string][]bool{}
	for _, p := range pieces {
		b, ok := builders[p.key]
		if !ok {
			b = &netipx.IPSetBuilder{}
			builders[p.key] = b
			order = append(order, p.key)
			ins[p.key] = p.in
		}
		b.AddRange(p.r)
	}
	parts := make([]Part, 0, len(order))
	for _, k := range order {
		s, _ := builders[k].IPSet()
		parts = append(parts, Part{Set: s, In: ins[k]})
	}
	return parts
}

// specialPurpose are the special-purpose ranges of RFC 6890 and its
// successors: private, shared, loopback, link-local, documentation,
// multicast, reserved. Everything else is public.
var specialPurpose = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001::/23", "2001:db8::/32",
	"fc00::/7", "fe80::/10", "ff00::/8",
}

// Public returns the publicly routable addresses, IPv4 and IPv6.
func Public() *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.AddPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	b.AddPrefix(netip.MustParsePrefix("::/0"))
	for _, p := range specialPurpose {
		b.RemovePrefix(netip.MustParsePrefix(p))
	}
	s, _ := b.IPSet()
	return s
}

// Intersect returns a ∩ b.
func Intersect(a, b *netipx.IPSet) *netipx.IPSet {
	var x netipx.IPSetBuilder
	x.AddSet(a)
	x.Intersect(b)
	s, _ := x.IPSet()
	return s
}

// Difference returns a \ b.
func Difference(a, b *netipx.IPSet) *netipx.IPSet {
	var x netipx.IPSetBuilder
	x.AddSet(a)
	x.RemoveSet(b)
	s, _ := x.IPSet()
	return s
}

// Overlaps reports whether two sets share an address: their ranges are
// sorted, so one merge pass decides.
func Overlaps(a, b *netipx.IPSet) bool {
	ra, rb := a.Ranges(), b.Ranges()
	i, j := 0, 0
	for i < len(ra) && j < len(rb) {
		switch {
		case ra[i].To().Less(rb[j].From()):
			i++
		case rb[j].To().Less(ra[i].From()):
			j++
		default:
			return true
		}
	}
	return false
}

// IPv4Count counts the IPv4 addresses of a set.
func IPv4Count(s *netipx.IPSet) uint64 {
	var n uint64
	for _, r := range s.Ranges() {
		if !r.From().Is4() {
			continue
		}
		f, t := r.From().As4(), r.To().As4()
		lo := uint64(f[0])<<24 | uint64(f[1])<<16 | uint64(f[2])<<8 | uint64(f[3])
		hi := uint64(t[0])<<24 | uint64(t[1])<<16 | uint64(t[2])<<8 | uint64(t[3])
		n += hi - lo + 1
	}
	return n
}
