package check

import (
	"fmt"
	"strings"
)

func rf014() *Rule {
	return &Rule{
		ID: "RF014", Severity: Low, unread: unreadAnywhere,
		Title: "A dead policy: it selects no workload, or a peer matches nothing",
		Rationale: "A policy that selects no pod protects nothing, and a peer selector that matches no pod allows " +
			"nothing: both usually mean a typo'd label, and the intended fence is missing.",
		Remediation: "Fix the selector's labels (`ringfence inventory` lists the pods' labels), or delete the policy.",
		check: func(c *Context) []Finding {
			var out []Finding
			for _, p := range c.World.Policies {
				selects, dead := c.Analysis.Dead(p)
				host := c.Analysis.HostNetworkSelected(p)
				switch {
				case !selects && len(host) > 0:
					// It selects pods, but only host-network ones, which
					// have no interface of their own for it to fence.
					out = append(out, Finding{Object: p.Ref(), Source: p.Source,
						Message: fmt.Sprintf("NetworkPolicy %s/%s selects only host-network pods (%s), which it cannot isolate", p.Namespace, p.Name, strings.Join(host, ", ")),
						Path:    []string{"spec.podSelector matches host-network pods: they use the node's network, which NetworkPolicies do not fence; their node's security group is their only fence"}})
				case !selects:
					out = append(out, Finding{Object: p.Ref(), Source: p.Source,
						Message: fmt.Sprintf("NetworkPolicy %s/%s selects no workload", p.Namespace, p.Name),
						Path:    []string{"spec.podSelector matches no pod of namespace " + p.Namespace}})
				}
				for _, d := range dead {
					out = append(out, Finding{Object: p.Ref(), Source: d.Source, Key: d.Peer,
						Message: fmt.Sprintf("NetworkPolicy %s/%s: %s matches no pod", p.Namespace, p.Name, d.Peer),
						Path:    []string{fmt.Sprintf("%s (%s)", d.Peer, d.Source)}})
				}
			}
			return out
		},
	}
}
