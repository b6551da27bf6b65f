package engine

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// TierIssue is something about the tiered policies that audit reports:
// what the compiled policies show, named by Kind.
type TierIssue struct {
	// Kind is one of the TierIssue* constants.
	Kind   string
	Policy *model.TierPolicy
	// Rule names the rule ("egress[0]" or its name) and Source where it is
	// written; Other is the policy that causes the issue, when another.
	Rule   string
	Source model.Source
	Other  *model.TierPolicy
	Detail string
	// Peers are the peers (workloads) concerned, sorted.
	Peers []string
}

// The kinds of TierIssue.
const (
	TierIssueShadowedDeny       = "shadowed-deny"
	TierIssueDeadPass           = "dead-pass"
	TierIssueSamePriority       = "same-priority"
	TierIssueBaselineOverridden = "baseline-overridden"
	TierIssueNoIMDSGuardrail    = "no-imds-guardrail"
)

// imdsAddr is the EC2 instance metadata service, which serves the node
// role's credentials.
var imdsAddr = netip.MustParseAddr("169.254.169.254")

// TierIssues lists the issues of the world's tiered policies, in policy
// order. Nothing when the world has none.
func (a *Analysis) TierIssues() []TierIssue {
	g := a.g
	var tc *tierConfig
	for _, id := range g.identities {
		if id.tiers != nil {
			tc = id.tiers
			break
		}
	}
	if tc == nil || len(g.world.TierPolicies) == 0 {
		return nil
	}
	var out []TierIssue
	dirRules := func(p *tierPolicy, egress bool) []*tierRule {
		if egress {
			return p.egress
		}
		return p.ingress
	}
	for _, p := range tc.policies {
		for _, egress := range []bool{false, true} {
			for ri, r := range dirRules(p, egress) {
				switch {
				case r.action == model.ActionDeny && p.src.Tier == model.TierAdmin:
					if by := tc.shadowing(p, ri, egress); by != nil {
						out = append(out, TierIssue{Kind: TierIssueShadowedDeny, Policy: p.src, Rule: r.name, Source: r.source, Other: by.src,
							Detail: fmt.Sprintf("%s (priority %d) accepts everything %s %s denies, before it", by.src.Ref(), by.src.Priority, p.src.Ref(), r.name)})
					}
				case r.action == model.ActionPass:
					if why := a.deadPass(tc, p, egress); why != "" {
						out = append(out, TierIssue{Kind: TierIssueDeadPass, Policy: p.src, Rule: r.name, Source: r.source, Detail: why})
					}
				}
			}
		}
		if p.src.Tier == model.TierBaseline && !p.selects.isEmpty() {
			overridden := true
			p.selects.each(func(i int) {
				id := g.identities[i]
				if (len(p.ingress) > 0 && len(id.ingress) == 0) || (len(p.egress) > 0 && len(id.egress) == 0) {
					overridden = false
				}
			})
			if overridden && p.maybe.isEmpty() {
				out = append(out, TierIssue{Kind: TierIssueBaselineOverridden, Policy: p.src, Source: p.src.Source, Peers: a.peerIDs(p.selects),
					Detail: "NetworkPolicies isolate every pod it selects in every direction it has rules for: it never decides"})
			}
		}
	}
	if tc.profile == model.ProfileUpstream {
		out = append(out, tc.ties(g)...)
	}
	// The guardrail: every pod's egress to the instance metadata service
	// denied by the Admin tier.
	var b netipx.IPSetBuilder
	b.Add(imdsAddr)
	imds, _ := b.IPSet()
	uncovered := newBitset(len(g.identities))
	for _, id := range g.identities {
		if id.hostNetwork {
			continue
		}
		var admin []*tierPolicy
		for _, p := range id.tierOut {
			if p.src.Tier == model.TierAdmin {
				admin = append(admin, p)
			}
		}
		o := tc.walk(admin, id, nil, imds, true, "Admin", nil)
		if !o.den.Difference(o.mayAcc).Difference(o.acc).Equal(netset.AllPorts()) {
			uncovered.set(id.index)
		}
	}
	if !uncovered.isEmpty() {
		var src model.Source
		uncovered.each(func(i int) {
			for _, p := range a.byID[i] {
				if src.File == "" && src.Cluster == "" && p.Workload != nil {
					src = p.Workload.Source
				}
			}
		})
		out = append(out, TierIssue{Kind: TierIssueNoIMDSGuardrail, Peers: a.peerIDs(uncovered), Source: src, Rule: "imds",
			Detail: "no Admin-tier Deny of 169.254.169.254/32 decides these pods' egress to the instance metadata service, which serves the node role's credentials"})
	}
	return out
}

