package check

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
)

func rf006() *Rule {
	return &Rule{
		ID: "RF006", Severity: High,
		Title: "An ipBlock meant for an AWS service is stale or incomplete",
		Rationale: "AWS publishes its service ranges and changes them several times a day. A policy that lists a " +
			"service's CIDRs by hand misses the prefixes published since (connections to them fail, intermittently) " +
			"and keeps ones that moved elsewhere (connections to other tenants succeed).",
		Remediation: "Write the service's current ranges (`ringfence ranges --service <S> --region <r>` prints them " +
			"aggregated) and refresh them when AWS publishes (`ringfence ranges diff` shows what changed), or use a " +
			"VPC endpoint and its prefix list in the security group.",
		Links: []string{"https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html"},
		check: func(c *Context) []Finding {
			if c.Ranges == nil {
				return nil
			}
			services := serviceSets(c.Ranges)
			// A rule that is exactly the current ranges of some service in
			// some region (EC2 and AMAZON included) is current, whatever
			// other services it overlaps.
			exact := currentSets(c.Ranges)
			// Policies repeat the same ranges: judge each distinct set once.
			type verdict struct {
				best          string
				mine, missing *netipx.IPSet
				extra, meant  *netipx.IPSet
				overlap, v6   uint64
			}
			cache := map[string]verdict{}
			judge := func(rule *netipx.IPSet) verdict {
				key := strings.Join(netset.PrefixStrings(rule), ",")
				if v, ok := cache[key]; ok {
					return v
				}
				var v verdict
				for key, set := range services {
					if !netset.Overlaps(set, rule) {
						continue
					}
					// The most IPv4 addresses in common decides; IPv6 only
					// when there are none (a rule for IPv6 alone).
					in := netset.Intersect(rule, set)
					n, n6 := netset.IPv4Count(in), ipv6Count(in)
					better := n > v.overlap || (n == v.overlap && n6 > v.v6) || (n == v.overlap && n6 == v.v6 && n+n6 > 0 && key < v.best)
					if better {
						v.best, v.overlap, v.v6 = key, n, n6
					}
				}
				if v.best != "" {
					// A rule written for one address family is judged against
					// that family only (an IPv4 cluster has no use for IPv6).
					v.meant = sameFamilies(services[v.best], rule)
					// Only the blocks that overlap the service count: others in
					// the rule (a VPC endpoint, a partner) are not stale.
					var mine netipx.IPSetBuilder
					for _, pfx := range rule.Prefixes() {
						if overlaps(v.meant, pfx) {
							mine.AddPrefix(pfx)
						}
					}
					v.mine, _ = mine.IPSet()
					v.missing = netset.Difference(v.meant, v.mine)
					v.extra = netset.Difference(v.mine, v.meant)
				}
				cache[key] = v
				return v
			}
			var out []Finding
			for _, p := range c.World.Policies {
				for i, r := range p.Spec.Egress {
					// The rule's ipBlocks that look like an AWS service's.
					var b netipx.IPSetBuilder
					for _, peer := range r.To {
						if peer.IPBlock == nil {
							continue
						}
						cidr, err := netip.ParsePrefix(peer.IPBlock.CIDR)
						if err != nil || cidr.Bits() < 8 {
							continue // too wide to be meant for one service (RF004)
						}
						var except []netip.Prefix
						for _, e := range peer.IPBlock.Except {
							if ep, err := netip.ParsePrefix(e); err == nil {
								except = append(except, ep)
							}
						}
						b.AddSet(netset.Block(cidr, except))
					}
					rule, _ := b.IPSet()
					if exact[strings.Join(netset.PrefixStrings(rule), ",")] {
						continue
					}
					v := judge(rule)
					if v.best == "" || (len(v.missing.Ranges()) == 0 && len(v.extra.Ranges()) == 0) {
						continue
					}
					best, meant, m, missing, extra := v.best, v.meant, v.mine, v.missing, v.extra
					src := p.Source
					if i < len(p.EgressRules) {
						src = p.EgressRules[i]
					}
					svc := strings.Replace(best, "|", " in ", 1)
					msg := fmt.Sprintf("egress[%d] lists %s's addresses (syncToken %s) incompletely: %d of %d IPv4 addresses", i, svc, c.Ranges.SyncToken, netset.IPv4Count(netset.Intersect(m, meant)), netset.IPv4Count(meant))
					path := []string{fmt.Sprintf("NetworkPolicy %s/%s egress[%d] (%s)", p.Namespace, p.Name, i, src)}
					if len(missing.Ranges()) > 0 {
						path = append(path, "missing: "+strings.Join(netset.PrefixStrings(missing), ", "))
					}
					if len(extra.Ranges()) > 0 {
						path = append(path, "extra (not "+svc+" any more): "+strings.Join(netset.PrefixStrings(extra), ", "))
					}
					out = append(out, Finding{Object: p.Ref(), Source: src, Key: fmt.Sprintf("egress[%d]", i), Message: msg, Path: path})
				}
			}
			return out
		},
	}
}

// serviceSets maps "SERVICE|region" to its addresses, for every service
// but the catch-all AMAZON and EC2 (whose ranges hold everything else).
func serviceSets(d *ranges.Document) map[string]*netipx.IPSet {
	groups := map[string][]ranges.Prefix{}
	for _, p := range d.Prefixes {
		if p.Service == "AMAZON" || p.Service == "EC2" {
			continue
		}
		key := p.Service + "|" + p.Region
		groups[key] = append(groups[key], p)
	}
	out := make(map[string]*netipx.IPSet, len(groups))
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = ranges.Set(groups[k])
	}
	return out
}

// currentSets are the address sets of every service in every region
// (each family alone too), as their prefix strings.
func currentSets(d *ranges.Document) map[string]bool {
	groups := map[string][]ranges.Prefix{}
	for _, p := range d.Prefixes {
		groups[p.Service+"|"+p.Region] = append(groups[p.Service+"|"+p.Region], p)
	}
	out := map[string]bool{}
	for _, g := range groups {
		set := ranges.Set(g)
		out[strings.Join(netset.PrefixStrings(set), ",")] = true
		for _, family := range []string{"0.0.0.0/0", "::/0"} {
			var b netipx.IPSetBuilder
			b.AddSet(set)
			b.RemovePrefix(netip.MustParsePrefix(family))
			one, _ := b.IPSet()
			out[strings.Join(netset.PrefixStrings(one), ",")] = true
		}
	}
	return out
}

func overlaps(s *netipx.IPSet, p netip.Prefix) bool {
	return s.OverlapsPrefix(p)
}

// sameFamilies keeps the addresses of s in the families that ref uses.
func sameFamilies(s, ref *netipx.IPSet) *netipx.IPSet {
	var v4, v6 bool
	for _, r := range ref.Ranges() {
		v4 = v4 || r.From().Is4()
		v6 = v6 || r.From().Is6()
	}
	var b netipx.IPSetBuilder
	b.AddSet(s)
	if !v4 {
		b.RemovePrefix(netip.MustParsePrefix("0.0.0.0/0"))
	}
	if !v6 {
		b.RemovePrefix(netip.MustParsePrefix("::/0"))
	}
	out, _ := b.IPSet()
	return out
}

// ipv6Count counts IPv6 addresses in /64 units, enough to compare overlaps.
func ipv6Count(s *netipx.IPSet) uint64 {
	var n uint64
	for _, p := range s.Prefixes() {
		if p.Addr().Is6() && p.Bits() <= 64 {
			n += 1 << (64 - p.Bits())
		}
	}
	return n
}
