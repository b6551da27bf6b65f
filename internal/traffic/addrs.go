package traffic

import (
	"math/bits"
	"net/netip"
)

// MaxAddrs bounds the prefixes kept per flow end. Past it, the closest
// prefixes are merged into their smallest common prefix (down to half of
// it), so the set always covers every address observed, in bounded memory;
// Widened then says it also covers addresses that were not observed.
const MaxAddrs = 128

// AddrSet is the observed addresses of one end of a flow: sorted,
// disjoint prefixes (single addresses until the set had to be merged).
type AddrSet struct {
	Prefixes []netip.Prefix
	// Widened says some prefix covers addresses that were not observed.
	Widened bool
}

// Add records an address. It allocates only for an address not yet
// covered.
func (s *AddrSet) Add(a netip.Addr) {
	ps := s.Prefixes
	if n := len(ps); n > 0 && ps[n-1].Contains(a) {
		return
	}
	// The first prefix starting after a; a lies in the one before it, if
	// anywhere.
	lo, hi := 0, len(ps)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ps[m].Addr().Compare(a) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo > 0 && ps[lo-1].Contains(a) {
		return
	}
	ps = append(ps, netip.Prefix{})
	copy(ps[lo+1:], ps[lo:])
	ps[lo] = netip.PrefixFrom(a, a.BitLen())
	s.Prefixes = ps
	if len(ps) > MaxAddrs {
		s.Prefixes = Shrink(ps, MaxAddrs/2)
		s.Widened = true
	}
}

// Merge adds every prefix of o.
func (s *AddrSet) Merge(o AddrSet) {
	if len(o.Prefixes) == 0 {
		return
	}
	s.Prefixes = Normalize(append(append([]netip.Prefix(nil), s.Prefixes...), o.Prefixes...))
	s.Widened = s.Widened || o.Widened
	if len(s.Prefixes) > MaxAddrs {
		s.Prefixes = Shrink(s.Prefixes, MaxAddrs/2)
		s.Widened = true
	}
}

// Normalize sorts prefixes and drops those another one contains.
func Normalize(ps []netip.Prefix) []netip.Prefix {
	for i := range ps {
		ps[i] = ps[i].Masked()
	}
	sortPrefixes(ps)
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Overlaps(p) {
			if out[n-1].Bits() > p.Bits() {
				out[n-1] = p
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

func sortPrefixes(ps []netip.Prefix) {
	// Insertion sort is enough for the few hundred prefixes of a set and
	// keeps this file free of a comparator closure per call.
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && lessPrefix(ps[j], ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func lessPrefix(a, b netip.Prefix) bool {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c < 0
	}
	return a.Bits() < b.Bits()
}

// Shrink merges sorted, disjoint prefixes until at most target remain,
// always merging the closest neighbours first (those whose common prefix
// is longest), so that the result covers as few unobserved addresses as
// this greedy step can. IPv4 and IPv6 are never merged together.
func Shrink(ps []netip.Prefix, target int) []netip.Prefix {
	for len(ps) > target {
		best := -1
		for i := 0; i+1 < len(ps); i++ {
			if b := CommonBits(ps[i], ps[i+1]); b > best {
				best = b
			}
		}
		if best < 0 {
			return ps
		}
		out := ps[:0]
		for i := 0; i < len(ps); {
			p := ps[i]
			j := i + 1
			for j < len(ps) && CommonBits(p, ps[j]) >= best {
				p = netip.PrefixFrom(p.Addr(), best).Masked()
				j++
			}
			out = append(out, p)
			i = j
		}
		ps = out
	}
	return ps
}

// CommonBits is the length of the longest prefix that covers both; -1
// when one is IPv4 and the other IPv6.
func CommonBits(p, q netip.Prefix) int {
	if p.Addr().Is4() != q.Addr().Is4() {
		return -1
	}
	a, b := p.Addr().As16(), q.Addr().As16()
	n := 0
	for i := range a {
		x := a[i] ^ b[i]
		if x != 0 {
			n += bits.LeadingZeros8(x)
			break
		}
		n += 8
	}
	if p.Addr().Is4() {
		n -= 96
	}
	return min(n, p.Bits(), q.Bits())
}