func (a *Analysis) peerIDs(b interface{ each(func(int)) }) []string {
	var out []string
	b.each(func(i int) {
		for _, p := range a.byID[i] {
			out = append(out, p.ID)
		}
	})
	sort.Strings(out)
	return out
}

// shadowing finds an Admin Accept rule decided before a Deny rule (index
// ri of p) that covers every subject, peer and port of it.
func (tc *tierConfig) shadowing(p *tierPolicy, ri int, egress bool) *tierPolicy {
	rules := p.ingress
	if egress {
		rules = p.egress
	}
	d := rules[ri]
	if p.selects.isEmpty() || d.namesAll || d.namesSet != nil || len(d.named) > 0 {
		return nil
	}
	for _, q := range tc.policies {
		if q.src.Tier != model.TierAdmin {
			continue
		}
		before := q.src.Priority < p.src.Priority
		if q == p && tc.profile == model.ProfileUpstream {
			before = true
		}
		if !before || !p.selects.subsetOf(q.selects) || !p.maybe.subsetOf(q.selects) {
			continue
		}
		qrules := q.ingress
		if egress {
			qrules = q.egress
		}
		for qi, a := range qrules {
			if q == p && qi >= ri {
				break
			}
			if a.action != model.ActionAccept {
				continue
			}
			if d.peers.subsetOf(a.peers) && d.maybe.subsetOf(a.peers) && d.addrMaybe.subsetOf(a.peers) && ipSubset(d.ips, a.ips) && d.fixed.Difference(a.fixed).IsEmpty() {
				return q
			}
		}
	}
	return nil
}

func ipSubset(a, b *netipx.IPSet) bool {
	if a == nil {
		return true
	}
	if b == nil {
		return false
	}
	return covers(b, a)
}

// deadPass says why a Pass rule of p decides nothing below it: in the
// Baseline tier it always ends at the default; in the Admin tier when no
// pod it selects is isolated by NetworkPolicies or subject to a Baseline
// rule in that direction, and the default is allow.
func (a *Analysis) deadPass(tc *tierConfig, p *tierPolicy, egress bool) string {
	if p.src.Tier == model.TierBaseline {
		return "a Pass in the Baseline tier goes straight to the default action: it is the same as having no rule"
	}
	if tc.defaultDeny || p.selects.isEmpty() {
		return ""
	}
	dead := true
	p.selects.each(func(i int) {
		id := a.g.identities[i]
		np, maybe, pols := id.ingress, id.maybeIngress, id.tierIn
		if egress {
			np, maybe, pols = id.egress, id.maybeEgress, id.tierOut
		}
		if len(np) > 0 || len(maybe) > 0 {
			dead = false
		}
		for _, q := range pols {
			if q.src.Tier == model.TierBaseline {
				dead = false
			}
		}
	})
	if !dead {
		return ""
	}
	return "no pod it selects is isolated by a NetworkPolicy or subject to a Baseline rule in this direction, and the default is allow: the Pass allows everything it matches"
}

// ties finds policies of one tier at one priority whose rules may match
// the same traffic with different actions (upstream leaves their order
// undefined).
func (tc *tierConfig) ties(g *graph) []TierIssue {
	var out []TierIssue
	for i, p := range tc.policies {
		for _, q := range tc.policies[i+1:] {
			if q.src.Tier != p.src.Tier || q.src.Priority != p.src.Priority {
				continue
			}
			if !p.selects.intersects(q.selects) && !p.maybe.intersects(q.selects) && !p.selects.intersects(q.maybe) {
				continue
			}
			for _, egress := range []bool{false, true} {
				pr, qr := p.ingress, q.ingress
				if egress {
					pr, qr = p.egress, q.egress
				}
				found := false
				for _, x := range pr {
					for _, y := range qr {
						if found || x.action == y.action || x.fixed.Intersect(y.fixed).IsEmpty() && len(x.named) == 0 && len(y.named) == 0 {
							continue
						}
						if intersects(x.tierReach(), y.tierReach()) || (x.ips != nil && y.ips != nil && netset.Overlaps(x.ips, y.ips)) {
							found = true
							out = append(out, TierIssue{Kind: TierIssueSamePriority, Policy: p.src, Other: q.src, Rule: x.name, Source: x.source,
								Detail: fmt.Sprintf("%s %s (%s) and %s %s (%s) share priority %d in the %s tier and may match the same traffic: upstream leaves which applies undefined", p.src.Ref(), x.name, x.action, q.src.Ref(), y.name, y.action, p.src.Priority, p.src.Tier)})
						}
					}
				}
			}
		}
	}
	return out
}

func intersects(a, b bitset) bool {
	for i := range a {
		if i < len(b) && a[i]&b[i] != 0 {
			return true
		}
	}
	return false
}
