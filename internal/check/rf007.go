package check

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"go4.org/netipx"
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

// everywhere finds the rules that admit every IPv4 or every IPv6 address,
// comparing address sets, not strings: 0.0.0.0/1 and 128.0.0.0/1 are
// 0.0.0.0/0 too, in one rule or across rules of the same protocol and
// ports. It maps the first such rule's index to what it covers
// ("0.0.0.0/0", "::/0" or both); the others of its set are not repeated.
func everywhere(rules []model.SGRule) map[int]string {
	type key struct {
		proto    string
		from, to int32
	}
	byKey := map[key][]int{}
	var order []key
	for i, r := range rules {
		k := key{r.Protocol, r.FromPort, r.ToPort}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	v4, v6 := netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")
	out := map[int]string{}
	for _, k := range order {
		var b netipx.IPSetBuilder
		for _, i := range byKey[k] {
			for _, c := range rules[i].CIDRs {
				b.AddPrefix(c.Masked())
			}
		}
		set, _ := b.IPSet()
		var covered []string
		for _, all := range []netip.Prefix{v4, v6} {
			if set.ContainsPrefix(all) {
				covered = append(covered, all.String())
			}
		}
		if len(covered) == 0 {
			continue
		}
		// The first rule of the set that holds part of it stands for it.
		for _, i := range byKey[k] {
			if len(rules[i].CIDRs) > 0 {
				out[i] = strings.Join(covered, " and ")
				break
			}
		}
	}
	return out
}

func rf007() *Rule {
	return &Rule{
		ID: "RF007", Severity: High, unread: unreadNever,
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
				open := everywhere(g.Egress)
				for i := range g.Egress {
					r := &g.Egress[i]
					if cidr := open[i]; cidr != "" {
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
