package check

import (
	"fmt"
	"sort"
)

func rf012() *Rule {
	return &Rule{
		ID: "RF012", Severity: Medium,
		Title: "The layers disagree: a policy allows egress the security groups block, or one layer fences a flow alone",
		Rationale: "When the NetworkPolicy allows what the security group blocks, the connection fails and nobody " +
			"knows which layer to fix; when one layer allows everything, the other is the only fence, and one " +
			"mistake there opens the flow.",
		Remediation: "Make the two layers say the same thing: align the security group rules with the policy's " +
			"ipBlocks, and isolate every workload's egress with a NetworkPolicy.",
		check: func(c *Context) []Finding {
			type gaps struct{ fail, alone []string }
			byPeer := map[string]*gaps{}
			peers := peersByID(c)
			open := map[string]bool{}
			for _, g := range c.World.SecurityGroups {
				for i, cidr := range everywhere(g.Egress) {
					if cidr != "" && g.Egress[i].Protocol == "-1" {
						open[g.ID] = true
					}
				}
			}
			for _, src := range workloadPeers(c) {
				// Groups open to everywhere leave the NetworkPolicy alone by
				// design of that rule: RF007 reports the cause once.
				openEgress := false
				for _, g := range src.SecurityGroups() {
					openEgress = openEgress || open[g]
				}
				for _, conn := range c.Analysis.ExternalLayers(src) {
					// Where security groups cannot filter, one layer alone is
					// all there can be.
					if conn.Layers == nil || conn.Layers.SecurityGroups == nil || conn.Layers.Unfiltered {
						continue
					}
					g := byPeer[src.ID]
					if g == nil {
						g = &gaps{}
						byPeer[src.ID] = g
					}
					np, sg := conn.Layers.NetworkPolicy, *conn.Layers.SecurityGroups
					// Ports the groups may admit (members or prefix-list
					// entries not in the inputs) are not known to fail.
					sgMay := sg.Union(conn.Layers.SecurityGroupsUnknown)
					switch {
					case !np.IsEmpty() && !np.IsAll() && np.Intersect(sgMay).IsEmpty():
						g.fail = append(g.fail, fmt.Sprintf("to %s: the NetworkPolicy allows %s, the security groups block it", conn.Dst, np))
					case np.IsAll() && !sg.IsAll() && !sg.IsEmpty():
						g.alone = append(g.alone, fmt.Sprintf("to %s: only the security groups fence it (%s)", conn.Dst, sg))
					case sg.IsAll() && !np.IsAll() && !np.IsEmpty() && !openEgress:
						g.alone = append(g.alone, fmt.Sprintf("to %s: only the NetworkPolicy fences it (%s)", conn.Dst, np))
					}
				}
			}
			var out []Finding
			ids := make([]string, 0, len(byPeer))
			for id := range byPeer {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				g := byPeer[id]
				p := peers[id]
				if len(g.fail) > 0 {
					out = append(out, Finding{Object: p.Workload.Ref(), Source: p.Workload.Source,
						Message: fmt.Sprintf("%s: the NetworkPolicy allows egress the security groups block (%s): those connections fail", id, plural(len(g.fail), "destination", "destinations")),
						Path:    g.fail})
				}
				if len(g.alone) > 0 && len(g.alone) < len(c.Analysis.Peers()) {
					out = append(out, Finding{Object: p.Workload.Ref(), Source: p.Workload.Source,
						Message: fmt.Sprintf("%s: one layer alone fences its traffic with %s", id, plural(len(g.alone), "destination", "destinations")),
						Path:    g.alone})
				}
			}
			return out
		},
	}
}
