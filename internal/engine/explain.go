package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Explanation says why traffic between two endpoints is allowed or denied,
// direction by direction, rule by rule.
type Explanation struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Protocol string `json:"protocol,omitempty"`
	Port     int32  `json:"port,omitempty"`
	// Allowed is what every fence surely allows, Unknown what it may
	// allow; Verdict is "allowed", "denied" or "unknown" for the asked
	// port (or for any port when none was asked), and Missing lists the
	// facts an unknown verdict waits for.
	Allowed netset.Ports `json:"allowed"`
	Unknown netset.Ports `json:"unknown,omitzero"`
	Verdict string       `json:"verdict"`
	Missing []string     `json:"missing,omitempty"`
	Egress  Direction    `json:"egress"`
	Ingress Direction    `json:"ingress"`
	// SecurityGroups is the host fence, when security groups were given.
	SecurityGroups *SGExplanation `json:"securityGroups,omitempty"`
	// VPC is the network ACLs and routes, hop by hop, when either was
	// given.
	VPC      *VPCExplanation `json:"vpc,omitempty"`
	SelfNote string          `json:"selfNote,omitempty"`
	// TierProfile is the profile tiered policies were evaluated with,
	// when any apply (docs/tiers.md).
	TierProfile string `json:"tierProfile,omitempty"`
}

// VPCExplanation is what the network ACLs and the routes decide, each on
// its own (absent when not given), and the hops of each subnet the pods
// may be in.
type VPCExplanation struct {
	NetworkACLs *Verdict `json:"networkACLs,omitempty"`
	Routes      *Verdict `json:"routes,omitempty"`
	Paths       []Path   `json:"paths"`
}

// SGExplanation is what the security groups decide, both sides together.
type SGExplanation struct {
	Allowed netset.Ports `json:"allowed"`
	Unknown netset.Ports `json:"unknown,omitzero"`
	Reasons []string     `json:"reasons,omitempty"`
	// Egress and Ingress are each side's groups and the rules that admit
	// the traffic; nil for a side without groups (an address).
	Egress  *SGVerdict `json:"egress,omitempty"`
	Ingress *SGVerdict `json:"ingress,omitempty"`
	// Detail says how the verdict was reached (pod addresses unknown, one
	// node, groups not known).
	Detail string `json:"detail,omitempty"`
}

// Direction explains one side: the source's egress or the destination's
// ingress.
type Direction struct {
	// Of is the peer whose policies decide this direction.
	Of string `json:"of"`
	// Applies is false for an address outside the cluster (no policy
	// applies there) and for host-network pods.
	Applies  bool         `json:"applies"`
	Reason   string       `json:"reason,omitempty"`
	Isolated bool         `json:"isolated"`
	Allowed  netset.Ports `json:"allowed"`
	// Unknown and Missing: ports that may be allowed, and why not surely.
	Unknown  netset.Ports    `json:"unknown,omitzero"`
	Missing  []string        `json:"missing,omitempty"`
	Policies []PolicyVerdict `json:"policies,omitempty"`
	// Tiers are the steps of the tier evaluation, Admin tier first, when
	// tiered policies select the pod: each rule that matched or may match,
	// its action and ports, and where passed ports went.
	Tiers []TierStep `json:"tiers,omitempty"`
}

// PolicyVerdict is one policy that isolates the peer in this direction.
type PolicyVerdict struct {
	// Kind is ApplicationNetworkPolicy (EKS) for those, which are
	// unioned with NetworkPolicies; empty for a NetworkPolicy.
	Kind      string        `json:"kind,omitempty"`
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	Source    string        `json:"source"`
	Rules     []RuleVerdict `json:"rules"`
}

// RuleVerdict says whether one rule admits the other end, and on which
// ports.
type RuleVerdict struct {
	Index   int    `json:"index"`
	Source  string `json:"source"`
	Peers   string `json:"peers"`
	Matches bool   `json:"matchesPeer"`
	// Maybe: the rule may match the peer, for the reasons Why.
	Maybe   bool         `json:"maybeMatchesPeer,omitempty"`
	Why     []string     `json:"why,omitempty"`
	Allowed netset.Ports `json:"allowed"`
}

