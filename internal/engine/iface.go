package engine

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// Interface VPC endpoints (AWS PrivateLink guide, "DNS hostnames" and
// "Enable private DNS"): an interface endpoint is a network interface in
// each of its subnets, fenced by its own security groups. With private
// DNS enabled, and the VPC's enableDnsSupport and enableDnsHostnames both
// true, the service's regional name (sts.<region>.amazonaws.com) answers
// with the endpoint's addresses inside the VPC, for every client of the
// VPC's resolver; the traffic then goes to the endpoint, not to the
// public ranges. The endpoint's inbound rules must admit the client on
// the port (443). Its addresses are not in describe-vpc-endpoints: its
// subnets' blocks stand for them.

// EndpointHop is the path from a pod to an interface endpoint that may
// carry its traffic to a named destination.
type EndpointHop struct {
	Endpoint string `json:"endpoint"`
	Service  string `json:"service"`
	Source   string `json:"source"`
	// Carries is "yes" when the service's name surely resolves to the
	// endpoint, "maybe" when the inputs cannot say; Why says which.
	Carries string `json:"carries"`
	Why     string `json:"why"`
	// Subnets hold the endpoint's network interfaces; Addresses are
	// their blocks, which stand for the interfaces' addresses.
	Subnets   []string `json:"subnets,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	// Each fence on its own, then all together.
	NetworkPolicy      Verdict  `json:"networkPolicy"`
	PodSecurityGroups  *Verdict `json:"podSecurityGroups,omitempty"`
	EndpointGroups     Verdict  `json:"endpointSecurityGroups"`
	EndpointGroupRules []string `json:"endpointSecurityGroupRules,omitempty"`
	// VPC is the network ACLs and routes between the pods' subnets and
	// the endpoint's.
	VPC     *VPCExplanation `json:"vpc,omitempty"`
	Policy  string          `json:"policy,omitempty"`
	Total   Verdict         `json:"total"`
	Verdict string          `json:"verdict"`
}

// serviceOf splits a destination name aws:<SERVICE>[:<region>] into the
// endpoint service's last label and the region ("" when not given).
func serviceOf(dest string) (svc, region string, ok bool) {
	if !strings.HasPrefix(dest, "aws:") {
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(dest, "aws:"), ":")
	svc = strings.ToLower(parts[0])
	if len(parts) > 1 {
		region = parts[1]
	}
	return svc, region, svc != ""
}

// endpointService splits com.amazonaws.<region>.<service>.
func endpointService(name string) (region, svc string) {
	rest, ok := strings.CutPrefix(name, "com.amazonaws.")
	if !ok {
		return "", ""
	}
	region, svc, _ = strings.Cut(rest, ".")
	return region, svc
}

// privateDNS says whether an interface endpoint's private DNS makes the
// service's regional name resolve to it: "yes", "no" or "maybe", and why.
func (n *netLayer) privateDNS(ep *model.VPCEndpoint) (string, string) {
	region, svc := endpointService(ep.Service)
	name := svc + "." + region + ".amazonaws.com"
	if !ep.PrivateDNS {
		return "no", fmt.Sprintf("private DNS is off on %s: %s resolves to the public addresses; only the endpoint's own names reach it", ep.ID, name)
	}
	v := n.vpcs[ep.VPC]
	var missing []string
	for _, a := range []struct {
		name string
		val  *bool
	}{{"enableDnsSupport", vpcAttr(v, true)}, {"enableDnsHostnames", vpcAttr(v, false)}} {
		switch {
		case a.val == nil:
			missing = append(missing, a.name)
		case !*a.val:
			return "no", fmt.Sprintf("%s's %s is false: the endpoint's private hosted zone does not answer, so %s resolves to the public addresses", ep.VPC, a.name, name)
		}
	}
	if len(missing) > 0 {
		return "maybe", fmt.Sprintf("private DNS is on for %s, but %s's %s is not in the inputs (aws ec2 describe-vpc-attribute --vpc-id %s --attribute <name>): with both attributes true %s resolves to the endpoint, otherwise to the public addresses", ep.ID, ep.VPC, strings.Join(missing, " and "), ep.VPC, name)
	}
	return "yes", fmt.Sprintf("private DNS is on for %s and %s has enableDnsSupport and enableDnsHostnames: %s resolves to the endpoint's addresses in the VPC", ep.ID, ep.VPC, name)
}

func vpcAttr(v *model.VPC, support bool) *bool {
	if v == nil {
		return nil
	}
	if support {
		return v.DNSSupport
	}
	return v.DNSHostnames
}

// interfaceEndpoints are the interface endpoints of the pods' VPCs for a
// destination aws:<SERVICE>[:<region>] whose private DNS may carry the
// pods' traffic to it.
func (n *netLayer) interfaceEndpoints(dest string, g *subnetGroup) []*model.VPCEndpoint {
	svc, region, ok := serviceOf(dest)
	if !ok {
		return nil
	}
	vpcs := map[string]bool{}
	for _, s := range g.subnets {
		if s != nil {
			vpcs[s.VPC] = true
		}
	}
	var out []*model.VPCEndpoint
	for _, id := range sortedKeys(n.endpoints) {
		ep := n.endpoints[id]
		r, s := endpointService(ep.Service)
		if ep.Type != "Interface" || s != svc || (region != "" && r != region) {
			continue
		}
		// The private hosted zone belongs to the endpoint's VPC; with
		// the pods' VPC unknown, the endpoint may serve them.
		if len(vpcs) > 0 && !vpcs[ep.VPC] {
			continue
		}
		out = append(out, ep)
	}
	return out
}

// endpointHop judges the path from an identity's pods to an interface
// endpoint on the asked ports: the pods' NetworkPolicies and security
// groups towards the endpoint's subnets, the endpoint's own security
// groups from the pods, and the network ACLs and routes between the
// subnets.
func (a *Analysis) endpointHop(n *netLayer, id *identity, ep *model.VPCEndpoint, asked netset.Ports) EndpointHop {
	h := EndpointHop{Endpoint: ep.ID, Service: ep.Service, Source: ep.Source.String(), Subnets: ep.Subnets}
	h.Carries, h.Why = n.privateDNS(ep)
	if p := ReadEndpointPolicy(ep.Policy); !p.Default {
		h.Policy = policySummary(ep.Policy)
	}
	var eb netipx.IPSetBuilder
	var epSubnets []*model.Subnet
	var missing []string
	for _, sid := range ep.Subnets {
		s := n.subnets[sid]
		if s == nil {
			missing = append(missing, sid)
			continue
		}
		epSubnets = append(epSubnets, s)
		for _, p := range s.Prefixes() {
			eb.AddPrefix(p.Masked())
		}
	}
	addrs, _ := eb.IPSet()
	h.Addresses = netset.PrefixStrings(addrs)
	addrWhy := ""
	switch {
	case len(ep.Subnets) == 0:
		addrWhy = fmt.Sprintf("the subnets of interface endpoint %s are not in the inputs (its SubnetIds)", ep.ID)
	case len(missing) > 0:
		addrWhy = fmt.Sprintf("subnet %s of interface endpoint %s is not in the inputs (aws ec2 describe-subnets)", strings.Join(missing, ", "), ep.ID)
	}
	// NetworkPolicies and the pods' groups towards the endpoint's
	// addresses: one of them, not known which, so a fence surely allows
	// what it allows towards each part of the subnets.
	towards := func(f func(part *netipx.IPSet) Verdict) Verdict {
		if addrWhy != "" {
			return unknownAll(addrWhy)
		}
		first, out := true, Verdict{}
		for _, p := range a.parts {
			if !netset.Overlaps(p.part, addrs) {
				continue
			}
			v := f(p.part)
			if first {
				out, first = v, false
				continue
			}
			c := either(out, v)
			if !c.Unknown.Equal(out.Unknown) || !c.Allowed.Equal(out.Allowed) {
				c.Reasons = mergeReasons(c.Unknown, c.Reasons, []string{"the endpoint's addresses are not in the inputs (aws ec2 describe-network-interfaces): its subnets' blocks stand for them, and the fence treats parts of them differently"})
			}
			out = c
		}
		if first {
			return unknownAll("the endpoint's subnets hold no address the analysis partitions")
		}
		return out
	}
	h.NetworkPolicy = towards(func(part *netipx.IPSet) Verdict { return side(id, nil, part, true) }).restrict(asked)
	total := h.NetworkPolicy
	if a.sg != nil {
		v := towards(func(part *netipx.IPSet) Verdict { v, _ := a.sg.partVerdict(id.groups, part, true); return v }).restrict(asked)
		h.PodSecurityGroups = &v
		total = total.and(v)
	}
	var podPrefixes []netip.Prefix
	g := n.groupOf(id)
	known := true
	for _, s := range g.subnets {
		if s == nil {
			known = false
			continue
		}
		podPrefixes = append(podPrefixes, s.Prefixes()...)
	}
	if !known {
		podPrefixes = nil
	}
	h.EndpointGroups, h.EndpointGroupRules = a.endpointIngress(ep, id.groups, podPrefixes)
	h.EndpointGroups = h.EndpointGroups.restrict(asked)
	total = total.and(h.EndpointGroups)
	if n.haveACLs || n.haveRoutes {
		var paths []Path
		for _, s := range g.subnets {
			if s == nil {
				paths = append(paths, unknownSubnet(n, "the pods' nodes"))
				continue
			}
			if addrWhy != "" {
				v := unknownAll(addrWhy)
				p := Path{Subnet: s.ID, Hops: []NetHop{{Layer: "subnet", Step: "the endpoint's subnets", Unknown: v.Unknown, Reasons: v.Reasons}}}
				if n.haveACLs {
					p.ACL = &v
				}
				if n.haveRoutes {
					p.Route = &v
				}
				paths = append(paths, p)
				continue
			}
			for _, d := range epSubnets {
				paths = append(paths, n.cachedPair(s, d))
			}
		}
		nv := n.combine(paths)
		h.VPC = &VPCExplanation{NetworkACLs: nv.acl, Routes: nv.route, Paths: nv.paths}
		total = total.and(nv.all().restrict(asked))
	}
	h.Total = total
	h.Verdict = total.Overall()
	return h
}

// endpointIngress is what an interface endpoint's security groups admit
// from pods with the given groups and addresses in the given blocks (nil:
// not known): a rule naming one of the pods' groups, or covering every
// block, admits surely; one covering part of them may.
func (a *Analysis) endpointIngress(ep *model.VPCEndpoint, podGroups []string, pods []netip.Prefix) (Verdict, []string) {
	if len(ep.Groups) == 0 {
		return unknownAll(fmt.Sprintf("the security groups of interface endpoint %s are not in the inputs (its Groups)", ep.ID)), nil
	}
	if a.sg == nil || !a.sg.known(ep.Groups) {
		return unknownAll(fmt.Sprintf("security group %s of interface endpoint %s is not in the inputs (aws ec2 describe-security-groups)", strings.Join(ep.Groups, ", "), ep.ID)), nil
	}
	var src *netipx.IPSet
	if pods != nil {
		var b netipx.IPSetBuilder
		for _, p := range pods {
			b.AddPrefix(p.Masked())
		}
		src, _ = b.IPSet()
	}
	var certain, possible netset.Ports
	var rules []string
	for _, gid := range ep.Groups {
		g := a.sg.groups[gid]
		for i := range g.Ingress {
			r := &g.Ingress[i]
			c := a.sg.addrs[r]
			named := false
			for _, ref := range r.Groups {
				named = named || contains(podGroups, ref)
			}
			text := fmt.Sprintf("security group %s (%s) inbound rule %d (%s): %s", g.ID, g.Name, i, r.Source, sgRuleString(r))
			switch {
			case named:
				text = fmt.Sprintf("security group %s (%s) inbound rule %d (%s): %s %s from the pods' group", g.ID, g.Name, i, r.Source, r.Protocol, sgPortsText(r))
				certain, possible = certain.Union(c.ports), possible.Union(c.ports)
			case c.set != nil && src != nil && covers(c.set, src):
				certain, possible = certain.Union(c.ports), possible.Union(c.ports)
			case c.set != nil && src != nil && netset.Overlaps(c.set, src),
				c.set != nil && src == nil && (netset.Overlaps(c.set, privateSpace) || hasIPv6(c.set)),
				a.sg.mayHoldPods(r):
				possible = possible.Union(c.ports)
				text += " (may match: the pods' addresses decide)"
			default:
				continue
			}
			rules = append(rules, text)
		}
	}
	v := Verdict{Allowed: certain, Unknown: possible.Difference(certain)}
	if !v.Unknown.IsEmpty() {
		why := "the pods' addresses are not in the inputs: an inbound rule of the endpoint's groups covers part of their subnets"
		if src == nil {
			why = "the pods' subnets are not known: an inbound rule of the endpoint's groups admits part of the private address space"
		}
		v.Reasons = []string{why}
	}
	return v, rules
}
