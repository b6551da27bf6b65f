package engine

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// Routes decide whether a packet a subnet sends goes anywhere at all (AWS
// VPC User Guide, "How route priority works"): the subnet's route table
// (its explicit association, else its VPC's main table) sends it by the
// most specific route that matches it (longest prefix match); a route to a
// managed prefix list (a gateway endpoint's) matches by the list's entries
// and, for equal prefixes, a route to a CIDR block is preferred to it. A
// route whose target is gone (blackhole) drops the packet; no route, no
// delivery.

// routeEntry is one destination block of a route table: a route's CIDR,
// or one entry of the prefix list it names.
type routeEntry struct {
	prefix netip.Prefix
	route  *model.Route
}

// compiledRT is a route table with its routes by destination block.
type compiledRT struct {
	rt      *model.RouteTable
	entries []routeEntry
	// unresolved are routes to prefix lists whose entries are not in the
	// inputs: they may match any address.
	unresolved []*model.Route
	// sets are the route's destination blocks, for the partition.
	sets []*netipx.IPSet
}

func compileRT(rt *model.RouteTable, lists map[string]*model.PrefixList) *compiledRT {
	c := &compiledRT{rt: rt}
	for i := range rt.Routes {
		r := &rt.Routes[i]
		switch {
		case r.Destination.IsValid():
			c.entries = append(c.entries, routeEntry{prefix: r.Destination.Masked(), route: r})
		case r.DestinationPrefixList != "" && lists[r.DestinationPrefixList] != nil && lists[r.DestinationPrefixList].Entries != nil:
			for _, p := range lists[r.DestinationPrefixList].Entries {
				c.entries = append(c.entries, routeEntry{prefix: p.Masked(), route: r})
			}
		default:
			c.unresolved = append(c.unresolved, r)
		}
	}
	for _, e := range c.entries {
		var b netipx.IPSetBuilder
		b.AddPrefix(e.prefix)
		s, _ := b.IPSet()
		c.sets = append(c.sets, s)
	}
	return c
}

// lookup is the route that carries a packet to addr: the longest prefix
// that holds it, a CIDR route before a prefix-list route of the same
// length; nil when none does.
func (c *compiledRT) lookup(addr netip.Addr) *routeEntry {
	var best *routeEntry
	for i := range c.entries {
		e := &c.entries[i]
		if !e.prefix.Contains(addr) {
			continue
		}
		switch {
		case best == nil, e.prefix.Bits() > best.prefix.Bits():
			best = e
		case e.prefix.Bits() == best.prefix.Bits() && best.route.DestinationPrefixList != "" && e.route.DestinationPrefixList == "":
			best = e
		}
	}
	return best
}

// RouteHop is what a route table does with the packets of a hop.
type RouteHop struct {
	Table  string `json:"table"`
	Source string `json:"source,omitempty"`
	// Via says why the subnet uses this table: "explicit association" or
	// "main route table of vpc-...".
	Via string `json:"via"`
	// Route is the route taken ("0.0.0.0/0 -> nat-...") and its position;
	// empty when none matches.
	Route       string `json:"route,omitempty"`
	RouteSource string `json:"routeSource,omitempty"`
	// Outcome says where the packets go.
	Outcome string `json:"outcome"`
	// nat is the NAT gateway the packets go through.
	nat *model.NATGateway
}

func routeText(e *routeEntry) string {
	dst := e.prefix.String()
	if pl := e.route.DestinationPrefixList; pl != "" {
		dst = pl + " (entry " + dst + ")"
	}
	t := e.route.Target
	if t == "" {
		t = e.route.TargetType
	}
	s := dst + " -> " + t
	if e.route.Blackhole {
		s += " (blackhole)"
	}
	return s
}

// leaves names route targets beyond which ringfence sees nothing.
var leaves = map[string]string{
	model.TargetPeering:        "a VPC peering connection",
	model.TargetTransitGateway: "a transit gateway",
	model.TargetVirtualGateway: "a virtual private gateway (VPN, Direct Connect)",
	model.TargetNetworkIface:   "a network interface (an appliance)",
	model.TargetInstance:       "an instance (an appliance)",
	model.TargetCarrierGateway: "a carrier gateway",
	model.TargetLocalGateway:   "an Outposts local gateway",
	model.TargetCoreNetwork:    "a Cloud WAN core network",
	model.TargetUnknown:        "a target the inputs do not name",
}