// endpoint is a resolved --from or --to.
type endpoint struct {
	name string
	peer *Peer
	part *netipx.IPSet
}

// Explain explains traffic from one endpoint to another: "namespace/name"
// (a workload, a role "namespace/name/role", or a pod at pod level) or an
// IP address. port 0 means any port.
func Explain(a *Analysis, from, to string, protocol netset.Protocol, port int32) (*Explanation, error) {
	src, err := a.resolve(from)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	dst, err := a.resolve(to)
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	if src.peer == nil && dst.peer == nil {
		return nil, fmt.Errorf("--from and --to are both outside the cluster: no NetworkPolicy applies")
	}
	e := &Explanation{From: src.name, To: dst.name}
	if port != 0 {
		e.Protocol, e.Port = protocol.String(), port
	}
	var srcID, dstID *identity
	if src.peer != nil {
		srcID = src.peer.identity
	}
	if dst.peer != nil {
		dstID = dst.peer.identity
	}
	if (srcID != nil && srcID.tiers != nil) || (dstID != nil && dstID.tiers != nil) {
		e.TierProfile = string(a.g.profile)
	}
	var ev, iv Verdict
	e.Egress, ev = a.direction(src, srcID, dstID, dst.part, true)
	e.Ingress, iv = a.direction(dst, dstID, srcID, src.part, false)
	v := ev.and(iv)
	if a.sg != nil {
		var sv Verdict
		e.SecurityGroups, sv = a.explainSG(src, dst)
		v = v.and(sv)
	}
	if a.net != nil {
		var nv vpcVerdict
		switch {
		case srcID != nil && dstID != nil:
			nv = a.net.podPair(srcID, dstID)
		case srcID != nil:
			nv = a.net.partVerdict(srcID, dst.part, true)
		default:
			nv = a.net.partVerdict(dstID, src.part, false)
		}
		e.VPC = &VPCExplanation{NetworkACLs: nv.acl, Routes: nv.route, Paths: nv.paths}
		v = v.and(nv.all())
	}
	if port != 0 {
		v = v.restrict(netset.PortRange(protocol, port, port))
	}
	e.Allowed, e.Unknown, e.Missing = v.Allowed, v.Unknown, v.Reasons
	e.Verdict = v.Overall()
	if src.peer != nil && src.peer == dst.peer {
		e.SelfNote = "source and destination are the same peer"
		if !src.peer.many {
			e.SelfNote = "a pod's traffic to itself is left undefined upstream; most CNIs allow it whatever the policies say"
		}
	}
	return e, nil
}

