package engine

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go4.org/netipx"
)

// Reach asks the security groups and the VPC layer once per allowed pair
// and once per identity, address part and direction. Their verdicts read
// of a pod identity only its place: its groups, the nodes it may run on
// (which give its subnets) and whether it has an interface of its own
// (placeKey). places numbers the places and keeps those verdicts in
// slices by place, so a verdict is a slice look-up instead of a string
// key, a map of identities and a map of parts per pair.

// places is the fences' verdicts by place, each computed on first use.
type places struct {
	// of is each identity's place, by identity index.
	of []int32
	n  int
	// pairs[s*n+d] is the verdict between two places' pods (nil when
	// n*n is too large to hold; then each pair asks the fences).
	pairs []atomic.Pointer[pairFences]
	// parts[(place*len(a.parts)+part)*2+egress] is the verdict between a
	// place's pods and an address part.
	parts []atomic.Pointer[partFences]
	// classes number the distinct verdicts of pairs (pairFences.class)
	// by fenceKey.
	classMu sync.Mutex
	classes map[string]int32
}

// maxPlaceCells bounds each of the slices: a world whose every identity
// is a place of its own gets its verdicts from the fences' own caches.
const maxPlaceCells = 1 << 22

// pairFences is what the security groups and the VPC layer decide between
// the pods of two places.
type pairFences struct {
	sg Verdict
	// sgShown is set when both sides' groups are known: the connection's
	// layers then show the groups' verdict.
	sgShown bool
	net     vpcVerdict
	// class numbers the distinct verdicts among the pairs of places (-1
	// when not numbered): pairs of places the fences judge alike share
	// the connections Reach makes of them (pairMemo).
	class int32
}

// partFences is what the security groups and the VPC layer decide between
// the pods of one place and one address part, for one direction. Each
// fence is judged when first asked: the VPC layer only where the other
// fences let something through.
type partFences struct {
	sg      Verdict
	sgKnown bool
	// unfiltered: the part is one security groups do not filter (egress).
	unfiltered bool
	sgOnce     sync.Once
	net        vpcVerdict
	netOnce    sync.Once
}

// groups is the security groups' side of f (a.sg not nil).
func (f *partFences) groups(a *Analysis, id *identity, part *netipx.IPSet, egress bool) *partFences {
	f.sgOnce.Do(func() {
		f.sg, f.sgKnown = a.sg.partVerdict(id.groups, part, egress)
		f.unfiltered = egress && holds(a.sg.unfiltered, part)
	})
	return f
}

// vpc is the VPC layer's side of f (a.net not nil).
func (f *partFences) vpc(a *Analysis, id *identity, part *netipx.IPSet, egress bool) *partFences {
	f.netOnce.Do(func() {
		if a.walk {
			// The walk judges every part on its own.
			f.net = a.net.partVerdict(id, part, egress)
			return
		}
		f.net = a.net.sharedPartVerdict(id, part, egress)
	})
	return f
}

// newPlaces numbers the identities' places; nil when neither security
// groups nor the VPC layer were given (nothing to hold).
func (a *Analysis) newPlaces() *places {
	if a.sg == nil && a.net == nil {
		return nil
	}
	ids := a.g.identities
	x := &places{of: make([]int32, len(ids))}
	seen := map[string]int32{}
	for _, id := range ids {
		k := placeKey(id)
		p, ok := seen[k]
		if !ok {
			p = int32(len(seen))
			seen[k] = p
		}
		x.of[id.index] = p
	}
	x.n = len(seen)
	x.classes = map[string]int32{}
	if x.n*x.n <= maxPlaceCells {
		x.pairs = make([]atomic.Pointer[pairFences], x.n*x.n)
	}
	if x.n*len(a.parts)*2 <= maxPlaceCells {
		x.parts = make([]atomic.Pointer[partFences], x.n*len(a.parts)*2)
	}
	return x
}

// pairFences is the fences' verdict between s's and d's pods, from the
// slices when the places are numbered (and the walk is not asked for).
func (a *Analysis) pairFences(s, d *identity) *pairFences {
	x := a.places
	var slot *atomic.Pointer[pairFences]
	if x != nil && x.pairs != nil && !a.walk {
		slot = &x.pairs[int(x.of[s.index])*x.n+int(x.of[d.index])]
		if f := slot.Load(); f != nil {
			return f
		}
	}
	f := &pairFences{class: -1}
	if a.sg != nil {
		f.sg, _ = a.sg.podPair(s, d)
		f.sgShown = a.sg.known(s.groups) && a.sg.known(d.groups)
	}
	if a.net != nil {
		f.net = a.net.podPair(s, d)
	}
	if slot != nil {
		k := fenceKey(f)
		x.classMu.Lock()
		c, ok := x.classes[k]
		if !ok {
			c = int32(len(x.classes))
			x.classes[k] = c
		}
		x.classMu.Unlock()
		f.class = c
		slot.Store(f)
	}
	return f
}

