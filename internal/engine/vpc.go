package engine

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// The VPC layer: network ACLs and routes between a pod's subnet and the
// other end. Pods take their addresses from their node's subnet (the VPC
// CNI's default; with custom networking, the ENIConfig's: podnet.go), so
// a pod's subnet is its node instance's; where that is not known the
// layer's verdict is unknown, never denied. Verdicts are computed once
// per subnet and address part (or pair of subnets), not per pod.

// netLayer is the VPC layer, compiled.
type netLayer struct {
	subnets map[string]*model.Subnet
	// byAddr lists the subnets' blocks, for finding an address's subnet.
	byAddr []subnetBlock
	vpcs   map[string]*model.VPC
	// acls maps subnets to their network ACL; haveACLs is false when no
	// network ACL was given at all (the layer is then not judged).
	acls     map[string]*compiledACL
	haveACLs bool
	// explicit maps subnets to their associated route table, mainTable
	// VPCs to their main table; haveRoutes as haveACLs.
	explicit   map[string]*compiledRT
	mainTable  map[string]*compiledRT
	haveRoutes bool
	nats       map[string]*model.NATGateway
	endpoints  map[string]*model.VPCEndpoint
	// nodeSubnet maps node names to their instance's subnet; podSubnet
	// and branchSubnet to their pods' (custom networking may put them
	// elsewhere), nil where not known.
	nodeSubnet, podSubnet, branchSubnet map[string]*model.Subnet
	// sets cut the address space: subnets, ACL entries, route blocks.
	sets  []*netipx.IPSet
	cache sync.Map
	// groups maps identities and subnet-set keys to subnet groups;
	// verdicts caches combined verdicts by group.
	groups, verdicts sync.Map
	// index is the same caches as slices, filled by prepare before the
	// analysis runs: reach asks them once per allowed pair and part.
	index *netIndex
	// classes are reach's verdicts by address class (sharedPartVerdict),
	// set by prepare.
	classes *addrClasses
	// unfiltered are the instance's link-local services and the VPC's
	// DNS resolver, which network ACLs do not filter either.
	unfiltered *netipx.IPSet
}

type subnetBlock struct {
	prefix netip.Prefix
	subnet *model.Subnet
}

// newNetLayer compiles the VPC layer; nil when neither network ACLs nor
// route tables were given.
func newNetLayer(w *model.World) *netLayer {
	if len(w.Network.NetworkACLs) == 0 && len(w.Network.RouteTables) == 0 {
		return nil
	}
	return compileNet(w)
}

// compileNet compiles the VPC layer, whatever of it was given.
func compileNet(w *model.World) *netLayer {
	net := &w.Network
	n := &netLayer{subnets: map[string]*model.Subnet{}, vpcs: map[string]*model.VPC{}, acls: map[string]*compiledACL{},
		explicit: map[string]*compiledRT{}, mainTable: map[string]*compiledRT{}, nats: map[string]*model.NATGateway{},
		endpoints: map[string]*model.VPCEndpoint{}, nodeSubnet: map[string]*model.Subnet{},
		podSubnet: map[string]*model.Subnet{}, branchSubnet: map[string]*model.Subnet{},
		haveACLs: len(net.NetworkACLs) > 0, haveRoutes: len(net.RouteTables) > 0, unfiltered: unfilteredSet(w)}
	add := func(p netip.Prefix) {
		var b netipx.IPSetBuilder
		b.AddPrefix(p.Masked())
		s, _ := b.IPSet()
		n.sets = append(n.sets, s)
	}
	for _, v := range net.VPCs {
		n.vpcs[v.ID] = v
		for _, p := range v.CIDRs {
			add(p)
		}
	}
	for _, s := range net.Subnets {
		n.subnets[s.ID] = s
		for _, p := range s.Prefixes() {
			n.byAddr = append(n.byAddr, subnetBlock{prefix: p.Masked(), subnet: s})
			add(p)
		}
	}
	// A subnet without an explicit association uses its VPC's default
	// network ACL.
	defaults := map[string]*compiledACL{}
	for _, a := range net.NetworkACLs {
		c := compileACL(a)
		for _, s := range a.Subnets {
			n.acls[s] = c
		}
		if a.IsDefault {
			defaults[a.VPC] = c
		}
		for _, e := range a.Entries {
			add(e.CIDR)
		}
	}
	for _, s := range net.Subnets {
		if n.acls[s.ID] == nil && defaults[s.VPC] != nil {
			n.acls[s.ID] = defaults[s.VPC]
		}
	}
	lists := map[string]*model.PrefixList{}
	for _, pl := range w.PrefixLists {
		lists[pl.ID] = pl
	}
	for _, rt := range net.RouteTables {
		c := compileRT(rt, lists)
		for _, as := range rt.Associations {
			if as.Main {
				n.mainTable[rt.VPC] = c
			}
			if as.Subnet != "" {
				n.explicit[as.Subnet] = c
			}
		}
		n.sets = append(n.sets, c.sets...)
	}
	for _, g := range net.NATGateways {
		n.nats[g.ID] = g
	}
	for _, e := range net.Endpoints {
		n.endpoints[e.ID] = e
	}
	instances := NodeInstances(w)
	pn := newPodNetwork(w)
	for _, node := range w.Nodes {
		if in := instances[node.Name]; in != nil {
			n.nodeSubnet[node.Name] = n.instanceSubnet(in)
		}
		id := subnetID(n.nodeSubnet[node.Name])
		if s, why := pn.subnet(node, id, false); why == "" {
			n.podSubnet[node.Name] = n.subnets[s]
		}
		if s, why := pn.subnet(node, id, true); why == "" {
			n.branchSubnet[node.Name] = n.subnets[s]
		}
	}
	return n
}

