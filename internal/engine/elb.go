package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
)

// A Service of type LoadBalancer or an Ingress is served by an ELBv2 load
// balancer. When the AWS inputs hold it, its own scheme, security groups
// and target groups decide the first hop; the Service's annotations only
// say what the controller was asked to build, and are the fallback.

// matchedLB is a load balancer of the inputs and how it was tied to its
// Service or Ingress.
type matchedLB struct {
	lb  *model.LoadBalancer
	how string
}

// Tags the AWS Load Balancer Controller puts on what it builds: the
// Service's namespace/name, the Ingress's namespace/name (or its
// IngressGroup's name), and the cluster's name; the in-tree cloud
// provider's are the Service's namespace/name and kubernetes.io/cluster/
// followed by the cluster's name.
const (
	tagServiceStack = "service.k8s.aws/stack"
	tagIngressStack = "ingress.k8s.aws/stack"
	tagLBCCluster   = "elbv2.k8s.aws/cluster"
	tagServiceName  = "kubernetes.io/service-name"
	tagClusterKey   = "kubernetes.io/cluster/"
)

// findLB finds the load balancer of a Service ("Service") or Ingress: first
// by its DNS name in status.loadBalancer.ingress, then by the tags the AWS
// Load Balancer Controller and the in-tree provider set (stack is the
// namespace/name, or an Ingress's group name). Tags are trusted only when
// one load balancer carries them: the same namespace/name in two clusters
// is ambiguous unless the cluster's name (from the kubeconfig context the
// object was read from) picks one by its cluster tag.
func (a *Analysis) findLB(kind, stack string, status []string, from model.Source) *matchedLB {
	lbs := a.g.world.Network.LoadBalancers
	for _, h := range status {
		h = strings.TrimPrefix(strings.ToLower(strings.TrimSuffix(h, ".")), "dualstack.")
		for _, lb := range lbs {
			if lb.DNSName != "" && strings.EqualFold(lb.DNSName, h) {
				return &matchedLB{lb, "its DNS name " + lb.DNSName + " in status.loadBalancer.ingress"}
			}
		}
	}
	keys := []string{tagServiceStack, tagServiceName}
	if kind == "Ingress" {
		keys = []string{tagIngressStack}
	}
	var hits []*matchedLB
	for _, lb := range lbs {
		for _, k := range keys {
			if lb.Tags[k] == stack {
				hits = append(hits, &matchedLB{lb, "its tag " + k + "=" + stack})
				break
			}
		}
	}
	if len(hits) > 1 {
		hits = byCluster(hits, clusterName(from.Cluster))
	}
	if len(hits) == 1 {
		return hits[0]
	}
	return nil
}

// clusterName is the EKS cluster's name in a kubeconfig context's name:
// "arn:aws:eks:<region>:<account>:cluster/<name>" as aws eks
// update-kubeconfig writes it, else the context's name itself.
func clusterName(context string) string {
	if i := strings.LastIndex(context, ":cluster/"); i >= 0 {
		return context[i+len(":cluster/"):]
	}
	return context
}

// byCluster keeps the load balancers tagged for the cluster.
func byCluster(hits []*matchedLB, cluster string) []*matchedLB {
	if cluster == "" {
		return hits
	}
	var out []*matchedLB
	for _, h := range hits {
		switch {
		case h.lb.Tags[tagLBCCluster] == cluster:
			out = append(out, &matchedLB{h.lb, h.how + " and " + tagLBCCluster + "=" + cluster})
		case h.lb.Tags[tagClusterKey+cluster] != "":
			out = append(out, &matchedLB{h.lb, h.how + " and " + tagClusterKey + cluster})
		}
	}
	return out
}

// lbClients are the internet addresses that can reach a load balancer at
// all: an "ipv4" one (the default) has no IPv6 address; a
// "dualstack-without-public-ipv4" one no public IPv4 address.
func lbClients(lb *model.LoadBalancer) *netipx.IPSet {
	var b netipx.IPSetBuilder
	switch lb.IPAddressType {
	case "dualstack":
		return netset.Public()
	case "dualstack-without-public-ipv4":
		b.AddPrefix(netip.MustParsePrefix("::/0"))
	default:
		b.AddPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	}
	family, _ := b.IPSet()
	return netset.Intersect(netset.Public(), family)
}

// clientVerdict is publicVerdict within the clients a load balancer can
// have.
func clientVerdict(sources, clients *netipx.IPSet) string {
	in := netset.Intersect(sources, clients)
	switch {
	case len(in.Ranges()) == 0:
		return HopBlocked
	case in.Equal(clients):
		return HopOpen
	}
	return HopRestricted
}

