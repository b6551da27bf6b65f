package engine

import (
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// The VPC layer's blocks (subnets, network ACL entries, routes) cut the
// address space into more parts than the NetworkPolicies and the security
// groups tell apart. Those two fences are judged once per class of parts
// they cannot tell apart, and the VPC layer (cached per subnet group and
// part) only on the parts of a class they let through: the added cost
// grows with what the other fences allow, not with identities × parts.

// partClass is a class of parts the NetworkPolicies cannot tell apart,
// cut into the subclasses the security groups cannot tell apart either.
type partClass struct {
	// sub are indexes into the parts, by subclass, in the parts' order.
	sub [][]int
}

// partClasses groups the parts by their membership in the first np sets
// (the NetworkPolicies' rule addresses), then by their membership in the
// next sg sets (the security groups' rules) and in unfiltered (which
// security groups judge apart without cutting the parts when no group
// fences egress). Classes and their members keep the parts' order.
func partClasses(parts []netset.Part, np, sg int, unfiltered *netipx.IPSet) []partClass {
	bits := func(in []bool) string {
		b := make([]byte, len(in))
		for i, x := range in {
			b[i] = '0'
			if x {
				b[i] = '1'
			}
		}
		return string(b)
	}
	var classes []partClass
	index := map[string]int{}
	subIndex := map[string]int{}
	for i, p := range parts {
		k := bits(p.In[:np])
		c, ok := index[k]
		if !ok {
			c = len(classes)
			index[k] = c
			classes = append(classes, partClass{})
		}
		sk := k + "|" + bits(append(p.In[np:np+sg:np+sg], unfiltered != nil && holds(unfiltered, p.Set)))
		sc, ok := subIndex[sk]
		if !ok {
			sc = len(classes[c].sub)
			subIndex[sk] = sc
			classes[c].sub = append(classes[c].sub, nil)
		}
		classes[c].sub[sc] = append(classes[c].sub[sc], i)
	}
	return classes
}

// fenceVerdicts are the NetworkPolicies' and the security groups' verdicts
// between an identity and an address part.
type fenceVerdicts struct {
	np, sg  Verdict
	sgKnown bool
	// unfiltered: the part is one security groups do not filter
	// (egress; partFences.unfiltered).
	unfiltered bool
	// sgShown, when set, is sg.Allowed held where it stays (the
	// subclass's partFences), which connections' layers may share.
	sgShown *netset.Ports
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
// address parts for one direction (egress: the identity starts it), as
// external gives them: the NetworkPolicies once per class of parts, the
// security groups once per subclass, the VPC layer only where they let
// something through; the fences' verdicts by the identity's place.
func (a *Analysis) externals(id *identity, egress bool, add func(c Connection, part *Peer)) {
	for _, class := range a.classes {
		np := side(id, nil, a.parts[class.sub[0][0]].part, egress)
		if np.IsEmpty() {
			continue
		}
		for _, sub := range class.sub {
			f := fenceVerdicts{np: np, both: np}
			// The security groups judge the parts of a subclass alike,
			// and whether they filter a part at all (unfiltered) is part
			// of the subclass's key: its first part's verdict stands for
			// every part of it.
			var first *partFences
			if a.sg != nil {
				first = a.partFences(id, sub[0], egress).groups(a, id, a.parts[sub[0]].part, egress)
				f.sg, f.sgKnown, f.unfiltered, f.sgShown = first.sg, first.sgKnown, first.unfiltered, &first.sg.Allowed
				f.both = f.both.and(f.sg)
			}
			if f.both.IsEmpty() {
				continue
			}
			// Parts of the subclass that got one VPC verdict (shared by
			// address class: sharedPartVerdict) get one connection.
			var made []madeConn
			for _, i := range sub {
				var pf *partFences
				if a.sg != nil || a.net != nil {
					part := a.parts[i].part
					pf = a.partFences(id, i, egress)
					if a.walk && a.sg != nil {
						// The walk judges every part on its own.
						f.unfiltered = pf.groups(a, id, part, egress).unfiltered
					}
					if a.net != nil {
						pf.vpc(a, id, part, egress)
					}
				}
				var net *VPCLayers
				if pf != nil && !a.walk {
					// The walk makes every part's connection on its own.
					net = pf.net.lay
				}
				if at := findMade(made, net, f.unfiltered); at >= 0 {
					if made[at].ok {
						add(made[at].c, a.parts[i])
					}
					continue
				}
				c, ok := a.externalWith(egress, f, pf)
				if net != nil {
					made = append(made, madeConn{net, f.unfiltered, c, ok})
				}
				if ok {
					add(c, a.parts[i])
				}
			}
		}
	}
}

// madeConn is a connection externals made for a part with the VPC
// verdict whose layers are net: the verdicts are made once per class and
// shared, so parts with the same net (and fences' verdicts) get the same
// connection.
type madeConn struct {
	net        *VPCLayers
	unfiltered bool
	c          Connection
	ok         bool
}

// findMade is the index of the connection made with net and unfiltered,
// -1 if none (or net is nil: no verdict to tell).
func findMade(made []madeConn, net *VPCLayers, unfiltered bool) int {
	if net == nil {
		return -1
	}
	for i := range made {
		if made[i].net == net && made[i].unfiltered == unfiltered {
			return i
		}
	}
	return -1
}
