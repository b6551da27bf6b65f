package check

import (
	"fmt"
	"net/netip"

	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

func rf004() *Rule {
	return &Rule{
		ID: "RF004", Severity: High, unread: unreadNever,
		Title: "A NetworkPolicy allows egress to all or most of the internet",
		Rationale: "An egress ipBlock of 0.0.0.0/0 or ::/0, or one that covers most public addresses, is an open door " +
			"dressed as a policy: the workload can reach any server, including one an attacker controls.",
		Remediation: "Replace the ipBlock with the ranges the workload needs (`ringfence ranges --service S3 --region " +
			"<region>` prints AWS's, aggregated), or an FQDN policy where the CNI supports it.",
		check: func(c *Context) []Finding {
			var out []Finding
			public := netset.Public()
			publicV4 := netset.IPv4Count(public)
			for _, p := range c.World.Policies {
				for i, r := range p.Spec.Egress {
					for _, peer := range r.To {
						b := peer.IPBlock
						if b == nil {
							continue
						}
						cidr, err := netip.ParsePrefix(b.CIDR)
						if err != nil {
							continue
						}
						var except []netip.Prefix
						for _, e := range b.Except {
							if ep, err := netip.ParsePrefix(e); err == nil {
								except = append(except, ep)
							}
						}
						set := netset.Block(cidr, except)
						var x netipx.IPSetBuilder
						x.AddSet(set)
						x.Intersect(public)
						in, _ := x.IPSet()
						share := float64(netset.IPv4Count(in)) / float64(publicV4)
						wide := cidr.Bits() == 0 || (cidr.Addr().Is4() && share >= 0.5) || (cidr.Addr().Is6() && cidr.Masked().Bits() <= 3)
						if !wide {
							continue
						}
						src := p.Source
						if i < len(p.EgressRules) {
							src = p.EgressRules[i]
						}
						out = append(out, Finding{
							Object: p.Ref(), Source: src, Key: fmt.Sprintf("egress[%d] %s", i, b.CIDR),
							Message: fmt.Sprintf("egress[%d] allows ipBlock %s: %.0f%% of the public IPv4 internet", i, b.CIDR, share*100),
							Path:    []string{fmt.Sprintf("NetworkPolicy %s/%s egress[%d] (%s): ipBlock %s", p.Namespace, p.Name, i, src, b.CIDR)},
						})
					}
				}
			}
			return out
		},
	}
}