// lbPort is a port a load balancer takes connections on and the
// addresses its security groups admit there.
type lbPort struct {
	proto    netset.Protocol
	port     int32
	any      bool // every port: the listeners are not known
	admitted *netipx.IPSet
}

func (p lbPort) String() string {
	if p.any {
		return "any port"
	}
	return fmt.Sprintf("%s %d", p.proto, p.port)
}

// asked is the ports of p, for network ACLs.
func (p lbPort) asked() netset.Ports {
	if p.any {
		return netset.AllPorts()
	}
	return netset.PortRange(p.proto, p.port, p.port)
}

// listenersOf are the listeners of a load balancer in the inputs, by port.
func (a *Analysis) listenersOf(lb *model.LoadBalancer) []*model.Listener {
	var out []*model.Listener
	for _, l := range a.g.world.Network.Listeners {
		if l.LoadBalancer == lb.ARN {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Port < out[j].Port || out[i].Port == out[j].Port && out[i].ARN < out[j].ARN
	})
	return out
}

// listenerPorts are the ports a listener takes connections on (Elastic
// Load Balancing's listener protocols: HTTP, HTTPS, TLS and TCP are TCP;
// UDP and QUIC are UDP; TCP_UDP and TCP_QUIC both on one port; a Gateway
// Load Balancer's GENEVE listener takes UDP 6081).
func listenerPorts(l *model.Listener) []lbPort {
	switch l.Protocol {
	case "UDP", "QUIC":
		return []lbPort{{proto: netset.UDP, port: l.Port}}
	case "TCP_UDP", "TCP_QUIC":
		return []lbPort{{proto: netset.TCP, port: l.Port}, {proto: netset.UDP, port: l.Port}}
	case "GENEVE":
		return []lbPort{{proto: netset.UDP, port: 6081}}
	}
	return []lbPort{{proto: netset.TCP, port: l.Port}}
}

// lbHop judges a load balancer from the inputs: its scheme, and its
// security groups on its listeners' ports (when the listeners are not in
// the inputs, on fallback: the Service's ports, or nil for any port). It
// returns the ports with the addresses the groups admit on each (nil when
// no address from the internet gets in), and every such address.
func (a *Analysis) lbHop(step string, m *matchedLB, fallback []corev1.ServicePort) (Hop, []lbPort, *netipx.IPSet) {
	lb := m.lb
	name := fmt.Sprintf("load balancer %s (%s, matched by %s)", lb.ARN, lb.Type, m.how)
	hop := Hop{Step: step, Source: lb.Source.String()}
	var ports []lbPort
	var listeners []string
	for _, l := range a.listenersOf(lb) {
		ports = append(ports, listenerPorts(l)...)
		listeners = append(listeners, fmt.Sprintf("%s:%d (%s)", l.Protocol, l.Port, l.Source))
	}
	portsFrom := "its listeners " + strings.Join(listeners, ", ")
	switch {
	case len(ports) > 0:
	case len(fallback) > 0:
		for _, sp := range fallback {
			if proto, ok := netset.ParseProtocol(sp.Protocol); ok {
				ports = append(ports, lbPort{proto: proto, port: sp.Port})
			}
		}
		portsFrom = "the Service's ports: its listeners are not in the inputs (aws elbv2 describe-listeners)"
	default:
		ports = []lbPort{{any: true}}
		portsFrom = "its listeners are not in the inputs (aws elbv2 describe-listeners)"
	}
	var on []string
	for _, p := range ports {
		on = append(on, p.String())
	}
	portsFrom = strings.Join(on, ",") + " (" + portsFrom + ")"
	switch lb.Scheme {
	case "internal":
		hop.Verdict, hop.Detail = HopBlocked, name+": internal, not reachable from the internet"
		return hop, nil, netset.Intersect(netset.Everything(), privateAddresses())
	case "internet-facing":
	default:
		hop.Verdict, hop.Detail = HopUnknown, name+": its scheme is not in the input"
		return hop, nil, netset.Everything()
	}
	name += ": internet-facing"
	switch {
	case len(lb.Groups) == 0:
		// A Network Load Balancer created without security groups filters
		// nothing: the targets' groups see the clients' addresses.
		for i := range ports {
			ports[i].admitted = netset.Everything()
		}
		hop.Verdict, hop.Detail = HopOpen, name+", no security groups: every client reaches the targets on "+portsFrom+", whose security groups decide"
		return hop, ports, netset.Everything()
	case a.sg == nil || !a.sg.known(lb.Groups):
		for i := range ports {
			ports[i].admitted = netset.Everything()
		}
		hop.Verdict, hop.Detail = HopUnknown, name+", its security groups "+strings.Join(lb.Groups, ",")+" are not in the inputs"
		return hop, ports, netset.Everything()
	}
	var all netipx.IPSetBuilder
	var rules, unresolved []string
	for i := range ports {
		var b netipx.IPSetBuilder
		for _, gid := range lb.Groups {
			g := a.sg.groups[gid]
			for j := range g.Ingress {
				r := &g.Ingress[j]
				c := a.sg.addrs[r]
				if c.set == nil || !ports[i].any && !c.ports.Contains(ports[i].proto, ports[i].port) {
					continue
				}
				b.AddSet(c.set)
				rules = appendUnique(rules, fmt.Sprintf("%s ingress rule %d (%s)", g.ID, j, r.Source))
				for _, pl := range r.PrefixLists {
					if a.sg.lists[pl] == nil {
						unresolved = appendUnique(unresolved, pl)
					}
				}
			}
		}
		ports[i].admitted, _ = b.IPSet()
		all.AddSet(ports[i].admitted)
	}
	sources, _ := all.IPSet()
	hop.Verdict = clientVerdict(sources, lbClients(lb))
	admitted := strings.Join(netset.PrefixStrings(netset.Intersect(sources, lbClients(lb))), ",")
	switch hop.Verdict {
	case HopBlocked:
		hop.Detail = fmt.Sprintf("%s, but its security groups %s admit no public address on %s", name, strings.Join(lb.Groups, ","), portsFrom)
	case HopRestricted:
		hop.Detail = fmt.Sprintf("%s, its security groups %s admit %s on %s", name, strings.Join(lb.Groups, ","), admitted, portsFrom)
	default:
		hop.Detail = fmt.Sprintf("%s, its security groups %s admit the whole internet on %s", name, strings.Join(lb.Groups, ","), portsFrom)
	}
	if len(unresolved) > 0 {
		// A prefix list whose entries are not in the inputs may hold
		// public ranges: "no public address" cannot be said.
		hop.Detail += "; the entries of prefix lists " + strings.Join(unresolved, ",") + " are not in the inputs"
		if hop.Verdict == HopBlocked {
			hop.Verdict = HopUnknown
		}
		// Any address may be in them: the subnets are judged for all.
		for i := range ports {
			ports[i].admitted = netset.Everything()
		}
	}
	if len(rules) > 0 {
		hop.Source += "; " + strings.Join(rules, "; ")
	}
	return hop, ports, sources
}

