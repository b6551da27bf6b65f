package engine

import (
	"strings"

	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// The VPC layer's blocks (subnets, network ACL entries, routes) cut the
// address space into more parts than the NetworkPolicies and the security
// groups tell apart. Those two fences are judged once per class of parts
// they cannot tell apart, and the VPC layer (cached per subnet group and
// part) only on the parts of a class they let through: the added cost
// grows with what the other fences allow, not with identities × parts.

// partClasses groups the parts (indexes) by their membership in the
// first fences sets, the ones the NetworkPolicies and the security groups
// are judged on, and in unfiltered (which security groups judge apart
// without cutting the parts when no group fences egress). Classes and
// their members keep the parts' order.
func partClasses(parts []netset.Part, fences int, unfiltered *netipx.IPSet) [][]int {
	var classes [][]int
	index := map[string]int{}
	for i, p := range parts {
		var key strings.Builder
		for _, in := range p.In[:fences] {
			key.WriteByte(map[bool]byte{false: '0', true: '1'}[in])
		}
		key.WriteByte(map[bool]byte{false: '0', true: '1'}[unfiltered != nil && holds(unfiltered, p.Set)])
		k := key.String()
		c, ok := index[k]
		if !ok {
			c = len(classes)
			index[k] = c
			classes = append(classes, nil)
		}
		classes[c] = append(classes[c], i)
	}
	return classes
}

// fenceVerdicts are the NetworkPolicies' and the security groups' verdicts
// between an identity and an address part.
type fenceVerdicts struct {
	np, sg  Verdict
	sgKnown bool
	// both is np and sg together.
	both Verdict
}

// fences judges the NetworkPolicies' verdict np and the security groups
// between id and part.
func (a *Analysis) fences(id *identity, part *netipx.IPSet, egress bool, np Verdict) fenceVerdicts {
	f := fenceVerdicts{np: np, both: np}
	if a.sg != nil {
		f.sg, f.sgKnown = a.sg.partVerdict(id.groups, part, egress)
		f.both = f.both.and(f.sg)
	}
	return f
}

// externals calls add with each connection between an identity and the
// address parts, egress (the identity starts it) and ingress, as
// external gives them: the NetworkPolicies and security groups once per
// class of parts, the VPC layer only where they let something through.
func (a *Analysis) externals(id *identity, add func(c Connection, part *Peer, egress bool)) {
	for _, class := range a.classes {
		first := a.parts[class[0]].part
		for _, egress := range []bool{true, false} {
			np := side(id, nil, first, egress)
			if np.IsEmpty() {
				continue
			}
			f := a.fences(id, first, egress, np)
			if f.both.IsEmpty() {
				continue
			}
			for _, i := range class {
				if c, ok := a.externalWith(id, a.parts[i], egress, f); ok {
					add(c, a.parts[i], egress)
				}
			}
		}
	}
}