// instanceSubnet is an instance's subnet: as given, else the one holding
// its first private address.
func (n *netLayer) instanceSubnet(in *model.Instance) *model.Subnet {
	if s := n.subnets[in.Subnet]; s != nil {
		return s
	}
	for _, ip := range in.PrivateIPs {
		if s := n.subnetOf(ip); s != nil {
			return s
		}
	}
	return nil
}

// subnetOf is the subnet holding an address; nil when none, or when
// subnets of several VPCs overlap there.
func (n *netLayer) subnetOf(a netip.Addr) *model.Subnet {
	var found *model.Subnet
	for _, b := range n.byAddr {
		if b.prefix.Contains(a) {
			if found != nil && found != b.subnet {
				return nil
			}
			found = b.subnet
		}
	}
	return found
}

// subnetGroup is a distinct set of subnets pods may be in: verdicts are
// cached by group, so their cost grows with distinct subnet sets, not
// with identities or pairs.
type subnetGroup struct {
	subnets []*model.Subnet
	// at is the group's place in netIndex.groups; -1 when the group
	// came after prepare.
	at int
}

// netIndex holds the subnet group of every identity and the verdicts by
// group and part (or pair of groups) in slices, so that the per-pair and
// per-part look-ups of reach neither box keys nor hash them.
type netIndex struct {
	byIdentity map[*identity]*subnetGroup
	groups     []*subnetGroup
	parts      map[*netipx.IPSet]int
	// pairs[s*len(groups)+d]; byPart[(g*len(parts)+p)*2+egress].
	pairs, byPart []atomic.Pointer[vpcVerdict]
	// subnetAt numbers the groups' subnets; classes[(s*len(parts)+p)*2+
	// egress] is subnet s's class verdict for part p (sharedPartVerdict).
	subnetAt map[*model.Subnet]int
	classes  []atomic.Pointer[classVerdict]
}

// prepare finds the subnet group of every identity and sizes the indexed
// caches for the groups and parts. Call it before any concurrent use.
func (n *netLayer) prepare(ids []*identity, parts []*netipx.IPSet) {
	x := &netIndex{byIdentity: make(map[*identity]*subnetGroup, len(ids)), parts: make(map[*netipx.IPSet]int, len(parts))}
	for _, id := range ids {
		g := n.groupOf(id)
		if g.at < 0 || g.at >= len(x.groups) || x.groups[g.at] != g {
			g.at = len(x.groups)
			x.groups = append(x.groups, g)
		}
		x.byIdentity[id] = g
	}
	for i, p := range parts {
		x.parts[p] = i
	}
	x.subnetAt = map[*model.Subnet]int{}
	for _, g := range x.groups {
		for _, s := range g.subnets {
			if _, ok := x.subnetAt[s]; !ok && s != nil {
				x.subnetAt[s] = len(x.subnetAt)
			}
		}
	}
	x.classes = make([]atomic.Pointer[classVerdict], len(x.subnetAt)*len(parts)*2)
	x.pairs = make([]atomic.Pointer[vpcVerdict], len(x.groups)*len(x.groups))
	x.byPart = make([]atomic.Pointer[vpcVerdict], len(x.groups)*len(parts)*2)
	n.index = x
	n.classes = n.newAddrClasses()
}

// pairSlot is the slot of a pair of groups' verdict in the indexed caches;
// nil when a group came after prepare (partSlot: or the part).
func (x *netIndex) pairSlot(s, d *subnetGroup) *atomic.Pointer[vpcVerdict] {
	if x == nil || !x.holds(s) || !x.holds(d) {
		return nil
	}
	return &x.pairs[s.at*len(x.groups)+d.at]
}

func (x *netIndex) partSlot(g *subnetGroup, part *netipx.IPSet, egress bool) *atomic.Pointer[vpcVerdict] {
	if x == nil || !x.holds(g) {
		return nil
	}
	p, ok := x.parts[part]
	if !ok {
		return nil
	}
	i := (g.at*len(x.parts) + p) * 2
	if egress {
		i++
	}
	return &x.byPart[i]
}

func (x *netIndex) holds(g *subnetGroup) bool {
	return g.at >= 0 && g.at < len(x.groups) && x.groups[g.at] == g
}

// groupOf is the subnet group of an identity, computed once.
func (n *netLayer) groupOf(id *identity) *subnetGroup {
	if n.index != nil {
		if g := n.index.byIdentity[id]; g != nil {
			return g
		}
	}
	if g, ok := n.groups.Load(id); ok {
		return g.(*subnetGroup)
	}
	subnets := n.podSubnets(id)
	var key strings.Builder
	for _, s := range subnets {
		key.WriteString(subnetID(s) + ",")
	}
	g, _ := n.groups.LoadOrStore(key.String(), &subnetGroup{subnets: subnets, at: -1})
	n.groups.Store(id, g)
	return g.(*subnetGroup)
}

// podSubnets are the subnets the pods of an identity may take addresses
// in: their nodes' subnets; a nil entry stands for one not known.
func (n *netLayer) podSubnets(id *identity) []*model.Subnet {
	if len(id.nodes) == 0 {
		return []*model.Subnet{nil}
	}
	seen := map[*model.Subnet]bool{}
	var out []*model.Subnet
	bySubnet := n.podSubnet
	switch {
	case id.hostNetwork:
		bySubnet = n.nodeSubnet
	case id.ownENI:
		bySubnet = n.branchSubnet
	}
	for _, node := range id.nodes {
		s := bySubnet[node]
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return subnetID(out[i]) < subnetID(out[j]) })
	return out
}

func subnetID(s *model.Subnet) string {
	if s == nil {
		return ""
	}
	return s.ID
}