func (a *Analysis) direction(self endpoint, id, other *identity, otherPart *netipx.IPSet, egress bool) (Direction, Verdict) {
	d := Direction{Of: self.name, Allowed: netset.AllPorts()}
	switch {
	case self.peer == nil:
		d.Reason = "an address outside the cluster: no NetworkPolicy applies"
		return d, allowAll()
	case id.hostNetwork:
		d.Reason = "the pod uses the host network: NetworkPolicies do not isolate it"
		return d, allowAll()
	}
	d.Applies = true
	v := side(id, other, otherPart, egress)
	d.Allowed, d.Unknown, d.Missing = v.Allowed, v.Unknown, v.Reasons
	if id.tiers != nil && len(id.doubt) == 0 {
		var steps []TierStep
		id.tiers.side(id, other, otherPart, egress, false, &steps)
		d.Tiers = orderSteps(steps)
	}
	policies, maybe := id.ingress, id.maybeIngress
	if egress {
		policies, maybe = id.egress, id.maybeEgress
	}
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	switch {
	case len(id.doubt) > 0:
		d.Reason = "policies ringfence does not evaluate, or could not read, may decide its " + dir
	case len(policies) == 0 && len(maybe) == 0 && id.tiers != nil:
		// The verdict is the tiers' (the steps below): no NetworkPolicy
		// does not mean everything is allowed.
		d.Reason = "no NetworkPolicy selects it for " + dir + ": the tiered policies, then the default, decide"
		return d, v
	case len(policies) == 0 && len(maybe) == 0:
		d.Reason = "no policy selects it for " + dir + ": not isolated, everything is allowed"
		return d, v
	case len(policies) == 0:
		d.Reason = "only policies that may or may not select it (labels set at run time) isolate its " + dir
	}
	d.Isolated = len(policies) > 0
	// Named ports resolve on the destination of the traffic.
	portsOn := other
	if !egress {
		portsOn = id
	}
	for _, p := range append(append([]*policy(nil), policies...), maybe...) {
		pv := PolicyVerdict{Kind: map[bool]string{true: p.src.Kind}[p.src.Kind != "NetworkPolicy"], Namespace: p.src.Namespace, Name: p.src.Name, Source: p.src.Source.String()}
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		for _, r := range rules {
			rv := RuleVerdict{Index: r.index, Source: r.source.String(), Peers: describePeers(r)}
			switch m, why := r.match(other, otherPart); m {
			case Yes:
				rv.Matches = true
				rv.Allowed = r.allowed(portsOn)
			case Maybe:
				rv.Maybe, rv.Why = true, why
				rv.Allowed = r.allowed(portsOn)
			}
			pv.Rules = append(pv.Rules, rv)
		}
		d.Policies = append(d.Policies, pv)
	}
	return d, v
}

// explainSG is the security groups' verdict between two endpoints: a pod's
// groups (its own, or its nodes') on each side, an address's none.
func (a *Analysis) explainSG(src, dst endpoint) (*SGExplanation, Verdict) {
	e := &SGExplanation{}
	var v Verdict
	switch {
	case src.peer != nil && dst.peer != nil:
		s, d := src.peer.identity, dst.peer.identity
		if s.hostNetwork || d.hostNetwork {
			// Host-network pods use their node's interface; traffic
			// between nodes is judged like traffic between pods.
			e.Detail = "a host-network pod uses its node's interface"
		}
		var certain bool
		v, certain = a.sg.podPair(s, d)
		if !certain {
			e.Detail = strings.TrimPrefix(e.Detail+"; ", "; ") + "pod addresses are not in the inputs: rules naming the other side's group or every private address decide surely, others may or may not admit"
		}
	case src.peer != nil:
		sv, known := a.sg.partVerdict(src.peer.identity.groups, dst.part, true)
		v = sv
		if known {
			ev := a.sg.verdict(src.peer.identity.groups, dst.part, true)
			e.Egress = &ev
		}
	default:
		sv, known := a.sg.partVerdict(dst.peer.identity.groups, src.part, false)
		v = sv
		if known {
			iv := a.sg.verdict(dst.peer.identity.groups, src.part, false)
			e.Ingress = &iv
		}
	}
	e.Allowed, e.Unknown, e.Reasons = v.Allowed, v.Unknown, v.Reasons
	return e, v
}

func describePeers(r *rule) string {
	if r.allPeers {
		return "any peer"
	}
	var parts []string
	spec := r.policy.src.Spec.Ingress
	if r.egress {
		for _, peer := range r.policy.src.Spec.Egress[r.index].To {
			parts = append(parts, peerString(peer.NamespaceSelector, peer.PodSelector, peer.IPBlock))
		}
	} else {
		for _, peer := range spec[r.index].From {
			parts = append(parts, peerString(peer.NamespaceSelector, peer.PodSelector, peer.IPBlock))
		}
	}
	return strings.Join(parts, " OR ")
}

