package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
)

// ExplainText writes an explanation for a person: the verdict first, then
// each direction with the policies and rules that decide it.
func ExplainText(w io.Writer, e *engine.Explanation) error {
	what := "any port"
	if e.Port != 0 {
		what = fmt.Sprintf("%s %d", e.Protocol, e.Port)
	}
	fmt.Fprintf(w, "%s => %s, %s: %s\n", e.From, e.To, what, strings.ToUpper(e.Verdict))
	fmt.Fprintf(w, "allowed by every fence: %s\n", e.Allowed)
	if !e.Unknown.IsEmpty() {
		fmt.Fprintf(w, "unknown (may be allowed or denied): %s\n", e.Unknown)
	}
	for _, m := range e.Missing {
		fmt.Fprintf(w, "  missing: %s\n", m)
	}
	if e.SelfNote != "" {
		fmt.Fprintf(w, "note: %s\n", e.SelfNote)
	}
	if e.TierProfile != "" {
		fmt.Fprintf(w, "tier profile: %s (docs/tiers.md)\n", e.TierProfile)
	}
	direction(w, "Egress of", e.Egress, "egress")
	direction(w, "Ingress of", e.Ingress, "ingress")
	if sg := e.SecurityGroups; sg != nil {
		fmt.Fprintf(w, "\nSecurity groups: allow %s", sg.Allowed)
		if !sg.Unknown.IsEmpty() {
			fmt.Fprintf(w, "; unknown %s", sg.Unknown)
		}
		fmt.Fprintln(w)
		if sg.Detail != "" {
			fmt.Fprintf(w, "  %s\n", sg.Detail)
		}
		for _, v := range []*engine.SGVerdict{sg.Egress, sg.Ingress} {
			if v == nil {
				continue
			}
			for _, r := range v.Rules {
				if r.Group == "" {
					fmt.Fprintf(w, "  %s: %s\n", r.Direction, r.Description)
					continue
				}
				fmt.Fprintf(w, "  by %s %s %s rule %d (%s): allows %s\n", r.Group, r.GroupName, r.Direction, r.Index, r.Source, r.Allowed)
			}
		}
		for _, reason := range sg.Reasons {
			fmt.Fprintf(w, "  unknown: %s\n", reason)
		}
	}
	if x := e.VPC; x != nil {
		vpcText(w, x)
	}
	return nil
}

// vpcText writes the network ACLs' and routes' verdicts, then the hops of
// each subnet the pods may be in, each naming what decided it.
func vpcText(w io.Writer, x *engine.VPCExplanation) {
	for _, l := range []struct {
		name string
		v    *engine.Verdict
	}{{"Network ACLs", x.NetworkACLs}, {"Routes", x.Routes}} {
		if l.v == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s: allow %s", l.name, l.v.Allowed)
		if !l.v.Unknown.IsEmpty() {
			fmt.Fprintf(w, "; unknown %s", l.v.Unknown)
		}
		fmt.Fprintln(w)
	}
	for _, p := range x.Paths {
		name := p.Subnet
		if name == "" {
			name = "subnet not known"
		}
		fmt.Fprintf(w, "  hops from %s:\n", name)
		for i, h := range p.Hops {
			fmt.Fprintf(w, "    %d. %s\n", i+1, engine.HopText(h))
		}
	}
}

func direction(w io.Writer, title string, d engine.Direction, field string) {
	defer tierSteps(w, d.Tiers)
	fmt.Fprintf(w, "\n%s %s: ", title, d.Of)
	if !d.Isolated && len(d.Policies) == 0 {
		fmt.Fprintf(w, "%s\n", d.Reason)
		for _, m := range d.Missing {
			fmt.Fprintf(w, "  missing: %s\n", m)
		}
		return
	}
	switch {
	case d.Isolated:
		fmt.Fprintf(w, "isolated by %d %s; allows %s", len(d.Policies), plural(len(d.Policies), "policy", "policies"), d.Allowed)
	default:
		fmt.Fprintf(w, "%s; allows %s", d.Reason, d.Allowed)
	}
	if !d.Unknown.IsEmpty() {
		fmt.Fprintf(w, "; unknown %s", d.Unknown)
	}
	fmt.Fprintln(w)
	for _, p := range d.Policies {
		kind := p.Kind
		if kind == "" {
			kind = "NetworkPolicy"
		}
		fmt.Fprintf(w, "  %s %s/%s (%s)\n", kind, p.Namespace, p.Name, p.Source)
		if len(p.Rules) == 0 {
			fmt.Fprintf(w, "    no %s rules: allows nothing\n", field)
		}
		for _, r := range p.Rules {
			verdict := "does not match"
			switch {
			case r.Matches:
				verdict = "matches, allows " + r.Allowed.String()
			case r.Maybe:
				verdict = "may match (" + strings.Join(r.Why, "; ") + "), would allow " + r.Allowed.String()
			}
			fmt.Fprintf(w, "    %s[%d] (%s): %s: %s\n", field, r.Index, r.Source, r.Peers, verdict)
		}
	}
}