// NetHop is one step of a path across the VPC layer: a network ACL that a
// packet (or its reply) crosses, or a route table, with what it decides.
type NetHop struct {
	// Layer is "network ACL" or "route".
	Layer string `json:"layer"`
	// Step says which packets and which boundary ("request out of
	// subnet-a", "reply into subnet-a").
	Step string `json:"step"`
	// Reply is set for the hops of the connection's reply packets.
	Reply   bool         `json:"reply,omitempty"`
	Allowed netset.Ports `json:"allowed"`
	Unknown netset.Ports `json:"unknown,omitzero"`
	Reasons []string     `json:"reasons,omitempty"`
	// ACLRules are the entries that decide, Routes the tables taken.
	ACLRules []ACLRuleRef `json:"aclRules,omitempty"`
	Routes   []RouteHop   `json:"routes,omitempty"`
}

// Path is the VPC layer's verdict for one subnet of the pods: each fence
// on its own, and the hops.
type Path struct {
	Subnet string   `json:"subnet"`
	ACL    *Verdict `json:"networkACLs,omitempty"`
	Route  *Verdict `json:"routes,omitempty"`
	Hops   []NetHop `json:"hops"`
}

const (
	replyWhy = "a network ACL admits only part of the ports the client may pick for the reply (1024-65535: NAT gateways, load balancers, Lambda and most clients pick there; Linux 32768-61000)"
	podWhy   = "the pods' addresses are not in the inputs: a network ACL entry covering part of their subnet may or may not match them"
)

// aclStep is one crossing of a subnet's boundary by a request or a reply.
type aclStep struct {
	sub    *model.Subnet
	egress bool
	match  aclMatch
	asked  netset.Ports
	step   string
	reply  bool
}

// aclHop evaluates one direction of a subnet's ACL as a hop.
func (n *netLayer) aclHop(s *model.Subnet, egress bool, match aclMatch, asked netset.Ports, step string, reply bool, sure netset.Ports) (Verdict, NetHop) {
	hop := NetHop{Layer: "network ACL", Step: step, Reply: reply}
	c := n.acls[s.ID]
	if c == nil {
		why := fmt.Sprintf("the network ACL of %s is not in the inputs (aws ec2 describe-network-acls)", s.ID)
		v := unknownAll(why)
		hop.Unknown, hop.Reasons = v.Unknown, v.Reasons
		return v, hop
	}
	d := c.decide(egress, match, asked, podWhy)
	v := d.Verdict
	if reply {
		v = replyVerdict(d, sure, asked, replyWhy)
	}
	hop.Allowed, hop.Unknown, hop.Reasons, hop.ACLRules = v.Allowed, v.Unknown, v.Reasons, d.Rules
	return v, hop
}

// unknownSubnet is the path of pods whose subnet is not known.
func unknownSubnet(n *netLayer, what string) Path {
	why := "the subnet of " + what + " is not known: give the nodes' instances (aws ec2 describe-instances) and their subnets (aws ec2 describe-subnets)"
	p := Path{}
	v := unknownAll(why)
	if n.haveACLs {
		p.ACL = &v
	}
	if n.haveRoutes {
		p.Route = &v
	}
	p.Hops = []NetHop{{Layer: "subnet", Step: "the pods' subnet", Unknown: v.Unknown, Reasons: v.Reasons}}
	return p
}

type pathKey struct {
	subnet *model.Subnet
	part   *netipx.IPSet
	egress bool
}

// addrPath is the VPC layer between pods of subnet s and an address (the
// first of a part: parts are cut by every block the layer knows, so all
// of a part's addresses fare alike). egress: the pods start the
// connection; otherwise the address does. Routes judge what the pods
// start; a connection started outside comes in through a load balancer or
// a peering whose return path AWS keeps, which exposures judge.
func (n *netLayer) addrPath(s *model.Subnet, a netip.Addr, egress bool) Path {
	return n.path(s, a, egress, true)
}

