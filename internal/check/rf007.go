package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/model"
)

// fencedBy maps each security group to the workloads it fences.
func fencedBy(c *Context) map[string][]Affected {
	out := map[string][]Affected{}
	seen := map[string]bool{}
	for _, p := range workloadPeers(c) {
		for _, g := range p.SecurityGroups() {
			if key := g + "|" + p.Workload.Ref().String(); !seen[key] {
				seen[key] = true
				out[g] = append(out[g], Affected{Object: p.Workload.Ref(), Source: p.Workload.Source})
			}
		}
	}
	for _, list := range out {
		sortAffected(list)
	}
	return out
}

// everywhere reports whether a rule names 0.0.0.0/0 or ::/0.
func everywhere(r *model.SGRule) string {
	for _, c := range r.CIDRs {
		if c.Bits() == 0 {
			return c.String()
		}
	}
	return ""
}

func rf007() *Rule {
	return &Rule{
		ID: "RF007", Severity: High,
		Title: "A security group fencing workloads allows egress to 0.0.0.0/0 or ::/0",
		Rationale: "The host fence is the last one: with egress open to everywhere at the security group, the " +
			"NetworkPolicy is the workloads' only egress control, and host-network pods, or a CNI that does not " +
			"enforce policies, have none.",
		Remediation: "Replace the rule with the destinations the nodes' workloads need: the VPC CIDR, the AWS service " +
			"prefix lists (S3 gateway endpoint pl-...), specific CIDRs on 443.",
		check: func(c *Context) []Finding {
			fenced := fencedBy(c)
			var out []Finding
			for _, g := range c.World.SecurityGroups {
				if len(fenced[g.ID]) == 0 {
					continue
				}
				for i := range g.Egress {
					r := &g.Egress[i]
					if cidr := everywhere(r); cidr != "" {
						out = append(out, Finding{
							Object: model.Ref{Kind: "SecurityGroup", Name: g.ID}, Source: r.Source, Key: fmt.Sprintf("egress %s to %s", sgRuleText(r), cidr),
							Message:  fmt.Sprintf("security group %s (%s) allows egress %s to %s; it fences %s", g.ID, g.Name, sgRuleText(r), cidr, plural(len(fenced[g.ID]), "workload", "workloads")),
							Path:     []string{fmt.Sprintf("%s egress rule %d (%s)", g.ID, i, r.Source)},
							Affected: fenced[g.ID],
						})
					}
				}
			}
			return out
		},
	}
}

func sgRuleText(r *model.SGRule) string {
	switch {
	case r.Protocol == "-1":
		return "of every protocol"
	case r.FromPort == -1:
		return r.Protocol + " on all ports"
	case r.FromPort == r.ToPort:
		return fmt.Sprintf("%s %d", r.Protocol, r.FromPort)
	}
	return fmt.Sprintf("%s %d-%d", r.Protocol, r.FromPort, r.ToPort)
}