// either is the verdict when either of two verdicts may hold (the inputs
// do not say which): allowed where both surely allow, unknown where either
// may, denied where neither can.
func either(a, b Verdict) Verdict {
	out := Verdict{Allowed: a.Allowed.Intersect(b.Allowed)}
	out.Unknown = a.Possible().Union(b.Possible()).Difference(out.Allowed)
	out.Reasons = mergeReasons(out.Unknown, a.Reasons, b.Reasons)
	return out
}

// route is what the table of a subnet does with packets to addr: the
// verdict (every port alike: routes know no ports) and the hops taken,
// following a NAT gateway's own subnet once.
func (n *netLayer) route(s *model.Subnet, addr netip.Addr) (Verdict, []RouteHop) {
	c, via := n.tableOf(s)
	if c == nil {
		why := fmt.Sprintf("the route table of %s is not in the inputs (aws ec2 describe-route-tables)", s.ID)
		return unknownAll(why), []RouteHop{{Via: via, Outcome: "unknown: " + why}}
	}
	hop := RouteHop{Table: c.rt.ID, Source: c.rt.Source.String(), Via: via}
	e := c.lookup(addr)
	v, hops := n.routeOutcome(s, c, e, addr, &hop)
	for _, r := range c.unresolved {
		if e != nil && r == e.route {
			continue
		}
		why := fmt.Sprintf("route table %s sends prefix list %s to %s, and the list's entries are not in the inputs (aws ec2 get-managed-prefix-list-entries --prefix-list-id %s > %s.json): it may carry this traffic instead", c.rt.ID, r.DestinationPrefixList, r.Target, r.DestinationPrefixList, r.DestinationPrefixList)
		alt := routeEntry{prefix: netip.PrefixFrom(addr, addr.BitLen()), route: r}
		ah := RouteHop{Table: c.rt.ID, Source: c.rt.Source.String(), Via: via}
		av, _ := n.routeOutcome(s, c, &alt, addr, &ah)
		if !av.Allowed.Equal(v.Allowed) || !av.Unknown.Equal(v.Unknown) {
			v = either(v, av)
			v.Reasons = mergeReasons(v.Unknown, v.Reasons, []string{why})
			hops[0].Outcome += "; or, " + why
		}
	}
	return v, hops
}

// routeOutcome is where route e (nil: none) sends packets to addr.
func (n *netLayer) routeOutcome(s *model.Subnet, c *compiledRT, e *routeEntry, addr netip.Addr, hop *RouteHop) (Verdict, []RouteHop) {
	if e == nil {
		hop.Outcome = fmt.Sprintf("denied: no route covers %s", addr)
		return Verdict{}, []RouteHop{*hop}
	}
	r := e.route
	hop.Route, hop.RouteSource = routeText(e), r.Source.String()
	if r.Blackhole {
		hop.Outcome = "denied: the route's target is gone (blackhole): packets are dropped"
		return Verdict{}, []RouteHop{*hop}
	}
	switch r.TargetType {
	case model.TargetLocal:
		hop.Outcome = "allowed: delivered inside the VPC"
		return allowAll(), []RouteHop{*hop}
	case model.TargetInternetGateway:
		if addr.Is6() || s.MapPublicIP {
			hop.Outcome = "allowed: to the internet through internet gateway " + r.Target
			if !addr.Is6() {
				hop.Outcome += " (the subnet gives its instances public IPv4 addresses)"
			}
			return allowAll(), []RouteHop{*hop}
		}
		why := fmt.Sprintf("subnet %s routes to internet gateway %s but does not give its instances public IPv4 addresses: the node needs one (an Elastic IP, or one given at launch) for its pods' traffic to leave", s.ID, r.Target)
		hop.Outcome = "unknown: " + why
		return unknownAll(why), []RouteHop{*hop}
	case model.TargetEgressOnlyIGW:
		if addr.Is6() {
			hop.Outcome = "allowed: to the internet through egress-only internet gateway " + r.Target + " (outbound only)"
			return allowAll(), []RouteHop{*hop}
		}
		hop.Outcome = "denied: an egress-only internet gateway carries IPv6 only"
		return Verdict{}, []RouteHop{*hop}
	case model.TargetNATGateway:
		return n.viaNAT(r.Target, addr, hop)
	case model.TargetVPCEndpoint:
		ep := n.endpoints[r.Target]
		if ep == nil {
			hop.Outcome = "allowed: to the service of gateway endpoint " + r.Target + " (the endpoint is not in the inputs)"
		} else {
			hop.Outcome = fmt.Sprintf("allowed: to %s through %s endpoint %s (%s)", ep.Service, strings.ToLower(ep.Type), ep.ID, ep.Source)
			if sum := policySummary(ep.Policy); sum != "" {
				hop.Outcome += "; endpoint policy: " + sum
			}
		}
		return allowAll(), []RouteHop{*hop}
	}
	what := leaves[r.TargetType]
	if what == "" {
		what = "a " + r.TargetType
	}
	why := fmt.Sprintf("route table %s sends it to %s %s: beyond it the inputs say nothing", c.rt.ID, what, r.Target)
	hop.Outcome = "unknown: leaves the model through " + what + " " + r.Target
	return unknownAll(why), []RouteHop{*hop}
}