// path is addrPath; without hops (reach's classPath, which shows none)
// it leaves the hops out and names no step, saving their strings.
func (n *netLayer) path(s *model.Subnet, a netip.Addr, egress, withHops bool) Path {
	say := func(words ...string) string {
		if !withHops {
			return ""
		}
		return strings.Join(words, "")
	}
	p := Path{Subnet: s.ID}
	acl, route := allowAll(), allowAll()
	d := n.subnetOf(a)
	if n.unfiltered.Contains(a) {
		// "Network ACLs don't filter traffic destined to and from" the
		// Amazon DNS server, instance metadata, the ECS task metadata
		// endpoint, Windows activation, the Time Sync Service (AWS VPC
		// User Guide): they answer on the instance, past no route.
		if withHops {
			p.Hops = []NetHop{{Layer: "network ACL", Step: a.String() + " is an instance service or the VPC's DNS resolver: no network ACL or route filters it", Allowed: netset.AllPorts()}}
		}
		if n.haveACLs {
			p.ACL = &acl
		}
		if n.haveRoutes {
			p.Route = &route
		}
		return p
	}
	if d == s {
		if withHops {
			p.Hops = []NetHop{{Layer: "network ACL", Step: "within " + s.ID + ": traffic between addresses of one subnet crosses no network ACL and no route", Allowed: netset.AllPorts()}}
		}
		if n.haveACLs {
			p.ACL = &acl
		}
		if n.haveRoutes {
			p.Route = &route
		}
		return p
	}
	inVPC := d != nil && d.VPC == s.VPC
	// The client's ephemeral ports: the pods' (Linux) inside the VPC,
	// SNATed to random ports outside it; any for other clients.
	sure := anyEphemeral
	if egress && inVPC {
		sure = linuxEphemeral
	}
	me, other := matchAddr(a), matchRange(s.Prefixes())
	if n.haveACLs {
		var steps []aclStep
		type st = aclStep
		if egress {
			steps = append(steps, st{s, true, me, netset.AllPorts(), say("request out of ", s.ID, " to ", a.String()), false})
			if inVPC {
				steps = append(steps, st{d, false, other, netset.AllPorts(), say("request into ", d.ID, " from ", s.ID), false},
					st{d, true, other, anyEphemeral, say("reply out of ", d.ID, " to ", s.ID, "'s ephemeral ports"), true})
			}
			steps = append(steps, st{s, false, me, anyEphemeral, say("reply into ", s.ID, " from ", a.String(), " to the pods' ephemeral ports"), true})
		} else {
			if inVPC {
				steps = append(steps, st{d, true, other, netset.AllPorts(), say("request out of ", d.ID, " to ", s.ID), false})
			}
			steps = append(steps, st{s, false, me, netset.AllPorts(), say("request into ", s.ID, " from ", a.String()), false},
				st{s, true, me, anyEphemeral, say("reply out of ", s.ID, " to ", a.String(), "'s ephemeral ports"), true})
			if inVPC {
				steps = append(steps, st{d, false, other, anyEphemeral, say("reply into ", d.ID, " from ", s.ID), true})
			}
		}
		for _, x := range steps {
			v, hop := n.aclHop(x.sub, x.egress, x.match, x.asked, x.step, x.reply, sure)
			acl = acl.and(v)
			if withHops {
				p.Hops = append(p.Hops, hop)
			}
		}
		p.ACL = &acl
	}
	if n.haveRoutes && egress {
		v, hops := n.route(s, a)
		route = v
		p.Route = &route
		if withHops {
			hop := NetHop{Layer: "route", Step: "route from " + s.ID + " to " + a.String(), Allowed: v.Allowed, Unknown: v.Unknown, Reasons: v.Reasons, Routes: hops}
			// Hops in the order a packet meets them: out through the
			// subnet's network ACL, then the route table.
			at := 0
			if len(p.Hops) > 0 {
				at = 1
			}
			p.Hops = append(p.Hops[:at], append([]NetHop{hop}, p.Hops[at:]...)...)
		}
		if nat := natOf(hops); nat != nil && n.haveACLs && n.subnets[nat.Subnet] != nil && n.subnets[nat.Subnet] != s {
			// Through a NAT gateway the packets cross its subnet's
			// network ACL too, out and back.
			ns := n.subnets[nat.Subnet]
			for _, x := range []aclStep{
				{ns, false, other, netset.AllPorts(), say("request into NAT gateway ", nat.ID, "'s subnet ", ns.ID, " from ", s.ID), false},
				{ns, true, me, netset.AllPorts(), say("request out of ", ns.ID, " to ", a.String()), false},
				{ns, false, me, anyEphemeral, say("reply into ", ns.ID, " from ", a.String(), " to the NAT gateway's ports"), true},
				{ns, true, other, anyEphemeral, say("reply out of ", ns.ID, " to ", s.ID), true},
			} {
				v, hop := n.aclHop(x.sub, x.egress, x.match, x.asked, x.step, x.reply, anyEphemeral)
				acl = acl.and(v)
				if withHops {
					p.Hops = append(p.Hops, hop)
				}
			}
			p.ACL = &acl
		}
	}
	return p
}

// natOf is the NAT gateway a route's hops go through, if any.
func natOf(hops []RouteHop) *model.NATGateway {
	for _, h := range hops {
		if h.nat != nil {
			return h.nat
		}
	}
	return nil
}

// pairPath is the VPC layer between pods of subnet s (the clients) and
// pods of subnet d.
func (n *netLayer) pairPath(s, d *model.Subnet) Path {
	p := Path{Subnet: s.ID}
	acl, route := allowAll(), allowAll()
	if s == d {
		p.Hops = []NetHop{{Layer: "network ACL", Step: "within " + s.ID + ": no network ACL, no route", Allowed: netset.AllPorts()}}
	} else {
		src, dst := matchRange(s.Prefixes()), matchRange(d.Prefixes())
		if n.haveACLs {
			for _, x := range []aclStep{
				{s, true, dst, netset.AllPorts(), "request out of " + s.ID + " to " + d.ID, false},
				{d, false, src, netset.AllPorts(), "request into " + d.ID + " from " + s.ID, false},
				{d, true, src, anyEphemeral, "reply out of " + d.ID + " to " + s.ID + "'s ephemeral ports", true},
				{s, false, dst, anyEphemeral, "reply into " + s.ID + " from " + d.ID, true},
			} {
				v, hop := n.aclHop(x.sub, x.egress, x.match, x.asked, x.step, x.reply, linuxEphemeral)
				acl = acl.and(v)
				p.Hops = append(p.Hops, hop)
			}
		}
		if n.haveRoutes {
			// Every address of d's blocks must take the same route for
			// the answer to be one.
			var vs []Verdict
			var hops []RouteHop
			for _, b := range d.Prefixes() {
				v, h := n.route(s, b.Addr())
				if c, _ := n.tableOf(s); c != nil {
					for _, e := range c.entries {
						if b.Overlaps(e.prefix) && e.prefix.Bits() > b.Bits() {
							v = unknownAll(fmt.Sprintf("route table %s has a route for part of %s (%s): the pods' addresses decide which applies", c.rt.ID, d.ID, routeText(&e)))
						}
					}
				}
				vs = append(vs, v)
				hops = append(hops, h...)
			}
			for _, v := range vs {
				route = route.and(v)
			}
			hop := NetHop{Layer: "route", Step: "route from " + s.ID + " to " + d.ID, Allowed: route.Allowed, Unknown: route.Unknown, Reasons: route.Reasons, Routes: hops}
			at := 0
			if len(p.Hops) > 0 {
				at = 1
			}
			p.Hops = append(p.Hops[:at], append([]NetHop{hop}, p.Hops[at:]...)...)
		}
	}
	if n.haveACLs {
		p.ACL = &acl
	}
	if n.haveRoutes {
		p.Route = &route
	}
	return p
}