// lbTargetType is "ip" or "instance" when every target group of the load
// balancer in the inputs has that target type, "" otherwise. A target
// group is the load balancer's when it names it or a listener of it
// forwards there.
func (a *Analysis) lbTargetType(lb *model.LoadBalancer) (string, []string) {
	types := map[string]bool{}
	var groups []string
	via := map[string][]string{}
	for _, l := range a.listenersOf(lb) {
		for _, tg := range l.TargetGroups {
			via[tg] = append(via[tg], fmt.Sprintf("%s:%d", l.Protocol, l.Port))
		}
	}
	for _, tg := range a.g.world.Network.TargetGroups {
		mine := via[tg.ARN] != nil
		for _, arn := range tg.LoadBalancers {
			mine = mine || arn == lb.ARN
		}
		if !mine {
			continue
		}
		types[tg.TargetType] = true
		text := fmt.Sprintf("target group %s: %s targets", tg.Name, tg.TargetType)
		if tg.Protocol != "" {
			text += fmt.Sprintf(" on %s:%d", tg.Protocol, tg.Port)
		}
		if ls := via[tg.ARN]; ls != nil {
			text += ", from listener " + strings.Join(ls, ",")
		}
		groups = append(groups, text+" ("+tg.Source.String()+")")
	}
	sort.Strings(groups)
	if len(types) != 1 {
		return "", groups
	}
	for t := range types {
		return t, groups
	}
	return "", groups
}

