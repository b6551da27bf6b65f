package engine

import (
	"fmt"
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

// findLB finds the load balancer of a Service ("Service") or Ingress: first
// by its DNS name in status.loadBalancer.ingress, then by the tags the AWS
// Load Balancer Controller and the in-tree provider set (only when one load
// balancer carries them: the same namespace/name in two clusters is
// ambiguous, and the cluster's name is not in the inputs).
func (a *Analysis) findLB(kind, namespace, name string, status []string) *matchedLB {
	lbs := a.g.world.Network.LoadBalancers
	for _, h := range status {
		h = strings.TrimPrefix(strings.ToLower(strings.TrimSuffix(h, ".")), "dualstack.")
		for _, lb := range lbs {
			if lb.DNSName != "" && strings.EqualFold(lb.DNSName, h) {
				return &matchedLB{lb, "its DNS name " + lb.DNSName + " in status.loadBalancer.ingress"}
			}
		}
	}
	keys := []string{"service.k8s.aws/stack", "kubernetes.io/service-name"}
	if kind == "Ingress" {
		keys = []string{"ingress.k8s.aws/stack"}
	}
	var hits []*matchedLB
	for _, lb := range lbs {
		for _, k := range keys {
			if lb.Tags[k] == namespace+"/"+name {
				hits = append(hits, &matchedLB{lb, "its tag " + k + "=" + namespace + "/" + name})
				break
			}
		}
	}
	if len(hits) == 1 {
		return hits[0]
	}
	return nil
}

// lbHop judges a load balancer from the inputs for traffic to ports (nil:
// any port, as for an ALB whose listeners are not in the inputs). sources
// are the addresses that get through it.
func (a *Analysis) lbHop(step string, m *matchedLB, ports []corev1.ServicePort) (Hop, *netipx.IPSet) {
	lb := m.lb
	name := fmt.Sprintf("load balancer %s (%s, matched by %s)", lb.ARN, lb.Type, m.how)
	hop := Hop{Step: step, Source: lb.Source.String()}
	switch lb.Scheme {
	case "internal":
		hop.Verdict, hop.Detail = HopBlocked, name+": internal, not reachable from the internet"
		return hop, netset.Intersect(netset.Everything(), privateAddresses())
	case "internet-facing":
	default:
		hop.Verdict, hop.Detail = HopUnknown, name+": its scheme is not in the input"
		return hop, netset.Everything()
	}
	name += ": internet-facing"
	switch {
	case len(lb.Groups) == 0:
		// A Network Load Balancer created without security groups filters
		// nothing: the targets' groups see the clients' addresses.
		hop.Verdict, hop.Detail = HopOpen, name+", no security groups: every client reaches the targets, whose security groups decide"
		return hop, netset.Everything()
	case a.sg == nil || !a.sg.known(lb.Groups):
		hop.Verdict, hop.Detail = HopUnknown, name+", its security groups "+strings.Join(lb.Groups, ",")+" are not in the inputs"
		return hop, netset.Everything()
	}
	var b netipx.IPSetBuilder
	var rules, unresolved []string
	for _, gid := range lb.Groups {
		g := a.sg.groups[gid]
		for i := range g.Ingress {
			r := &g.Ingress[i]
			c := a.sg.addrs[r]
			if c.set == nil || !admitsAny(c.ports, ports) {
				continue
			}
			b.AddSet(c.set)
			rules = append(rules, fmt.Sprintf("%s ingress rule %d (%s)", g.ID, i, r.Source))
			for _, pl := range r.PrefixLists {
				if a.sg.lists[pl] == nil {
					unresolved = append(unresolved, pl)
				}
			}
		}
	}
	sources, _ := b.IPSet()
	hop.Verdict = publicVerdict(sources)
	on := "any port"
	if len(ports) > 0 {
		var ps []string
		for _, p := range ports {
			ps = append(ps, fmt.Sprintf("%s %d", p.Protocol, p.Port))
		}
		on = strings.Join(ps, ",")
	}
	admitted := strings.Join(netset.PrefixStrings(netset.Intersect(sources, netset.Public())), ",")
	switch hop.Verdict {
	case HopBlocked:
		hop.Detail = fmt.Sprintf("%s, but its security groups %s admit no public address on %s", name, strings.Join(lb.Groups, ","), on)
	case HopRestricted:
		hop.Detail = fmt.Sprintf("%s, its security groups %s admit %s on %s", name, strings.Join(lb.Groups, ","), admitted, on)
	default:
		hop.Detail = fmt.Sprintf("%s, its security groups %s admit the whole internet on %s", name, strings.Join(lb.Groups, ","), on)
	}
	if len(unresolved) > 0 {
		// A prefix list whose entries are not in the inputs may hold
		// public ranges: "no public address" cannot be said.
		hop.Detail += "; the entries of prefix lists " + strings.Join(unresolved, ",") + " are not in the inputs"
		if hop.Verdict == HopBlocked {
			hop.Verdict = HopUnknown
		}
	}
	if len(rules) > 0 {
		hop.Source += "; " + strings.Join(rules, "; ")
	}
	return hop, sources
}

// admitsAny reports whether a rule's ports hold one of the listener ports
// (every port when the listeners are not known).
func admitsAny(rule netset.Ports, ports []corev1.ServicePort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto, ok := netset.ParseProtocol(p.Protocol)
		if ok && rule.Contains(proto, p.Port) {
			return true
		}
	}
	return false
}

// lbTargetType is "ip" or "instance" when every target group of the load
// balancer in the inputs has that target type, "" otherwise.
func (a *Analysis) lbTargetType(lb *model.LoadBalancer) (string, []string) {
	types := map[string]bool{}
	var groups []string
	for _, tg := range a.g.world.Network.TargetGroups {
		for _, arn := range tg.LoadBalancers {
			if arn == lb.ARN {
				types[tg.TargetType] = true
				groups = append(groups, fmt.Sprintf("target group %s: %s targets (%s)", tg.Name, tg.TargetType, tg.Source))
			}
		}
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