// vpcVerdict is the VPC layer's verdict on one connection: each fence
// over every subnet the pods may be in.
type vpcVerdict struct {
	acl, route *Verdict
	paths      []Path
	// total is what both fences allow together.
	total Verdict
	// lay is layers' answer, made once: every connection the verdict
	// decides shares it (read only).
	lay *VPCLayers
}

// all is what both fences allow together.
func (v vpcVerdict) all() Verdict { return v.total }

func (v vpcVerdict) sum() Verdict {
	out := allowAll()
	if v.acl != nil {
		out = out.and(*v.acl)
	}
	if v.route != nil {
		out = out.and(*v.route)
	}
	return out
}

// combine joins the paths of the subnets the pods may be in: the inputs
// do not say which, so a fence surely allows what it allows from each.
func (n *netLayer) combine(paths []Path) vpcVerdict {
	var out vpcVerdict
	for i, p := range paths {
		join := func(dst **Verdict, v *Verdict) {
			if v == nil {
				return
			}
			if i == 0 || *dst == nil {
				c := *v
				*dst = &c
				return
			}
			c := either(**dst, *v)
			if len(paths) > 1 && !c.Unknown.IsEmpty() {
				c.Reasons = mergeReasons(c.Unknown, c.Reasons, []string{"the pods may run in several subnets, which decide differently"})
			}
			*dst = &c
		}
		join(&out.acl, p.ACL)
		join(&out.route, p.Route)
	}
	out.paths = paths
	out.total = out.sum()
	out.lay = out.layers()
	return out
}

// partVerdict is the VPC layer between an identity's pods and an address
// part: egress when the pods start the connection.
func (n *netLayer) partVerdict(id *identity, part *netipx.IPSet, egress bool) vpcVerdict {
	g := n.groupOf(id)
	slot := n.index.partSlot(g, part, egress)
	if slot != nil {
		if v := slot.Load(); v != nil {
			return *v
		}
	}
	key := groupPartKey{g, part, egress}
	if v, ok := n.verdicts.Load(key); ok {
		return v.(vpcVerdict)
	}
	rs := part.Ranges()
	if len(rs) == 0 {
		return vpcVerdict{}
	}
	v := n.addrVerdict(g, key, rs[0].From(), part, egress)
	if slot != nil {
		slot.Store(&v)
	}
	return v
}

type groupPartKey struct {
	g      *subnetGroup
	part   *netipx.IPSet
	egress bool
}

type groupPairKey struct{ s, d *subnetGroup }

func (n *netLayer) addrVerdict(g *subnetGroup, key groupPartKey, a netip.Addr, part *netipx.IPSet, egress bool) vpcVerdict {
	var paths []Path
	for _, s := range g.subnets {
		if s == nil {
			paths = append(paths, unknownSubnet(n, "the pods' nodes"))
			continue
		}
		pk := pathKey{subnet: s, part: part, egress: egress}
		if p, ok := n.cache.Load(pk); ok {
			paths = append(paths, p.(Path))
			continue
		}
		p := n.addrPath(s, a, egress)
		n.cache.Store(pk, p)
		paths = append(paths, p)
	}
	v := n.combine(paths)
	n.verdicts.Store(key, v)
	return v
}

// Reach asks the VPC layer about every place and address part, but the
// parts are cut by every subnet's blocks, network ACL entries and routes,
// and pods of one subnet cannot tell most of them apart: a partner range
// in another subnet's network ACL, say, cuts parts that this subnet's
// entries, routes and NAT gateway judge alike. addrClass names what
// addrPath reads of an address, so that the verdict (not the hops, which
// name the address) is computed once per subnet, direction and class.

// addrClasses holds the VPC layer's verdicts (paths without hops) by
// subnet, direction and address class.
type addrClasses struct {
	// subnets numbers the subnets for the class key; nats are the NAT
	// gateways' subnets; private is privateAndVPC.
	subnets map[*model.Subnet]int
	nats    []*model.Subnet
	private *netipx.IPSet
	mu      sync.Mutex
	paths   map[addrClassKey]*classVerdict
	// combined are several subnets' class verdicts joined (combine), by
	// the classes' numbers in the subnets' order: pods that may be in
	// any of many subnets meet few distinct joins, and parts that share
	// one share the verdict itself (externals reuses its connection).
	combined map[string]*vpcVerdict
}

// classVerdict is the verdict of one address class from one subnet: its
// path (without hops) and, for pods of that subnet alone, the layer's
// verdict made of it.
type classVerdict struct {
	path  Path
	alone vpcVerdict
	// n numbers the class verdicts (addrClasses.combined's key).
	n int
}

type addrClassKey struct {
	s      *model.Subnet
	egress bool
	class  string
}