// lbSubnetsHop judges the subnets of an internet-facing load balancer
// for clients from the internet on each of its ports: a load balancer
// node answers a client through its subnet's route table, so the subnet
// must route the client's address to an internet gateway (AWS: an
// internet-facing load balancer's subnets must be public), and the
// subnet's network ACL must admit the request on the port and the reply
// to the client's ephemeral ports (stateless: each needs its own entry).
// A client gets in when some subnet lets it. nil when the inputs hold no
// route tables and no network ACLs (the layer is not judged at all).
// It returns the addresses that get through, or may.
func (a *Analysis) lbSubnetsHop(lb *model.LoadBalancer, ports []lbPort) (*Hop, *netipx.IPSet) {
	n := a.net
	if n == nil || len(ports) == 0 {
		return nil, nil
	}
	hop := &Hop{Step: "load balancer subnets", Source: lb.Source.String()}
	if len(lb.Subnets) == 0 {
		hop.Verdict, hop.Detail = HopUnknown, "the subnets of load balancer "+lb.Name+" are not in its input"
		return hop, netset.Everything()
	}
	subnets := make([]*model.Subnet, 0, len(lb.Subnets))
	for _, id := range lb.Subnets {
		s := n.subnets[id]
		if s == nil {
			// Its route table association and network ACL association
			// name it; its VPC gives the main table and default ACL.
			s = &model.Subnet{ID: id, VPC: lb.VPC}
		}
		subnets = append(subnets, s)
	}
	// Cut the clients' addresses where a route or an ACL entry of the
	// subnets starts or ends: all addresses of a part fare alike.
	clients := lbClients(lb)
	sets := []*netipx.IPSet{clients}
	for _, p := range ports {
		sets = append(sets, p.admitted)
	}
	for _, s := range subnets {
		if c, _ := n.tableOf(s); c != nil {
			sets = append(sets, c.sets...)
		}
		if c := n.acls[s.ID]; c != nil {
			for _, e := range c.acl.Entries {
				sets = append(sets, prefixSet([]netip.Prefix{e.CIDR}))
			}
		}
	}
	parts := netset.Partition(sets)
	var sure, maybe netipx.IPSetBuilder
	notes := map[string]bool{}
	var reasons []string
	note := func(s string) {
		if !notes[s] {
			notes[s] = true
			reasons = append(reasons, s)
		}
	}
	for _, part := range parts {
		if !part.In[0] {
			continue
		}
		addr := part.Set.Ranges()[0].From()
		best := No
		for i, p := range ports {
			if !part.In[1+i] {
				continue
			}
			for _, s := range subnets {
				m := min(a.lbRoute(s, addr, note), a.lbACL(s, addr, p, note))
				best = max(best, m)
			}
		}
		switch best {
		case Yes:
			sure.AddSet(part.Set)
		case Maybe:
			maybe.AddSet(part.Set)
		}
	}
	in, _ := sure.IPSet()
	may, _ := maybe.IPSet()
	var asked netipx.IPSetBuilder
	for _, p := range ports {
		asked.AddSet(p.admitted)
	}
	admitted, _ := asked.IPSet()
	admitted = netset.Intersect(admitted, clients)
	switch {
	case len(in.Ranges()) > 0:
		hop.Verdict = clientVerdict(in, clients)
		switch {
		case hop.Verdict == HopOpen:
			hop.Detail = fmt.Sprintf("the whole internet reaches load balancer %s through its subnets %s", lb.Name, strings.Join(lb.Subnets, ","))
		case in.Equal(admitted):
			hop.Detail = fmt.Sprintf("every client its security groups admit reaches load balancer %s through its subnets %s", lb.Name, strings.Join(lb.Subnets, ","))
		default:
			hop.Detail = fmt.Sprintf("%s from the internet reach load balancer %s through its subnets %s", strings.Join(netset.PrefixStrings(in), ","), lb.Name, strings.Join(lb.Subnets, ","))
		}
	case len(may.Ranges()) > 0:
		hop.Verdict = HopUnknown
		hop.Detail = fmt.Sprintf("whether clients from the internet reach load balancer %s through its subnets %s is not known", lb.Name, strings.Join(lb.Subnets, ","))
	default:
		hop.Verdict = HopBlocked
		hop.Detail = fmt.Sprintf("no client from the internet reaches load balancer %s through its subnets %s", lb.Name, strings.Join(lb.Subnets, ","))
	}
	var on []string
	for _, p := range ports {
		on = append(on, p.String())
	}
	hop.Detail += " on " + strings.Join(on, ",")
	if !n.haveACLs {
		note("network ACLs are not in the inputs: not judged")
	}
	if !n.haveRoutes {
		note("route tables are not in the inputs: not judged")
	}
	hop.Detail += ": " + strings.Join(reasons, "; ")
	var both netipx.IPSetBuilder
	both.AddSet(in)
	both.AddSet(may)
	out, _ := both.IPSet()
	return hop, out
}

