package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/model"
)

func rf008() *Rule {
	return &Rule{
		ID: "RF008", Severity: High, unread: unreadNever,
		Title: "A security group allows ingress from 0.0.0.0/0 or ::/0 to a service port or all ports",
		Rationale: "Ingress from everywhere to the ports a Service listens on or to every port lets the internet reach " +
			"the workloads as soon as an address is public, past every load balancer control. The front security " +
			"group of a load balancer (tagged service.k8s.aws/stack by the AWS Load Balancer Controller) admits the " +
			"world by design: what it exposes is judged on its Service (RF009) and Ingress allowlists (RF010, RF020). " +
			"The NodePort range is RF021's.",
		Remediation: "Admit only the load balancer's security group, or the trusted ranges, on the service port.",
		check: func(c *Context) []Finding {
			ports := map[int32]bool{}
			for _, s := range c.World.Services {
				for _, p := range s.Spec.Ports {
					ports[p.Port] = true
					if p.TargetPort.IntVal > 0 {
						ports[p.TargetPort.IntVal] = true
					}
					if p.NodePort > 0 {
						ports[p.NodePort] = true
					}
				}
			}
			var out []Finding
			for _, g := range c.World.SecurityGroups {
				if g.Tags["service.k8s.aws/stack"] != "" {
					continue // a load balancer's front door: intended
				}
				open := everywhere(g.Ingress)
				for i := range g.Ingress {
					r := &g.Ingress[i]
					cidr := open[i]
					if cidr == "" {
						continue
					}
					what := ""
					switch {
					case r.Protocol == "-1" || r.FromPort == -1 || (r.FromPort == 0 && r.ToPort == 65535):
						what = "every port"
					case coversNodePorts(r):
						continue // RF021
					default:
						for p := range ports {
							if p >= r.FromPort && p <= r.ToPort {
								what = fmt.Sprintf("service port %d", p)
								break
							}
						}
					}
					if what == "" || (r.Protocol != "-1" && r.Protocol != "tcp" && r.Protocol != "udp") {
						continue
					}
					out = append(out, Finding{
						Object: model.Ref{Kind: "SecurityGroup", Name: g.ID}, Source: r.Source, Key: fmt.Sprintf("ingress %s from %s", sgRuleText(r), cidr),
						Message: fmt.Sprintf("security group %s (%s) allows ingress %s from %s to %s", g.ID, g.Name, sgRuleText(r), cidr, what),
						Path:    []string{fmt.Sprintf("%s ingress rule %d (%s)", g.ID, i, r.Source)},
					})
				}
			}
			return out
		},
	}
}