func (n *netLayer) newAddrClasses() *addrClasses {
	x := &addrClasses{subnets: map[*model.Subnet]int{}, paths: map[addrClassKey]*classVerdict{}, combined: map[string]*vpcVerdict{}, private: privateAndVPC(n)}
	for _, b := range n.byAddr {
		if _, ok := x.subnets[b.subnet]; !ok {
			x.subnets[b.subnet] = len(x.subnets)
		}
	}
	ids := make([]string, 0, len(n.nats))
	for id := range n.nats {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	seen := map[*model.Subnet]bool{}
	for _, id := range ids {
		if s := n.subnets[n.nats[id].Subnet]; s != nil && !seen[s] {
			seen[s] = true
			x.nats = append(x.nats, s)
		}
	}
	return x
}

// addrClass is everything addrPath reads of address a for pods of subnet
// s: whether the instance's services hold it, its subnet, its family and
// whether it is public (the routes' internet and NAT gateways), which
// entry of s's route table and of each NAT gateway's subnet's table
// holds it, and which entries of s's network ACL and of each NAT gateway
// subnet's hold it. Two addresses of one class get the same verdicts from
// addrPath (TestAddrClassesAgreeWithPath); a change to what addrPath
// reads of the address must be added here.
func (n *netLayer) addrClass(x *addrClasses, s *model.Subnet, a netip.Addr) string {
	b := make([]byte, 0, 64)
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	num := func(i int) { b = binary.AppendVarint(b, int64(i)) }
	flag(n.unfiltered.Contains(a))
	flag(a.Is6())
	flag(!x.private.Contains(a))
	if d := n.subnetOf(a); d != nil {
		num(x.subnets[d])
	} else {
		num(-1)
	}
	route := func(s *model.Subnet) {
		c, _ := n.tableOf(s)
		if c == nil {
			num(-2)
			return
		}
		e, at := c.lookup(a), -1
		for i := range c.entries {
			if &c.entries[i] == e {
				at = i
			}
		}
		num(at)
	}
	acl := func(s *model.Subnet) {
		c := n.acls[s.ID]
		if c == nil {
			return
		}
		for _, es := range [][]aclEntry{c.in, c.out} {
			for _, e := range es {
				flag(e.e.CIDR.Contains(a))
			}
		}
	}
	route(s)
	acl(s)
	for _, ns := range x.nats {
		b = append(b, '|')
		route(ns)
		acl(ns)
	}
	return string(b)
}

// classPath is addrPath's verdicts (without hops) between pods of subnet
// s and address a, computed once per address class.
func (n *netLayer) classPath(s *model.Subnet, a netip.Addr, egress bool) *classVerdict {
	x := n.classes
	k := addrClassKey{s: s, egress: egress, class: n.addrClass(x, s, a)}
	x.mu.Lock()
	c, ok := x.paths[k]
	x.mu.Unlock()
	if ok {
		return c
	}
	full := n.path(s, a, egress, false)
	c = &classVerdict{path: Path{Subnet: full.Subnet, ACL: full.ACL, Route: full.Route}}
	c.alone = n.combine([]Path{c.path})
	x.mu.Lock()
	defer x.mu.Unlock()
	if first, ok := x.paths[k]; ok {
		// Another worker computed it first: keep one verdict per class.
		return first
	}
	c.n = len(x.paths)
	x.paths[k] = c
	return c
}

// sharedPartVerdict is partVerdict's verdict for reach, with the subnets'
// verdicts shared by address class (classPath): its paths have no hops,
// which reach does not show.
func (n *netLayer) sharedPartVerdict(id *identity, part *netipx.IPSet, egress bool) vpcVerdict {
	if n.classes == nil {
		return n.partVerdict(id, part, egress)
	}
	rs := part.Ranges()
	if len(rs) == 0 {
		return vpcVerdict{}
	}
	a := rs[0].From()
	g := n.groupOf(id)
	x := n.index
	at, indexed := -1, false
	if x != nil {
		at, indexed = x.parts[part]
	}
	// class is s's class verdict for the part, from the index when the
	// part and subnet are numbered: pods of one subnet alone and pods
	// that may be in many ask the same subnets about the same parts.
	class := func(s *model.Subnet) *classVerdict {
		si, ok := -1, false
		if indexed {
			si, ok = x.subnetAt[s]
		}
		if !ok {
			return n.classPath(s, a, egress)
		}
		i := (si*len(x.parts) + at) * 2
		if egress {
			i++
		}
		if c := x.classes[i].Load(); c != nil {
			return c
		}
		c := n.classPath(s, a, egress)
		x.classes[i].Store(c)
		return c
	}
	if len(g.subnets) == 1 && g.subnets[0] != nil {
		return class(g.subnets[0]).alone
	}
	cs := make([]*classVerdict, len(g.subnets))
	key := make([]byte, 0, 4*len(g.subnets))
	for i, s := range g.subnets {
		if s == nil {
			key = binary.AppendVarint(key, -1)
			continue
		}
		cs[i] = class(s)
		key = binary.AppendVarint(key, int64(cs[i].n))
	}
	xc := n.classes
	xc.mu.Lock()
	v, ok := xc.combined[string(key)]
	xc.mu.Unlock()
	if ok {
		return *v
	}
	paths := make([]Path, len(cs))
	for i, c := range cs {
		if c == nil {
			paths[i] = unknownSubnet(n, "the pods' nodes")
			continue
		}
		paths[i] = c.path
	}
	c := n.combine(paths)
	xc.mu.Lock()
	defer xc.mu.Unlock()
	if v, ok := xc.combined[string(key)]; ok {
		return *v
	}
	xc.combined[string(key)] = &c
	return c
}

type pairKey struct{ s, d *model.Subnet }

// podPair is the VPC layer between two identities' pods.
func (n *netLayer) podPair(src, dst *identity) vpcVerdict {
	gs, gd := n.groupOf(src), n.groupOf(dst)
	slot := n.index.pairSlot(gs, gd)
	if slot != nil {
		if v := slot.Load(); v != nil {
			return *v
		}
	}
	if v, ok := n.verdicts.Load(groupPairKey{gs, gd}); ok {
		return v.(vpcVerdict)
	}
	var paths []Path
	for _, s := range gs.subnets {
		for _, d := range gd.subnets {
			if s == nil || d == nil {
				paths = append(paths, unknownSubnet(n, "the pods' nodes"))
				continue
			}
			paths = append(paths, n.cachedPair(s, d))
		}
	}
	v := n.combine(paths)
	n.verdicts.Store(groupPairKey{gs, gd}, v)
	if slot != nil {
		slot.Store(&v)
	}
	return v
}

// cachedPair is pairPath, computed once per pair of subnets.
func (n *netLayer) cachedPair(s, d *model.Subnet) Path {
	key := pairKey{s, d}
	if p, ok := n.cache.Load(key); ok {
		return p.(Path)
	}
	p := n.pairPath(s, d)
	n.cache.Store(key, p)
	return p
}

// vpcLayers is the JSON form of the VPC layer's fences on a connection.
func (v vpcVerdict) layers() *VPCLayers {
	if v.lay != nil {
		return v.lay
	}
	if v.acl == nil && v.route == nil {
		return nil
	}
	return &VPCLayers{NetworkACLs: v.acl, Routes: v.route}
}

// VPCLayers is what the network ACLs and the routes allow on their own;
// a field is absent when that kind of object was not given at all.
type VPCLayers struct {
	NetworkACLs *Verdict `json:"networkACLs,omitempty"`
	Routes      *Verdict `json:"routes,omitempty"`
}

// HopText renders a hop in one line, for explanations.
func HopText(h NetHop) string {
	state := "allows " + h.Allowed.String()
	switch {
	case h.Allowed.IsEmpty() && h.Unknown.IsEmpty():
		state = "DENIES"
	case h.Allowed.IsEmpty():
		state = "may allow " + h.Unknown.String()
	case !h.Unknown.IsEmpty():
		state += ", may allow " + h.Unknown.String()
	}
	if h.Allowed.IsAll() {
		state = "allows"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s: %s", h.Layer, h.Step, state)
	for _, r := range h.Routes {
		if r.Table == "" {
			fmt.Fprintf(&b, "\n      %s", r.Outcome)
			continue
		}
		fmt.Fprintf(&b, "\n      route table %s (%s, %s)", r.Table, r.Via, r.Source)
		if r.Route != "" {
			fmt.Fprintf(&b, " sends %s (%s)", r.Route, r.RouteSource)
		}
		fmt.Fprintf(&b, ": %s", r.Outcome)
	}
	for _, r := range h.ACLRules {
		maybe := ""
		if r.Maybe {
			maybe = " (may match)"
		}
		fmt.Fprintf(&b, "\n      network ACL %s rule %s %s%s decides %s (%s)", r.ACL, r.RuleNumber, r.Text, maybe, r.Ports, r.Source)
	}
	for _, r := range h.Reasons {
		fmt.Fprintf(&b, "\n      unknown: %s", r)
	}
	return b.String()
}

// judgeFlow adds the VPC layer's verdict on an observed flow, judged with
// its real addresses: the network ACLs of both ends' subnets (request and
// reply) and the source subnet's route.
func (n *netLayer) judgeFlow(v *FlowVerdict, src, dst FlowEnd, protocol netset.Protocol, port int32) {
	if !src.Addr.IsValid() || !dst.Addr.IsValid() {
		return
	}
	s, d := n.subnetOf(src.Addr), n.subnetOf(dst.Addr)
	if (s != nil && s == d) || n.unfiltered.Contains(dst.Addr) {
		return
	}
	asked := netset.PortRange(protocol, port, port)
	deny := func(layer, dir, of string, by []string) {
		v.Denials = append(v.Denials, Denial{Layer: layer, Direction: dir, Of: of, By: by})
	}
	check := func(sub *model.Subnet, egress bool, other netip.Addr, of, dir string) {
		if sub == nil || !n.haveACLs {
			return
		}
		c := n.acls[sub.ID]
		if c == nil {
			v.Notes = append(v.Notes, fmt.Sprintf("the network ACL of %s is not in the inputs: that boundary is not judged", sub.ID))
			return
		}
		req := c.decide(egress, matchAddr(other), asked, "")
		if req.Allowed.IsEmpty() {
			deny("network ACL", dir, of, aclRuleTexts(req.Rules))
		}
		sure := anyEphemeral
		if d != nil && s != nil && d.VPC == s.VPC {
			sure = linuxEphemeral
		}
		rep := c.decide(!egress, matchAddr(other), anyEphemeral, "")
		switch rv := replyVerdict(rep, sure, anyEphemeral, replyWhy); rv.State(protocol, port) {
		case StateDenied:
			deny("network ACL", "reply "+map[bool]string{true: "ingress", false: "egress"}[egress], of, aclRuleTexts(rep.Rules))
		case StateUnknown:
			v.Notes = append(v.Notes, fmt.Sprintf("network ACL %s admits only some of the reply's possible ports: %s", c.acl.ID, strings.Join(aclRuleTexts(rep.Rules), "; ")))
		}
	}
	if s == nil && d == nil {
		return
	}
	check(s, true, dst.Addr, endName(src), "egress")
	check(d, false, src.Addr, endName(dst), "ingress")
	if s != nil && n.haveRoutes {
		rv, hops := n.route(s, dst.Addr)
		var by []string
		for _, h := range hops {
			by = append(by, fmt.Sprintf("route table %s (%s): %s %s", h.Table, h.Source, h.Route, h.Outcome))
		}
		switch rv.Overall() {
		case StateDenied:
			deny("route", "egress", endName(src), by)
		case StateUnknown:
			v.Notes = append(v.Notes, strings.Join(rv.Reasons, "; "))
		}
	}
}

func aclRuleTexts(rs []ACLRuleRef) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("network ACL %s rule %s: %s (%s)", r.ACL, r.RuleNumber, r.Text, r.Source))
	}
	return out
}