// resolve finds an endpoint: a peer by id (or by workload id when it is
// split into roles: then it must be named), or an address.
func (a *Analysis) resolve(s string) (endpoint, error) {
	if addr, err := netip.ParseAddr(s); err == nil {
		for _, p := range a.peers {
			if p.identity != nil {
				for _, ip := range p.identity.ips {
					if ip == addr {
						return endpoint{name: p.ID, peer: p}, nil
					}
				}
			}
		}
		var b netipx.IPSetBuilder
		b.Add(addr)
		set, _ := b.IPSet()
		return endpoint{name: s, part: set}, nil
	}
	if p := a.peerNamed(s); p != nil {
		return endpoint{name: p.ID, peer: p}, nil
	}
	var roles []string
	for _, p := range a.peers {
		if p.Kind == KindExternal {
			continue
		}
		if strings.HasPrefix(p.ID, s+"/") {
			roles = append(roles, p.ID)
		}
	}
	if len(roles) > 0 {
		sort.Strings(roles)
		return endpoint{}, fmt.Errorf("%s has roles that policies tell apart; name one of: %s", s, strings.Join(roles, ", "))
	}
	return endpoint{}, fmt.Errorf("no workload or pod %q (use namespace/name, or an IP address)", s)
}

// peerString describes one peer of a rule as written.
func peerString(ns, pods *metav1.LabelSelector, block *networkingv1.IPBlock) string {
	switch {
	case block != nil:
		s := "ipBlock " + block.CIDR
		if len(block.Except) > 0 {
			s += " except " + strings.Join(block.Except, ",")
		}
		return s
	case ns != nil && pods != nil:
		return "pods " + selectorString(pods) + " in namespaces " + selectorString(ns)
	case ns != nil:
		return "all pods in namespaces " + selectorString(ns)
	}
	return "pods " + selectorString(pods) + " of the policy's namespace"
}

func selectorString(s *metav1.LabelSelector) string {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return "{} (all)"
	}
	return "{" + metav1.FormatLabelSelector(s) + "}"
}

// Destination is a named set of addresses (aws:S3:us-east-1, internet,
// imds), resolved by the caller.
type Destination struct {
	Name string
	// Description says where the set comes from (the ranges publication).
	Description string
	Set         *netipx.IPSet
}

// Coverage is how much of a destination one layer (or both) allows.
type Coverage struct {
	Allowed []string `json:"allowed"`
	Blocked []string `json:"blocked"`
	// AllowedIPv4 and TotalIPv4 count IPv4 addresses.
	AllowedIPv4 uint64 `json:"allowedIPv4"`
	TotalIPv4   uint64 `json:"totalIPv4"`
	// Rules lists the rules that admit part of the destination.
	Rules []string `json:"rules,omitempty"`
	// Reason is set when the layer does not apply or is not known.
	Reason string `json:"reason,omitempty"`
	// Unresolved lists prefix lists that rules reference without their
	// entries: what they admit is not known.
	Unresolved []string `json:"unresolvedPrefixLists,omitempty"`
	// Unknown are the addresses that may be allowed or blocked, for the
	// reasons Missing gives; Blocked holds none of them.
	Unknown []string `json:"unknown,omitempty"`
	Missing []string `json:"missing,omitempty"`
}