// fenceKey is everything fenced reads of a pair's verdict: the security
// groups' verdict and whether it is shown, and the VPC layer's network
// ACL and route verdicts (its total and layers are made of them).
func fenceKey(f *pairFences) string {
	var b strings.Builder
	verdict := func(v *Verdict) {
		if v == nil {
			b.WriteString("nil|")
			return
		}
		b.WriteString(v.Allowed.String())
		b.WriteByte('|')
		b.WriteString(v.Unknown.String())
		b.WriteByte('|')
		for _, r := range v.Reasons {
			b.WriteString(r)
			b.WriteByte(0)
		}
		b.WriteByte('|')
	}
	verdict(&f.sg)
	fmt.Fprintf(&b, "%v|", f.sgShown)
	verdict(f.net.acl)
	verdict(f.net.route)
	return b.String()
}

// fenceClass is the class of the verdict between s's and d's places
// (pairFences.class); -1 when the pairs of places are not numbered (or
// the walk is asked for).
func (a *Analysis) fenceClass(s, d *identity) int32 {
	if x := a.places; x == nil || x.pairs == nil || a.walk {
		return -1
	}
	return a.pairFences(s, d).class
}

// partFences is the fences' verdicts between id's pods and the address
// part a.parts[i], from the slices as pairFences; each fence is judged on
// first use (partFences.groups, partFences.vpc).
func (a *Analysis) partFences(id *identity, i int, egress bool) *partFences {
	x := a.places
	if x == nil || x.parts == nil || a.walk {
		return &partFences{}
	}
	k := (int(x.of[id.index])*len(a.parts) + i) * 2
	if egress {
		k++
	}
	slot := &x.parts[k]
	if f := slot.Load(); f != nil {
		return f
	}
	slot.CompareAndSwap(nil, &partFences{})
	return slot.Load()
}

// extClasses group the identities whose connections with the address
// parts are the same, but for the identity's name, for one direction:
// judged alike by the NetworkPolicies (the same policies isolate them for
// that direction, and named ports, which resolve on the destination,
// resolve alike on them for ingress), by the tiers (one subject class:
// the eks profile's own-node acceptance depends on the part alone) and by
// the security groups and the VPC layer (one place). A host-network
// identity, or one with doubts, is a class of its own. Reach computes
// each class's connections once and hands them to every member.
type extClasses struct {
	// of is each identity's class by direction (0 ingress, 1 egress);
	// lists the classes' connections, each computed on first use.
	of    [2][]int32
	lists [2][]atomic.Pointer[[]extConn]
}

// extConn is one connection of an identity with an address part; its
// Src and Dst are filled in per peer.
type extConn struct {
	c    Connection
	part *Peer
}

func (a *Analysis) newExtClasses() *extClasses {
	ids := a.g.identities
	x := &extClasses{}
	var b strings.Builder
	for dir := range 2 {
		egress := dir == 1
		x.of[dir] = make([]int32, len(ids))
		at := map[string]int32{}
		for _, id := range ids {
			b.Reset()
			if id.hostNetwork || len(id.doubt) > 0 {
				fmt.Fprintf(&b, "own%d", id.index)
			} else {
				certain, maybe := id.ingress, id.maybeIngress
				if egress {
					certain, maybe = id.egress, id.maybeEgress
				}
				for _, ps := range [][]*policy{certain, maybe} {
					for _, p := range ps {
						fmt.Fprintf(&b, "%p,", p)
						if egress {
							continue
						}
						for _, r := range p.ingress {
							if len(r.named) > 0 {
								b.WriteString(r.allowed(id).String())
							}
							b.WriteByte(';')
						}
					}
					b.WriteByte('|')
				}
				if id.tiers != nil {
					fmt.Fprintf(&b, "t%d", id.tiers.subject(id, egress))
				}
				if a.places != nil {
					fmt.Fprintf(&b, "|p%d", a.places.of[id.index])
				}
			}
			c, ok := at[b.String()]
			if !ok {
				c = int32(len(at))
				at[b.String()] = c
			}
			x.of[dir][id.index] = c
		}
		x.lists[dir] = make([]atomic.Pointer[[]extConn], len(at))
	}
	return x
}

// each calls add with each connection between id and the address parts
// for one direction, those of its class (computed by its first member
// asked), shared by the class's members: add must not modify it. x nil
// computes them for id alone.
func (x *extClasses) each(a *Analysis, id *identity, egress bool, add func(c *Connection, part *Peer)) {
	if x == nil {
		a.externals(id, egress, func(c Connection, part *Peer) { add(&c, part) })
		return
	}
	dir := 0
	if egress {
		dir = 1
	}
	slot := &x.lists[dir][x.of[dir][id.index]]
	l := slot.Load()
	if l == nil {
		var cs []extConn
		a.externals(id, egress, func(c Connection, part *Peer) { cs = append(cs, extConn{c, part}) })
		l = &cs
		slot.Store(l)
	}
	// The class's connections are shared by its members (read only, as
	// ReachCompact's templates are).
	for i := range *l {
		add(&(*l)[i].c, (*l)[i].part)
	}
}