// ReplyBlock is a network ACL that drops the replies of connections the
// other fences and the requests' own hops allow: the stateless ACL has no
// entry for the client's ephemeral ports.
type ReplyBlock struct {
	ACL    string       `json:"acl"`
	Source model.Source `json:"source"`
	// Step is the reply's crossing ("reply into subnet-a").
	Step string `json:"step"`
	// Blocked are the connections' ports whose replies are dropped (or,
	// when Certain is false, may be: the client's port decides).
	Blocked netset.Ports `json:"blocked"`
	Certain bool         `json:"certain"`
	// Rules are the entries that decide the reply; Peers the workloads
	// whose connections meet it; To an example destination.
	Rules []ACLRuleRef `json:"rules"`
	Peers []string     `json:"peers"`
	To    string       `json:"to"`
}

// ReplyBlocks finds the network ACLs that drop the replies of allowed
// connections from pods to addresses outside the cluster: for each
// identity and address part, the ports the NetworkPolicies, the security
// groups, the routes and the requests' ACL hops all surely allow, less
// what each reply hop surely allows. Once per ACL, crossing and rule.
func (a *Analysis) ReplyBlocks() []ReplyBlock {
	if a.net == nil || !a.net.haveACLs {
		return nil
	}
	found := map[string]*ReplyBlock{}
	for _, id := range a.g.identities {
		if len(a.byID[id.index]) == 0 {
			continue
		}
		for _, part := range a.parts {
			v := side(id, nil, part.part, true)
			if a.sg != nil {
				sv, _ := a.sg.partVerdict(id.groups, part.part, true)
				v = v.and(sv)
			}
			if v.Allowed.IsEmpty() {
				continue
			}
			to := part.ID
			if cs := part.CIDRs; len(cs) > 1 {
				to = cs[0] + " and " + plural(len(cs)-1, "other block", "other blocks")
			}
			for _, p := range a.net.partVerdict(id, part.part, true).paths {
				a.replyHops(found, p, v, id, to)
			}
		}
	}
	a.podReplyBlocks(found)
	out := make([]ReplyBlock, 0, len(found))
	for _, k := range sortedKeys(found) {
		rb := found[k]
		sort.Strings(rb.Peers)
		rb.Peers = dedupe(rb.Peers)
		out = append(out, *rb)
	}
	return out
}

