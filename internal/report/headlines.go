package report

import (
	"fmt"
	"sort"
	"strings"
)

// MaxHeadlines caps the banner; the findings list has the rest.
const MaxHeadlines = 6

// headlines writes the banner from the graph: the ways in from the
// internet that get through every hop, and the workloads whose egress
// reaches public addresses through both layers, ML workloads first.
func (b *builder) headlines(dests []destination) {
	var hs []scored
	exposed := map[string]bool{}
	for _, x := range b.Reach.Exposures {
		for _, be := range x.Backends {
			exposed[WorkloadID(be)] = true
		}
	}
	for _, x := range b.Reach.Exposures {
		if !x.Internet || b.controllersOnly(x.Backends) {
			// An ingress controller's internet-facing entry is its
			// purpose: what it exposes is the Ingresses' own paths.
			continue
		}
		entry := EntryID(x.Entry)
		nodes := []string{InternetSourceID, entry}
		var names []string
		ml := false
		sev := b.severityOf(entry)
		for _, be := range x.Backends {
			id := WorkloadID(be)
			nodes = append(nodes, id)
			names = append(names, b.describe(id, exposed))
			if n := b.node(id); n != nil && n.ML {
				ml = true
			}
			if s := b.severityOf(id); s != "" && (sev == "" || worse(s, sev)) {
				sev = s
			}
		}
		var hops []string
		for _, h := range x.Hops {
			step := h.Step
			if i := strings.Index(step, " of "); i >= 0 {
				step = step[:i]
			}
			hops = append(hops, step+" "+h.Verdict)
		}
		h := headline(orHigh(sev), strings.Join(names, ", "), "is exposed to the internet", fmt.Sprintf("Path: internet → %s → %s.", x.Entry, strings.Join(dedupe(hops), " → ")), nodes)
		hs = append(hs, scored{h, ml, 0, false})
	}
	var others []string
	var otherNodes []string
	// Each workload's edges to outside destinations, found once: walking
	// every edge for every workload was quadratic (half of a 1,000-namespace
	// report's build).
	toDest := map[string][]int{}
	for i, e := range b.r.Edges {
		if strings.HasPrefix(e.To, "destination:") {
			toDest[e.From] = append(toDest[e.From], i)
		}
	}
	for _, n := range b.r.Nodes {
		if n.Lane != LaneWorkload {
			continue
		}
		var services []string
		var internet *Edge
		nodes := []string{n.ID}
		for _, i := range toDest[n.ID] {
			e := &b.r.Edges[i]
			name := strings.TrimPrefix(e.To, "destination:")
			if !isPublic(name, dests) || (e.Verdict != Allowed && e.Verdict != Unknown) {
				continue
			}
			nodes = append(nodes, e.To)
			if name == "internet" {
				internet = e
			} else {
				services = append(services, name)
			}
		}
		if internet == nil {
			continue
		}
		np, sg := internet.Layers[0], internet.Layers[1]
		if np.Verdict != "allows" && sg.Verdict != "allows" {
			// Both fences narrow its egress: what it reaches is what
			// they were written for.
			continue
		}
		if !n.ML {
			if np.Verdict == "allows" && sg.Verdict == "allows" {
				others = append(others, b.peers[n.ID].ID)
				otherNodes = append(otherNodes, n.ID, internet.To)
			}
			continue
		}
		reached := "the whole internet"
		if internet.Addresses != "all of it" {
			reached = "the internet at " + prefixesOf(internet.Addresses)
		}
		if internet.Ports != "" {
			reached += " on " + internet.Ports
		} else {
			reached += " on every port"
		}
		if len(services) > 0 {
			if internet.Addresses == "all of it" {
				reached += " (" + strings.Join(services, ", ") + " included)"
			} else {
				// What it reaches is an AWS service's public endpoint, not
				// the internet at large: say so.
				reached = strings.Join(services, ", ") + " over the public endpoint (no VPC endpoint) at " + prefixesOf(internet.Addresses)
				if internet.Ports != "" {
					reached += " on " + internet.Ports
				}
			}
		}
		var claim, detail string
		switch {
		case sg.Verdict == "allows":
			claim = fmt.Sprintf("reaches %s through %s", reached, b.groupsOf(n.ID))
			detail = fmt.Sprintf("It admits the whole internet (%s)", firstRule(sg))
			if np.Verdict == "allows" {
				detail += "; no NetworkPolicy fences its egress."
			} else {
				detail += "; only its NetworkPolicy keeps it from the rest."
			}
		default:
			claim = "reaches " + reached + ": no NetworkPolicy fences its egress"
			detail = fmt.Sprintf("Only %s keeps it from the rest.", b.groupsOf(n.ID))
		}
		h := headline(orHigh(b.severityOf(n.ID)), b.describe(n.ID, exposed), claim, detail, nodes)
		hs = append(hs, scored{h, true, 1, false})
	}
	if len(others) > 0 {
		sort.Strings(others)
		subject, claim, detail := "1 workload", "reaches the whole internet through both layers", ": no NetworkPolicy fences its egress and its security groups allow it."
		if len(others) > 1 {
			subject, claim, detail = fmt.Sprintf("%d workloads", len(others)), "reach the whole internet through both layers", ": no NetworkPolicy fences their egress and their security groups allow it."
		}
		if len(hs) > 0 {
			subject = strings.Replace(subject, " workload", " other workload", 1)
		}
		h := headline("high", subject, claim, listCapped(others, 5)+detail, otherNodes)
		hs = append(hs, scored{h, false, 2, false})
	}
	// Each sentence links to the worst finding on its nodes (certain
	// before possible); the banner is ordered by that finding.
	for i := range hs {
		hs[i].Finding, hs[i].certain = b.findingFor(hs[i].Nodes)
		if f := hs[i].Finding; f >= 0 && worse(b.r.Findings[f].Severity.String(), hs[i].Severity) {
			hs[i].Severity = b.r.Findings[f].Severity.String()
		}
	}
	sort.SliceStable(hs, func(i, j int) bool {
		a, c := hs[i], hs[j]
		if a.Severity != c.Severity {
			return worse(a.Severity, c.Severity)
		}
		if a.certain != c.certain {
			return a.certain
		}
		if a.ml != c.ml {
			return a.ml
		}
		return a.kind < c.kind
	})
	for i, h := range hs {
		if i == MaxHeadlines {
			break
		}
		b.r.Headlines = append(b.r.Headlines, h.Headline)
	}
}