// tierSteps writes the tier evaluation of a direction, tier by tier.
func tierSteps(w io.Writer, steps []engine.TierStep) {
	if len(steps) == 0 {
		return
	}
	fmt.Fprintf(w, "  tiers (Admin, then NetworkPolicies, then Baseline, then the default):\n")
	for _, s := range steps {
		switch s.Tier {
		case "NetworkPolicy", "default":
			fmt.Fprintf(w, "    %s: %s (allows %s)\n", s.Tier, strings.Join(s.Why, "; "), s.Ports)
			continue
		}
		match := "matches"
		if s.Match == "maybe" {
			match = "may match"
		}
		fmt.Fprintf(w, "    %s tier, priority %d: %s rule %s (%s) %s: %s %s\n", s.Tier, s.Priority, s.Policy, s.Rule, s.Source, match, s.Action, s.Ports)
		for _, why := range s.Why {
			fmt.Fprintf(w, "      %s\n", why)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ExplainDestinationText writes how much of a named destination each layer
// allows, with the rules, and what is blocked.
func ExplainDestinationText(w io.Writer, e *engine.SetExplanation) error {
	what := "any port"
	if e.Port != 0 {
		what = fmt.Sprintf("%s %d", e.Protocol, e.Port)
	}
	fmt.Fprintf(w, "%s => %s, %s: %s\n", e.From, e.To, what, strings.ToUpper(e.Verdict))
	if e.Description != "" {
		fmt.Fprintf(w, "%s: %s\n", e.To, e.Description)
	}
	if e.TierProfile != "" {
		fmt.Fprintf(w, "tier profile: %s (docs/tiers.md); the NetworkPolicy layer is the tiers and NetworkPolicies together\n", e.TierProfile)
	}
	for _, h := range e.InterfaceEndpoints {
		switch h.Carries {
		case "yes":
			fmt.Fprintf(w, "Interface endpoint %s carries this traffic (private DNS): its path below decides; the public ranges are not taken\n", h.Endpoint)
		case "maybe":
			fmt.Fprintf(w, "Interface endpoint %s may carry this traffic (private DNS, see below): the verdict holds only where its path and the public ranges agree\n", h.Endpoint)
		}
	}
	coverageText(w, "NetworkPolicy", e.NetworkPolicy)
	if e.SecurityGroups != nil {
		coverageText(w, "Security groups", *e.SecurityGroups)
	} else {
		fmt.Fprintf(w, "\nSecurity groups: not given (add aws ec2 describe-security-groups and describe-instances output to -f)\n")
	}
	title := "Both layers"
	if e.VPC != nil {
		coverageText(w, "VPC (network ACLs, routes, gateway endpoints)", e.VPC.Coverage)
		for _, p := range e.VPC.Paths {
			fmt.Fprintf(w, "  %s: %s, from %s:\n", shortList(p.Addresses, 3), p.Verdict, orUnknown(p.Path.Subnet))
			for _, h := range p.Path.Hops {
				fmt.Fprintf(w, "    %s\n", indent(engine.HopText(h), "  "))
			}
		}
		title = "All layers"
	}
	coverageText(w, title, e.Both)
	for _, h := range e.InterfaceEndpoints {
		endpointText(w, h)
	}
	return nil
}

// endpointText writes an interface endpoint's path, fence by fence.
func endpointText(w io.Writer, h engine.EndpointHop) {
	fmt.Fprintf(w, "\nInterface endpoint %s (%s, %s): %s\n", h.Endpoint, h.Service, h.Source, strings.ToUpper(h.Verdict))
	carries := map[string]string{"yes": "carries the traffic", "maybe": "may carry the traffic", "no": "does not carry the traffic"}[h.Carries]
	fmt.Fprintf(w, "  %s: %s\n", carries, h.Why)
	if len(h.Addresses) > 0 {
		fmt.Fprintf(w, "  its addresses: in %s (%s)\n", strings.Join(h.Subnets, ", "), strings.Join(h.Addresses, ", "))
	}
	verdictLine(w, "NetworkPolicy towards the endpoint", h.NetworkPolicy)
	if h.PodSecurityGroups != nil {
		verdictLine(w, "the pods' security groups towards the endpoint", *h.PodSecurityGroups)
	}
	verdictLine(w, "the endpoint's security groups from the pods", h.EndpointGroups)
	for _, r := range h.EndpointGroupRules {
		fmt.Fprintf(w, "    by %s\n", r)
	}
	if h.VPC != nil {
		for _, p := range h.VPC.Paths {
			fmt.Fprintf(w, "  from %s:\n", orUnknown(p.Subnet))
			for _, hop := range p.Hops {
				fmt.Fprintf(w, "    %s\n", indent(engine.HopText(hop), "  "))
			}
		}
	}
	if h.Policy != "" {
		fmt.Fprintf(w, "  endpoint policy: %s\n", h.Policy)
	}
}

func verdictLine(w io.Writer, what string, v engine.Verdict) {
	state := "allows " + v.Allowed.String()
	switch {
	case v.IsEmpty():
		state = "DENIES"
	case v.Allowed.IsEmpty():
		state = "may allow " + v.Unknown.String()
	case !v.Unknown.IsEmpty():
		state += ", may allow " + v.Unknown.String()
	}
	fmt.Fprintf(w, "  %s: %s\n", what, state)
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "    unknown: %s\n", r)
	}
}

func shortList(l []string, n int) string {
	if len(l) <= n {
		return strings.Join(l, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(l[:n], ", "), len(l)-n)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown subnet"
	}
	return s
}

func indent(s, by string) string {
	return strings.ReplaceAll(s, "\n", "\n"+by)
}

func coverageText(w io.Writer, title string, c engine.Coverage) {
	fmt.Fprintf(w, "\n%s: ", title)
	if c.Reason != "" && len(c.Allowed) == 0 && len(c.Blocked) == 0 {
		fmt.Fprintf(w, "%s\n", c.Reason)
		return
	}
	switch {
	case len(c.Blocked) == 0 && len(c.Unknown) == 0:
		fmt.Fprintf(w, "allows all of it")
	case len(c.Allowed) == 0 && len(c.Unknown) == 0:
		fmt.Fprintf(w, "allows none of it")
	case len(c.Allowed) == 0:
		fmt.Fprintf(w, "may allow part or all of it (unknown)")
	default:
		fmt.Fprintf(w, "allows part of it")
	}
	if c.TotalIPv4 > 0 {
		fmt.Fprintf(w, ": %d of %d IPv4 addresses (%.1f%%)", c.AllowedIPv4, c.TotalIPv4, 100*float64(c.AllowedIPv4)/float64(c.TotalIPv4))
	}
	if c.Reason != "" {
		fmt.Fprintf(w, " (%s)", c.Reason)
	}
	fmt.Fprintln(w)
	parts := 0
	for _, l := range [][]string{c.Allowed, c.Blocked, c.Unknown} {
		if len(l) > 0 {
			parts++
		}
	}
	if parts > 1 {
		fmt.Fprintf(w, "  allowed: %s\n", strings.Join(c.Allowed, ", "))
		if len(c.Unknown) > 0 {
			fmt.Fprintf(w, "  unknown: %s\n", strings.Join(c.Unknown, ", "))
		}
		fmt.Fprintf(w, "  blocked: %s\n", strings.Join(c.Blocked, ", "))
	}
	for _, m := range c.Missing {
		fmt.Fprintf(w, "  missing: %s\n", m)
	}
	for _, r := range c.Rules {
		fmt.Fprintf(w, "  by %s\n", r)
	}
	for _, pl := range c.Unresolved {
		fmt.Fprintf(w, "  unresolved: prefix list %s is referenced without its entries; what it admits is not known (aws ec2 get-managed-prefix-list-entries --prefix-list-id %s > %s.json)\n", pl, pl, pl)
	}
}

// ExposuresText writes the paths from the internet to a workload.
func ExposuresText(w io.Writer, to string, es []engine.Exposure) error {
	reachable, possible := false, false
	for _, e := range es {
		reachable = reachable || e.Internet
		possible = possible || e.Possible
	}
	verdict := "NOT REACHABLE"
	switch {
	case reachable:
		verdict = "REACHABLE"
	case possible:
		verdict = "UNKNOWN (reachable if the unknown hops let it through)"
	}
	fmt.Fprintf(w, "internet => %s: %s (%d %s)\n", to, verdict, len(es), plural(len(es), "path", "paths"))
	for _, e := range es {
		v := "blocked"
		switch {
		case e.Internet:
			v = "open"
		case e.Possible:
			v = "unknown"
		}
		fmt.Fprintf(w, "\n%s (%s): %s\n", e.Entry, e.Source, v)
		for _, h := range e.Hops {
			fmt.Fprintf(w, "  %s: %s: %s\n", h.Step, h.Verdict, h.Detail)
			if h.Source != "" {
				fmt.Fprintf(w, "    by %s\n", h.Source)
			}
		}
	}
	return nil
}