// replyHops records the reply hops of path p that drop ports of allowed
// (what the other fences allow) that its request hops admit; the
// connections are id's, to an example destination to.
func (a *Analysis) replyHops(found map[string]*ReplyBlock, p Path, v Verdict, id *identity, to string) {
	// req are the ports the connection may be allowed on; sure those it
	// surely is.
	req, sure := v.Possible(), v.Allowed
	for _, h := range p.Hops {
		if !h.Reply {
			req = req.Intersect(h.Allowed.Union(h.Unknown))
			sure = sure.Intersect(h.Allowed)
		}
	}
	for _, h := range p.Hops {
		if !h.Reply || req.IsEmpty() {
			continue
		}
		blocked := req.Difference(h.Allowed)
		if blocked.IsEmpty() || len(h.ACLRules) == 0 {
			continue
		}
		acl := h.ACLRules[0].ACL
		key := acl + "|" + p.Subnet + "|" + stepKey(h.Step)
		rb := found[key]
		if rb == nil {
			rb = &ReplyBlock{ACL: acl, Source: a.net.aclSource(acl), Step: strings.TrimSpace(key[strings.LastIndex(key, "|")+1:]), Certain: true, Rules: h.ACLRules, To: to}
			found[key] = rb
		}
		rb.Blocked = rb.Blocked.Union(blocked)
		rb.Certain = rb.Certain && blocked.Intersect(h.Unknown).IsEmpty() && sure.Intersect(blocked).Equal(blocked)
		for _, peer := range a.byID[id.index] {
			rb.Peers = append(rb.Peers, peer.ID)
		}
	}
}

// stepKey is a hop's crossing without its other end: "reply into
// subnet-a" of "reply into subnet-a from 8.8.8.8 ...".
func stepKey(step string) string {
	for _, sep := range []string{" from ", " to "} {
		if i := strings.Index(step, sep); i >= 0 {
			return step[:i]
		}
	}
	return step
}

// podReplyBlocks adds the network ACLs that drop the replies of allowed
// connections between pods of two subnets. Pairs of subnet groups come
// first: only where some reply hop drops ports its request hops admit
// are the identities of the two groups paired, so the cost grows with
// distinct subnet sets unless an ACL drops replies.
func (a *Analysis) podReplyBlocks(found map[string]*ReplyBlock) {
	var groups []*subnetGroup
	members := map[*subnetGroup][]*identity{}
	for _, id := range a.g.identities {
		if len(a.byID[id.index]) == 0 {
			continue
		}
		g := a.net.groupOf(id)
		if members[g] == nil {
			groups = append(groups, g)
		}
		members[g] = append(members[g], id)
	}
	for _, gs := range groups {
		for _, gd := range groups {
			if !a.net.mayDropReplies(gs, gd) {
				continue
			}
			for _, s := range members[gs] {
				for _, d := range members[gd] {
					v := side(s, d, nil, true)
					if v.IsEmpty() {
						continue
					}
					if v = v.and(side(d, s, nil, false)); v.IsEmpty() {
						continue
					}
					if a.sg != nil {
						sv, _ := a.sg.podPair(s, d)
						if v = v.and(sv); v.IsEmpty() {
							continue
						}
					}
					for _, p := range a.net.podPair(s, d).paths {
						a.replyHops(found, p, v, s, "pods of "+a.byID[d.index][0].ID)
					}
				}
			}
		}
	}
}

// mayDropReplies reports whether a reply hop between pods of two subnet
// groups drops some port its request hops admit.
func (n *netLayer) mayDropReplies(gs, gd *subnetGroup) bool {
	for _, s := range gs.subnets {
		for _, d := range gd.subnets {
			if s == nil || d == nil || s == d {
				continue
			}
			p := n.cachedPair(s, d)
			req := netset.AllPorts()
			for _, h := range p.Hops {
				if !h.Reply {
					req = req.Intersect(h.Allowed)
				}
			}
			for _, h := range p.Hops {
				if h.Reply && len(h.ACLRules) > 0 && !req.Difference(h.Allowed).IsEmpty() {
					return true
				}
			}
		}
	}
	return false
}

func dedupe(s []string) []string {
	k := 0
	for i, x := range s {
		if i == 0 || x != s[k-1] {
			s[k] = x
			k++
		}
	}
	return s[:k]
}

func (n *netLayer) aclSource(id string) model.Source {
	for _, c := range n.acls {
		if c.acl.ID == id {
			return c.acl.Source
		}
	}
	return model.Source{}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