// SetExplanation explains egress from a pod to a named destination, layer
// by layer: how much of the destination each fence allows, and by which
// rules.
type SetExplanation struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Description string `json:"description,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
	Port        int32  `json:"port,omitempty"`
	Verdict     string `json:"verdict"`
	// TierProfile is set when tiered policies decide the pod's egress.
	TierProfile    string    `json:"tierProfile,omitempty"`
	NetworkPolicy  Coverage  `json:"networkPolicy"`
	SecurityGroups *Coverage `json:"securityGroups,omitempty"`
	// VPC is the network ACLs and routes, hop by hop, when either was
	// given.
	VPC  *DestVPC `json:"vpc,omitempty"`
	Both Coverage `json:"both"`
	// InterfaceEndpoints are the interface endpoints whose private DNS
	// carries, or may carry, the traffic instead of the public ranges
	// (docs/aws.md); the verdict then follows the endpoint's path.
	InterfaceEndpoints []EndpointHop `json:"interfaceEndpoints,omitempty"`
}

// ExplainDestination explains traffic from a pod to a named destination.
// port 0 means any port.
func ExplainDestination(a *Analysis, from string, dst Destination, protocol netset.Protocol, port int32) (*SetExplanation, error) {
	src, err := a.resolve(from)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	if src.peer == nil {
		return nil, fmt.Errorf("--from must be a workload or pod to explain traffic to %s", dst.Name)
	}
	id := src.peer.identity
	e := &SetExplanation{From: src.name, To: dst.Name, Description: dst.Description}
	if port != 0 {
		e.Protocol, e.Port = protocol.String(), port
	}
	wants := func(p netset.Ports) bool {
		if port == 0 {
			return !p.IsEmpty()
		}
		return p.Contains(protocol, port)
	}
	// The NetworkPolicy layer.
	var npSet, npMaybe netipx.IPSetBuilder
	var npRules, npMissing []string
	reason := ""
	switch {
	case id.hostNetwork:
		npSet.AddSet(netset.Everything())
		reason = "the pod uses the host network: NetworkPolicies do not isolate it"
	case len(id.doubt) > 0:
		npMaybe.AddSet(netset.Everything())
		npMissing = id.doubt
	case id.tiers != nil:
		// Tiered policies decide, NetworkPolicies below them: the layer
		// is theirs together, as in reach.
		npRules, npMissing = a.tierDestination(id, dst.Set, wants, &npSet, &npMaybe)
		e.TierProfile = string(a.g.profile)
	case len(id.egress) == 0 && len(id.maybeEgress) == 0:
		npSet.AddSet(netset.Everything())
		reason = "no policy selects it for egress: not isolated"
	default:
		if len(id.egress) == 0 {
			// Only policies that may select it: it may not be isolated.
			npMaybe.AddSet(netset.Everything())
		}
		for _, p := range id.maybeEgress {
			npMissing = append(npMissing, p.maybeWhy)
		}
		for _, p := range append(append([]*policy(nil), id.egress...), id.maybeEgress...) {
			for _, r := range p.egress {
				if !wants(r.allowed(nil)) {
					continue
				}
				target := &npSet
				if p.maybe.has(id.index) {
					target = &npMaybe
				}
				switch {
				case r.allPeers:
					target.AddSet(netset.Everything())
				case r.ips != nil && netset.Overlaps(r.ips, dst.Set):
					target.AddSet(r.ips)
				default:
					continue
				}
				npRules = append(npRules, fmt.Sprintf("NetworkPolicy %s/%s egress[%d] (%s): %s", p.src.Namespace, p.src.Name, r.index, r.source, describePeers(r)))
			}
		}
	}
	np, _ := npSet.IPSet()
	npU, _ := npMaybe.IPSet()
	e.NetworkPolicy = coverage(np, npU, dst.Set, npRules, reason, npMissing)
	both, bothU := np, npU
	if a.sg != nil {
		cov := Coverage{Reason: a.sg.unknownWhy}
		sg, sgU := &netipx.IPSet{}, netset.Everything()
		if a.sg.known(id.groups) {
			var sgSet, sgMaybe netipx.IPSetBuilder
			var sgRules, unresolved, missing []string
			for _, gid := range id.groups {
				g := a.sg.groups[gid]
				for i := range g.Egress {
					r := &g.Egress[i]
					if !wants(sgPorts(r)) {
						continue
					}
					for _, pl := range r.PrefixLists {
						if a.sg.lists[pl] == nil {
							// Its entries may be any address.
							unresolved = append(unresolved, pl)
							sgMaybe.AddSet(dst.Set)
							missing = append(missing, fmt.Sprintf("prefix list %s's entries are not in the inputs (aws ec2 get-managed-prefix-list-entries --prefix-list-id %s > %s.json)", pl, pl, pl))
						}
					}
					for _, ref := range r.Groups {
						if m := a.sg.members[ref]; m != nil && netset.Overlaps(m, dst.Set) {
							sgSet.AddSet(m)
							sgRules = append(sgRules, fmt.Sprintf("security group %s (%s) egress rule %d (%s): members of %s in the inputs", g.ID, g.Name, i, r.Source, ref))
						}
						if netset.Overlaps(a.sg.memberSpace.set, dst.Set) {
							sgMaybe.AddSet(a.sg.memberSpace.set)
							missing = append(missing, fmt.Sprintf("security group %s (%s) egress rule %d (%s) admits the members of %s; members other than the instances in the inputs (control-plane interfaces, load balancers, endpoints) are not known", g.ID, g.Name, i, r.Source, ref))
						}
					}
					addrs := a.sg.ruleAddresses(r)
					if addrs == nil || !netset.Overlaps(addrs, dst.Set) {
						continue
					}
					sgSet.AddSet(addrs)
					sgRules = append(sgRules, fmt.Sprintf("security group %s (%s) egress rule %d (%s): %s", g.ID, g.Name, i, r.Source, sgRuleString(r)))
				}
			}
			if netset.Overlaps(a.sg.unfiltered, dst.Set) {
				sgSet.AddSet(a.sg.unfiltered)
				sgRules = append(sgRules, "no rule: security groups do not filter the instance's link-local services and the VPC's DNS resolver (metadata, DNS, time, Pod Identity and ECS agents, Windows activation)")
			}
			sg, _ = sgSet.IPSet()
			sgU, _ = sgMaybe.IPSet()
			cov = coverage(sg, sgU, dst.Set, sgRules, "", mergeReasons(netset.AllPorts(), sortedCopy(missing)))
			cov.Unresolved = unresolved
		}
		e.SecurityGroups = &cov
		// Surely through both: surely through each; maybe: maybe through
		// each and not surely through both.
		bothU = netset.Difference(netset.Intersect(union(np, npU), union(sg, sgU)), netset.Intersect(np, sg))
		both = netset.Intersect(np, sg)
	}
	var missing []string
	missing = append(missing, e.NetworkPolicy.Missing...)
	if e.SecurityGroups != nil {
		missing = append(missing, e.SecurityGroups.Missing...)
		if e.SecurityGroups.Reason != "" && len(e.SecurityGroups.Allowed) == 0 {
			missing = append(missing, e.SecurityGroups.Reason)
		}
	}
	if a.net != nil {
		var vpc, vpcU *netipx.IPSet
		e.VPC, vpc, vpcU = a.destVPC(id, dst.Set, wants)
		missing = append(missing, e.VPC.Missing...)
		bothU = netset.Difference(netset.Intersect(union(both, bothU), union(vpc, vpcU)), netset.Intersect(both, vpc))
		both = netset.Intersect(both, vpc)
	}
	e.Both = coverage(both, bothU, dst.Set, nil, "", mergeReasons(netset.AllPorts(), sortedCopy(missing)))
	switch {
	case len(e.Both.Blocked) == 0 && len(e.Both.Unknown) == 0:
		e.Verdict = "allowed"
	case len(e.Both.Allowed) == 0 && len(e.Both.Unknown) == 0:
		e.Verdict = "denied"
	case len(e.Both.Allowed) == 0 && len(e.Both.Blocked) == 0:
		e.Verdict = "unknown"
	case len(e.Both.Allowed) == 0:
		e.Verdict = "partly unknown, the rest denied"
	default:
		e.Verdict = "partly allowed"
	}
	if n := a.ifaceLayer(); n != nil {
		a.viaInterfaceEndpoints(n, e, id, dst.Name, protocol, port)
	}
	return e, nil
}

// viaInterfaceEndpoints adds the interface endpoints that carry, or may
// carry, the traffic, and lets the verdict follow them: the endpoint's
// path where its private DNS surely answers for the destination, either
// path where the inputs cannot say.
func (a *Analysis) viaInterfaceEndpoints(n *netLayer, e *SetExplanation, id *identity, dest string, protocol netset.Protocol, port int32) {
	asked := netset.AllPorts()
	if port != 0 {
		asked = netset.PortRange(protocol, port, port)
	}
	_, region, _ := serviceOf(dest)
	for _, ep := range n.interfaceEndpoints(dest, n.groupOf(id)) {
		h := a.endpointHop(n, id, ep, asked)
		if region == "" && h.Carries == "yes" {
			r, _ := endpointService(ep.Service)
			h.Carries, h.Why = "maybe", h.Why+"; but "+dest+" spans every region and the endpoint serves "+r+" only"
		}
		e.InterfaceEndpoints = append(e.InterfaceEndpoints, h)
		switch h.Carries {
		case "yes":
			e.Verdict = h.Verdict
		case "maybe":
			// Either path may be taken: a verdict both share holds; an
			// endpoint that allows beside public ranges that allow part
			// leaves part allowed either way.
			switch {
			case e.Verdict == h.Verdict:
			case e.Verdict == "partly allowed" && h.Verdict == StateAllowed:
			default:
				e.Verdict = StateUnknown
			}
		}
	}
}

func union(a, b *netipx.IPSet) *netipx.IPSet {
	var x netipx.IPSetBuilder
	x.AddSet(a)
	x.AddSet(b)
	s, _ := x.IPSet()
	return s
}

// coverage splits a destination into what is surely allowed, what may be
// (unknown, less the allowed) and the rest, blocked.
func coverage(allowed, unknown, dst *netipx.IPSet, rules []string, reason string, missing []string) Coverage {
	in, maybe, out := split(allowed, unknown, dst)
	c := Coverage{
		Allowed: netset.PrefixStrings(in), Blocked: netset.PrefixStrings(out), Unknown: netset.PrefixStrings(maybe),
		AllowedIPv4: netset.IPv4Count(in), TotalIPv4: netset.IPv4Count(dst),
		Rules: rules, Reason: reason,
	}
	if len(c.Unknown) > 0 {
		c.Missing = missing
	}
	return c
}

// split is coverage's three parts of dst: in allowed, in unknown but not
// allowed, and the rest. Most explanations find the destination wholly
// allowed or wholly outside both, with nothing unknown (audit asks one per
// workload), and skip the set algebra; TestSplitFastPath holds the two
// ways equal.
func split(allowed, unknown, dst *netipx.IPSet) (in, maybe, out *netipx.IPSet) {
	if unknown == nil || !netset.Overlaps(unknown, dst) {
		switch {
		case allowed == nil || !netset.Overlaps(allowed, dst):
			return &netipx.IPSet{}, &netipx.IPSet{}, dst
		case containsAll(allowed, dst):
			return dst, &netipx.IPSet{}, &netipx.IPSet{}
		}
	}
	return splitSets(allowed, unknown, dst)
}

// splitSets is split by set algebra.
func splitSets(allowed, unknown, dst *netipx.IPSet) (in, maybe, out *netipx.IPSet) {
	in = netset.Intersect(dst, allowed)
	maybe = netset.Difference(netset.Intersect(dst, unknown), allowed)
	out = netset.Difference(netset.Difference(dst, allowed), maybe)
	return in, maybe, out
}

// containsAll reports whether s holds every address of sub.
func containsAll(s, sub *netipx.IPSet) bool {
	for _, r := range sub.Ranges() {
		if !s.ContainsRange(r) {
			return false
		}
	}
	return true
}

func sgRuleString(r *model.SGRule) string {
	var peers []string
	for _, c := range r.CIDRs {
		peers = append(peers, c.String())
	}
	peers = append(peers, r.PrefixLists...)
	return fmt.Sprintf("%s %s to %s", r.Protocol, sgPortsText(r), strings.Join(peers, ","))
}

func sgPortsText(r *model.SGRule) string {
	if r.Protocol == "-1" || r.FromPort == -1 {
		return "all ports"
	}
	if r.FromPort == r.ToPort {
		return fmt.Sprint(r.FromPort)
	}
	return fmt.Sprintf("%d-%d", r.FromPort, r.ToPort)
}
