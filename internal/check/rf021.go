package check

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
)

// The default NodePort range of kube-apiserver (--service-node-port-range).
const nodePortFirst, nodePortLast = 30000, 32767

// coversNodePorts reports whether a TCP or UDP rule (not one of every
// protocol or port, which RF008 judges) admits the whole NodePort range.
func coversNodePorts(r *model.SGRule) bool {
	return (r.Protocol == "tcp" || r.Protocol == "udp" || r.Protocol == "6" || r.Protocol == "17") &&
		r.FromPort >= 0 && r.FromPort <= nodePortFirst && r.ToPort >= nodePortLast
}

func rf021() *Rule {
	return &Rule{
		ID: "RF021", Severity: High,
		Title: "A node security group opens the NodePort range to the VPC or the world",
		Rationale: "Every NodePort and LoadBalancer Service listens on a port of 30000-32767 on every node. A node " +
			"group that admits the whole range from a wide CIDR lets any address in it reach those Services directly, " +
			"around the load balancer's front security group, its listeners and source ranges. High from the world " +
			"(0.0.0.0/0, ::/0), medium from a private range such as the VPC.",
		Remediation: "Admit the node ports only from the load balancers' security groups (the AWS Load Balancer " +
			"Controller adds those rules itself), and only the ports in use; remove the CIDR rule for the range.",
		check: func(c *Context) []Finding {
			fenced := fencedBy(c)
			var exposed []Affected
			for _, s := range c.World.Services {
				if s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
					continue
				}
				var ports []string
				for _, p := range s.Spec.Ports {
					if p.NodePort > 0 {
						ports = append(ports, fmt.Sprintf("%d/%s", p.NodePort, p.Protocol))
					}
				}
				if s.Spec.HealthCheckNodePort > 0 {
					ports = append(ports, fmt.Sprintf("%d/TCP (health check)", s.Spec.HealthCheckNodePort))
				}
				detail := "node ports assigned by the API server (not in the manifest)"
				if len(ports) > 0 {
					detail = "node ports " + join(ports)
				}
				exposed = append(exposed, Affected{Object: s.Ref(), Source: s.Source, Detail: detail})
			}
			var out []Finding
			for _, g := range c.World.SecurityGroups {
				if len(fenced[g.ID]) == 0 {
					continue // not on nodes or pods
				}
				// Rules of one protocol and port range that together admit
				// every address are the world, whatever their prefixes
				// (0.0.0.0/1 and 128.0.0.0/1): one finding for them all.
				open := everywhere(g.Ingress)
				openTo := map[string]string{} // protocol and ports -> what they cover
				for i, covered := range open {
					openTo[sgRuleText(&g.Ingress[i])] = covered
				}
				reported := map[string]bool{}
				for i := range g.Ingress {
					r := &g.Ingress[i]
					if !coversNodePorts(r) {
						continue
					}
					cidrs := r.CIDRs
					if covered, ok := openTo[sgRuleText(r)]; ok {
						if reported[sgRuleText(r)] {
							continue
						}
						reported[sgRuleText(r)] = true
						all := netip.MustParsePrefix("::/0")
						if strings.Contains(covered, "0.0.0.0/0") {
							all = netip.MustParsePrefix("0.0.0.0/0")
						}
						// The world, once; private ranges the rule also
						// names (the VPC) keep their own finding.
						cidrs = []netip.Prefix{all}
						for _, c := range r.CIDRs {
							if c.Bits() > 0 && c.Addr().IsPrivate() {
								cidrs = append(cidrs, c)
							}
						}
					}
					for _, cidr := range cidrs {
						if cidr.Bits() > 16 && cidr.Addr().Is4() || cidr.Bits() > 48 && cidr.Addr().Is6() {
							continue // a few hosts, not the VPC
						}
						f := Finding{
							Object: model.Ref{Kind: "SecurityGroup", Name: g.ID}, Source: r.Source,
							Key:      fmt.Sprintf("ingress %s from %s", sgRuleText(r), cidr),
							Path:     []string{fmt.Sprintf("%s ingress rule %d (%s): %s from %s", g.ID, i, r.Source, sgRuleText(r), cidr)},
							Affected: exposed,
						}
						who := "the world"
						if cidr.Bits() > 0 {
							who, f.Severity = cidr.String(), Medium
						}
						f.Message = fmt.Sprintf("security group %s (%s) opens the NodePort range (%s) to %s: %s reachable on every node around the load balancers", g.ID, g.Name, sgRuleText(r), who, plural(len(exposed), "Service", "Services"))
						out = append(out, f)
					}
				}
			}
			return out
		},
	}
}