// lbRoute is whether subnet s sends a load balancer node's replies to
// client addr out to the internet: Yes through an internet gateway (the
// node has its own public address), No when the route keeps them in the
// VPC or sends them where a connection started outside cannot come back
// (a NAT gateway, an egress-only internet gateway), Maybe where the
// route leaves the model (a firewall's endpoint, peering, a transit
// gateway) or the table is not in the inputs.
func (a *Analysis) lbRoute(s *model.Subnet, addr netip.Addr, note func(string)) Match {
	n := a.net
	if !n.haveRoutes {
		return Yes
	}
	c, via := n.tableOf(s)
	if c == nil {
		note(fmt.Sprintf("%s: %s: its route table is not in the inputs (aws ec2 describe-route-tables)", s.ID, via))
		return Maybe
	}
	e := c.lookup(addr)
	if e == nil {
		note(fmt.Sprintf("%s: route table %s has no route for some clients' addresses: private to them", s.ID, c.rt.ID))
		return No
	}
	r := e.route
	text := fmt.Sprintf("%s: route table %s sends %s to %s", s.ID, c.rt.ID, e.prefix, dashIfEmpty(r.Target, r.TargetType))
	switch {
	case r.Blackhole:
		note(text + " (blackhole): private")
		return No
	case r.TargetType == model.TargetInternetGateway:
		note(text + ": public")
		return Yes
	case r.TargetType == model.TargetLocal:
		note(text + " (local): private")
		return No
	case r.TargetType == model.TargetNATGateway, r.TargetType == model.TargetEgressOnlyIGW:
		note(text + ": private (it carries no connection started outside)")
		return No
	case r.TargetType == model.TargetVPCEndpoint && r.DestinationPrefixList != "":
		note(text + " (a gateway endpoint's service): private")
		return No
	}
	note(text + ": beyond it the inputs say nothing (a firewall endpoint, peering or transit gateway may carry the replies)")
	return Maybe
}

func dashIfEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// lbACL is whether subnet s's network ACL admits the request from client
// addr on port p and the reply to the client's ephemeral ports (any of
// 1024-65535 for a client on the internet).
func (a *Analysis) lbACL(s *model.Subnet, addr netip.Addr, p lbPort, note func(string)) Match {
	n := a.net
	if !n.haveACLs {
		return Yes
	}
	c := n.acls[s.ID]
	if c == nil {
		note(fmt.Sprintf("%s: its network ACL is not in the inputs (aws ec2 describe-network-acls)", s.ID))
		return Maybe
	}
	asked := p.asked()
	in := c.decide(false, matchAddr(addr), asked, "")
	replies := anyEphemeral
	if !p.any {
		replies = anyEphemeral.Intersect(netset.AllOf(p.proto))
	}
	back := c.decide(true, matchAddr(addr), replies, "")
	out := replyVerdict(back, replies, replies, replyWhy)
	what := p.String()
	req := Yes
	switch {
	case in.Allowed.Equal(asked):
	case in.Allowed.IsEmpty():
		req = No
	default:
		req = Maybe // some ports of "any port"
	}
	rep := No
	protos := []netset.Protocol{p.proto}
	if p.any {
		protos = netset.Protocols[:]
	}
	for _, proto := range protos {
		switch {
		case out.Allowed.Contains(proto, 1024):
			rep = max(rep, Yes)
		case out.Unknown.Contains(proto, 1024):
			rep = max(rep, Maybe)
		}
	}
	rules := func(d aclDecision) string {
		var out []string
		for _, r := range d.Rules {
			out = append(out, "rule "+r.RuleNumber+" "+r.Action)
		}
		return strings.Join(out, ", ")
	}
	switch {
	case req == No:
		note(fmt.Sprintf("%s: network ACL %s denies %s in (%s)", s.ID, c.acl.ID, what, rules(in)))
	case req == Maybe:
		note(fmt.Sprintf("%s: network ACL %s admits only some ports in (%s), and the listeners are not known", s.ID, c.acl.ID, rules(in)))
	case rep == No:
		note(fmt.Sprintf("%s: network ACL %s admits %s in (%s) but denies the replies out to the clients' ephemeral ports (%s)", s.ID, c.acl.ID, what, rules(in), rules(back)))
	case rep == Maybe:
		note(fmt.Sprintf("%s: network ACL %s admits %s in (%s) but the replies out to only some of the clients' ephemeral ports 1024-65535 (%s)", s.ID, c.acl.ID, what, rules(in), rules(back)))
	default:
		note(fmt.Sprintf("%s: network ACL %s admits %s in (%s) and the replies out (%s)", s.ID, c.acl.ID, what, rules(in), rules(back)))
	}
	return min(req, rep)
}