func headline(severity, subject, claim, detail string, nodes []string) Headline {
	text := subject + " " + claim + "."
	if detail != "" {
		text += " " + detail
	}
	return Headline{Severity: severity, Text: text, Subject: subject, Claim: claim, Detail: detail, Nodes: nodes, Finding: -1}
}

type scored struct {
	Headline
	ml      bool
	kind    int
	certain bool
}

// findingFor returns the index of the worst unsuppressed finding on any of
// the nodes, certain before possible (-1 when none), and its certainty.
func (b *builder) findingFor(nodes []string) (int, bool) {
	want := map[string]bool{}
	for _, n := range nodes {
		want[n] = true
	}
	best := -1
	for i, f := range b.r.Findings {
		if f.Suppressed != nil {
			continue
		}
		on := false
		for _, n := range f.Nodes {
			on = on || want[n]
		}
		if !on {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		c := b.r.Findings[best]
		if f.Severity > c.Severity || f.Severity == c.Severity && f.Certain() && !c.Certain() {
			best = i
		}
	}
	return best, best >= 0 && b.r.Findings[best].Certain()
}

func isPublic(name string, dests []destination) bool {
	for _, d := range dests {
		if d.Name == name {
			return d.public
		}
	}
	return false
}

// describe names a workload node with its role: "training job
// ml-workloads/text-embed-finetune (PyTorchJob)".
func (b *builder) describe(id string, exposed map[string]bool) string {
	p := b.peers[id]
	n := b.node(id)
	if p == nil || n == nil {
		return strings.TrimPrefix(id, "workload:")
	}
	role := ""
	switch {
	case n.Kind == "InferenceService" || n.ML && exposed[id]:
		role = "inference service "
	case n.ML && strings.HasSuffix(n.Kind, "Job"):
		role = "training job "
	case n.ML:
		role = "ML workload "
	}
	return fmt.Sprintf("%s%s (%s)", role, p.ID, p.Kind)
}

// groupsOf names a workload's security groups and where they come from:
// "the node security group ml-node-sg (sg-…)".
func (b *builder) groupsOf(id string) string {
	p := b.peers[id]
	var names []string
	for _, g := range p.SecurityGroups() {
		names = append(names, b.groupName(g))
	}
	what := "security group"
	if len(names) > 1 {
		what = "security groups"
	}
	if strings.HasPrefix(b.via[id], "SecurityGroupPolicy") {
		return "its own " + what + " " + strings.Join(names, ", ") + " (" + b.via[id] + ")"
	}
	return "the node " + what + " " + strings.Join(names, ", ")
}

// firstRule is the first rule a layer's verdict lists, without the
// group's name (the sentence gives it): "egress rule 0 (file:line): -1 all
// ports to 0.0.0.0/0,::/0".
func firstRule(l Layer) string {
	for _, d := range l.Detail {
		if i := strings.Index(d, "egress rule "); i >= 0 {
			return d[i:]
		}
	}
	if len(l.Detail) > 0 {
		return l.Detail[0]
	}
	return l.Verdict
}

func (b *builder) severityOf(id string) string {
	if n := b.node(id); n != nil {
		return n.Severity
	}
	return ""
}

func orHigh(s string) string {
	if s == "" {
		return "high"
	}
	return s
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func listCapped(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:n], ", "), len(list)-n)
}

// prefixesOf drops the address counts of an amount: "52.216.0.0/16
// (65,536 of … IPv4 addresses)" is "52.216.0.0/16".
func prefixesOf(amount string) string {
	if i := strings.Index(amount, " ("); i >= 0 {
		return amount[:i]
	}
	return amount
}

// controllersOnly reports whether every backend is an ingress controller
// (ingress-nginx's controller pods).
func (b *builder) controllersOnly(backends []string) bool {
	if len(backends) == 0 {
		return false
	}
	for _, be := range backends {
		p := b.peers[WorkloadID(be)]
		if p == nil || p.Workload == nil {
			return false
		}
		for _, pt := range p.Workload.Pods {
			l := pt.Labels
			if !(l["app.kubernetes.io/name"] == "ingress-nginx" && l["app.kubernetes.io/component"] == "controller") {
				return false
			}
		}
	}
	return true
}