// viaNAT follows a NAT gateway: a public one sends the traffic on by its
// own subnet's route table (to an internet gateway for the internet); a
// private one cannot reach the internet (AWS drops what it sends to an
// internet gateway). A NAT gateway admits no connection started outside.
func (n *netLayer) viaNAT(id string, addr netip.Addr, hop *RouteHop) (Verdict, []RouteHop) {
	nat := n.nats[id]
	if nat == nil || n.subnets[nat.Subnet] == nil {
		hop.Outcome = "allowed: out through NAT gateway " + id + " (outbound only; its own subnet's routes are not in the inputs, so they are not followed)"
		return allowAll(), []RouteHop{*hop}
	}
	public := !netset.Overlaps(privateAndVPC(n), single(addr))
	if nat.Connectivity == "private" && public {
		hop.Outcome = "denied: NAT gateway " + id + " is private: it cannot reach the internet"
		return Verdict{}, []RouteHop{*hop}
	}
	hop.Outcome = fmt.Sprintf("out through NAT gateway %s (%s, outbound only: no connection started outside comes in)", id, nat.Source)
	hop.nat = nat
	c, via := n.tableOf(n.subnets[nat.Subnet])
	if c == nil {
		why := fmt.Sprintf("the route table of NAT gateway %s's subnet %s is not in the inputs", id, nat.Subnet)
		return unknownAll(why), []RouteHop{*hop, {Via: via, Outcome: "unknown: " + why}}
	}
	next := RouteHop{Table: c.rt.ID, Source: c.rt.Source.String(), Via: via + " (NAT gateway " + id + "'s subnet " + nat.Subnet + ")"}
	e := c.lookup(addr)
	if e != nil && e.route.TargetType == model.TargetNATGateway {
		// A NAT gateway's own subnet routing to a NAT gateway: not
		// followed further.
		next.Route, next.RouteSource, next.Outcome = routeText(e), e.route.Source.String(), "unknown: sent to another NAT gateway"
		return unknownAll("NAT gateway " + id + "'s subnet sends it to another NAT gateway"), []RouteHop{*hop, next}
	}
	// The NAT gateway has a public address of its own: its subnet's
	// internet gateway route needs no instance address.
	natSubnet := *n.subnets[nat.Subnet]
	natSubnet.MapPublicIP = true
	v, more := n.routeOutcome(&natSubnet, c, e, addr, &next)
	return v, append([]RouteHop{*hop}, more...)
}

func single(a netip.Addr) *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.Add(a)
	s, _ := b.IPSet()
	return s
}

// privateAndVPC is the private address space and the VPCs' blocks.
func privateAndVPC(n *netLayer) *netipx.IPSet {
	var b netipx.IPSetBuilder
	b.AddSet(privateSpace)
	for _, v := range n.vpcs {
		for _, p := range v.CIDRs {
			b.AddPrefix(p)
		}
	}
	s, _ := b.IPSet()
	return s
}

// tableOf is the route table a subnet uses: its explicit association,
// else its VPC's main table; nil when neither is in the inputs.
func (n *netLayer) tableOf(s *model.Subnet) (*compiledRT, string) {
	if c := n.explicit[s.ID]; c != nil {
		return c, "explicit association with " + s.ID
	}
	if c := n.mainTable[s.VPC]; c != nil {
		return c, "main route table of " + s.VPC + " (" + s.ID + " has no explicit association)"
	}
	return nil, "no table of " + s.ID + " in the inputs"
}
