// Package report builds the model of `ringfence report`: the audit's
// findings with their paths, and a graph of the environment (the ingress
// path, the workloads by namespace, the destinations outside the cluster)
// whose edges carry the verdict of each fence. It is pure: the renderers in
// internal/render turn it into HTML, DOT or JSON.
package report

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
)

// Edge verdicts, the colours of the graph.
const (
	// Allowed: every fence on the way lets the traffic through (both
	// layers for egress; every hop of an ingress path).
	Allowed = "allowed"
	// OneLayer: one fence lets it through and the other stops it; one
	// mistake away from open.
	OneLayer = "one-layer"
	// Denied: no fence lets it through, or more than one stops it.
	Denied = "denied"
	// Unknown: what lets it through is allowed, but a fence could not be
	// judged from the inputs (a pod's security groups unknown).
	Unknown = "unknown"
)

// Lanes of the graph, left to right.
const (
	LaneSource      = "source"      // the internet, as a client
	LaneEntry       = "entry"       // load balancers, node ports, Ingresses
	LaneWorkload    = "workload"    // the cluster's workloads
	LaneDestination = "destination" // the internet, AWS services, IMDS
)

// MaxAWSDestinations caps the AWS service nodes drawn; the rest are named
// in a note.
const MaxAWSDestinations = 8

// Report is what `ringfence report` shows.
type Report struct {
	Title string `json:"title"`
	// Inputs are the files or cluster the world was read from.
	Inputs          []string `json:"inputs"`
	RangesSyncToken string   `json:"rangesSyncToken"`
	// SecurityGroups is true when the AWS layer was in the inputs.
	SecurityGroups bool `json:"securityGroups"`
	// TierProfile says how tiered policies (docs/tiers.md) were
	// evaluated: "eks, default action allow"; empty without them.
	TierProfile string     `json:"tierProfile,omitempty"`
	Summary     Summary    `json:"summary"`
	Headlines   []Headline `json:"headlines"`
	Namespaces  []string   `json:"namespaces"`
	Findings    []Finding  `json:"findings"`
	Nodes       []Node     `json:"nodes"`
	Edges       []Edge     `json:"edges"`
	Notes       []string   `json:"notes,omitempty"`
}

// Summary counts the findings that are not suppressed, by severity.
type Summary struct {
	// Severities lists the counts from critical to info.
	Severities []Count `json:"severities"`
	Total      int     `json:"total"`
	Suppressed int     `json:"suppressed"`
}

// Count is the number of findings of one severity.
type Count struct {
	Severity string `json:"severity"`
	Count    int    `json:"count"`
}

// Headline is one sentence of the banner: the worst paths, in words.
// Text is the whole sentence: Subject, Claim, then Detail.
type Headline struct {
	Severity string `json:"severity"`
	Text     string `json:"text"`
	Subject  string `json:"subject"`
	Claim    string `json:"claim"`
	Detail   string `json:"detail,omitempty"`
	// Nodes are the graph nodes the sentence is about.
	Nodes []string `json:"nodes"`
	// Finding is the index in Findings of the worst finding on those
	// nodes (certain before possible), which the banner links to; -1
	// when none.
	Finding int `json:"finding"`
}

// Finding is an audit finding placed in the graph.
type Finding struct {
	check.Finding
	Title string `json:"title"`
	// Namespace is the namespace the finding belongs to; empty for AWS
	// objects, which belong to the namespaces of their nodes.
	Namespace string `json:"namespace,omitempty"`
	// Nodes are the graph nodes the finding concerns.
	Nodes []string `json:"nodes"`
}

// Node is a box of the graph.
type Node struct {
	ID        string `json:"id"`
	Lane      string `json:"lane"`
	Label     string `json:"label"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	ML        bool   `json:"ml,omitempty"`
	// Severity is that of the worst finding on the node, if any.
	Severity string   `json:"severity,omitempty"`
	Source   string   `json:"source,omitempty"`
	Detail   []string `json:"detail,omitempty"`
}

// Edge is a way traffic may go, with each fence's verdict.
type Edge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Verdict string `json:"verdict"`
	// Label is a short description: ports, or how much of a destination.
	Label string `json:"label,omitempty"`
	// Addresses and Ports say what gets through an egress edge to an
	// outside destination: "all of it" or prefixes, and the ports ("" for
	// every port).
	Addresses string  `json:"addresses,omitempty"`
	Ports     string  `json:"ports,omitempty"`
	Layers    []Layer `json:"layers"`
}

// Layer is one fence's verdict on an edge.
type Layer struct {
	Name string `json:"name"`
	// Verdict is "allows", "partly allows", "denies" or "unknown".
	Verdict string   `json:"verdict"`
	Detail  []string `json:"detail,omitempty"`
}

// Input is what a report is built from.
type Input struct {
	World    *model.World
	Analysis *engine.Analysis
	// Reach is the analysis's reachability (computed once, shared with
	// the audit).
	Reach    *engine.Result
	Findings []check.Finding
	Rules    []*check.Rule
	Ranges   *ranges.Document
	Inputs   []string
}

// Build builds the report.
func Build(in Input) *Report {
	r := &Report{
		Title:           "ringfence report",
		Inputs:          in.Inputs,
		RangesSyncToken: in.Ranges.SyncToken,
		SecurityGroups:  len(in.World.SecurityGroups) > 0,
		Headlines:       []Headline{},
		Findings:        []Finding{},
		Nodes:           []Node{},
		Edges:           []Edge{},
	}
	if p, def := in.Analysis.TierProfile(); p != "" {
		r.TierProfile = string(p) + ", default action " + def
	}
	b := &builder{Input: in, r: r, nodes: map[string]int{}, peers: map[string]*engine.Peer{}, via: map[string]string{}}
	b.workloads()
	dests := b.destinations()
	b.egress(dests)
	b.exposures()
	b.cluster()
	b.findings()
	b.summary()
	b.headlines(dests)
	namespaces := map[string]bool{}
	for _, n := range r.Nodes {
		if n.Namespace != "" {
			namespaces[n.Namespace] = true
		}
	}
	for _, f := range r.Findings {
		if f.Namespace != "" {
			namespaces[f.Namespace] = true
		}
	}
	r.Namespaces = sortedKeys(namespaces)
	sort.SliceStable(r.Edges, func(i, j int) bool {
		if r.Edges[i].From != r.Edges[j].From {
			return r.Edges[i].From < r.Edges[j].From
		}
		return r.Edges[i].To < r.Edges[j].To
	})
	return r
}

type builder struct {
	Input
	r     *Report
	nodes map[string]int // node ID -> index in r.Nodes
	// peers maps workload node IDs to their peers.
	peers map[string]*engine.Peer
	// byWorkload maps Kind/namespace/name to the workload's node IDs.
	byWorkload map[string][]string
	// via says where a workload node's security groups come from.
	via map[string]string
}

// WorkloadID, EntryID and DestinationID name the graph's nodes.
func WorkloadID(peer string) string    { return "workload:" + peer }
func EntryID(entry string) string      { return "entry:" + entry }
func DestinationID(name string) string { return "destination:" + name }

// InternetSourceID is the internet as a client.
const InternetSourceID = "source:internet"

func (b *builder) add(n Node) {
	if _, ok := b.nodes[n.ID]; ok {
		return
	}
	b.nodes[n.ID] = len(b.r.Nodes)
	b.r.Nodes = append(b.r.Nodes, n)
}

func (b *builder) node(id string) *Node {
	if i, ok := b.nodes[id]; ok {
		return &b.r.Nodes[i]
	}
	return nil
}

func (b *builder) workloads() {
	placements, _ := engine.Place(b.World, nil)
	b.byWorkload = map[string][]string{}
	for _, p := range b.Analysis.Peers() {
		if p.Workload == nil {
			continue
		}
		id := WorkloadID(p.ID)
		n := Node{ID: id, Lane: LaneWorkload, Label: p.Name, Kind: p.Kind, Namespace: p.Namespace, ML: p.Workload.IsML(), Source: p.Workload.Source.String()}
		ing, egr := p.Isolated()
		n.Detail = append(n.Detail, fmt.Sprintf("NetworkPolicy: ingress %s, egress %s", isolation(ing), isolation(egr)))
		if tin, tout := p.Tiered(); len(tin)+len(tout) > 0 {
			n.Detail = append(n.Detail, "tiered policies: "+tierNames("ingress", tin)+", "+tierNames("egress", tout))
		}
		if p.HostNetwork {
			n.Detail = append(n.Detail, "uses the host network: NetworkPolicies do not isolate it")
		}
		if len(b.World.SecurityGroups) > 0 {
			n.Detail = append(n.Detail, b.groupsText(p, placements))
		}
		b.add(n)
		b.peers[id] = p
		key := p.Kind + "/" + p.Namespace + "/" + p.Workload.Name
		b.byWorkload[key] = append(b.byWorkload[key], id)
	}
}

func isolation(isolated bool) string {
	if isolated {
		return "isolated"
	}
	return "open (no policy selects it)"
}

// groupsText says which security groups fence a peer, and from where.
func (b *builder) groupsText(p *engine.Peer, placements map[*model.PodTemplate]engine.Placement) string {
	groups := p.SecurityGroups()
	if len(groups) == 0 {
		return "security groups: not known"
	}
	via := ""
	pods := p.Workload.Pods
	if p.Pods != nil {
		pods = []*model.PodTemplate{p.Pods}
	}
	if len(pods) > 0 {
		via = placements[pods[0]].Via
		b.via[WorkloadID(p.ID)] = via
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = b.groupName(g)
	}
	s := "security groups: " + strings.Join(names, ", ")
	if via != "" {
		s += " (" + via + ")"
	}
	return s
}

// groupName is "name (sg-…)" when the group's name is known.
func (b *builder) groupName(id string) string {
	for _, g := range b.World.SecurityGroups {
		if g.ID == id && g.Name != "" {
			return g.Name + " (" + id + ")"
		}
	}
	return id
}

// destination is an outside destination of the graph.
type destination struct {
	engine.Destination
	// public is true for the internet and AWS's public services.
	public bool
	// parts are the address parts of the analysis that overlap it.
	parts map[string]bool
}

// destinations are the internet (outside AWS), the AWS services whose
// addresses the inputs name (ipBlocks, security group rules, prefix
// lists), and the instance metadata service.
func (b *builder) destinations() []destination {
	var out []destination
	addNamed := func(name string, public bool) {
		set, desc, err := ranges.Named(b.Ranges, name)
		if err != nil {
			return
		}
		out = append(out, destination{Destination: engine.Destination{Name: name, Description: desc, Set: set}, public: public})
	}
	// The internet here is every public address, AWS's included: traffic
	// to S3 without a VPC endpoint leaves through the NAT gateway like any
	// other. The AWS services the inputs name are drawn apart.
	out = append(out, destination{Destination: engine.Destination{Name: "internet", Description: "every public address, AWS's included", Set: netset.Public()}, public: true})
	names := b.awsServices()
	if len(names) > MaxAWSDestinations {
		b.r.Notes = append(b.r.Notes, fmt.Sprintf("%d AWS services are named by the inputs; the graph shows %d (%s; not shown: %s)",
			len(names), MaxAWSDestinations, strings.Join(names[:MaxAWSDestinations], ", "), strings.Join(names[MaxAWSDestinations:], ", ")))
		names = names[:MaxAWSDestinations]
	}
	for _, n := range names {
		addNamed(n, true)
	}
	addNamed("imds", false)
	// Which address parts of the analysis fall in each destination.
	for i := range out {
		out[i].parts = map[string]bool{}
	}
	for _, p := range b.Analysis.Peers() {
		if p.Kind != engine.KindExternal {
			continue
		}
		set := cidrSet(p.CIDRs)
		for i := range out {
			if netset.Overlaps(set, out[i].Set) {
				out[i].parts[p.ID] = true
			}
		}
	}
	for _, d := range out {
		label := d.Name
		kind := d.Name
		if strings.HasPrefix(d.Name, "aws:") {
			kind = "aws"
		}
		b.add(Node{ID: DestinationID(d.Name), Lane: LaneDestination, Label: label, Kind: kind, Detail: []string{d.Description}})
	}
	return out
}

// awsServices names (aws:<SERVICE>:<region>) the AWS services that the
// inputs' address parts lying wholly inside AWS's published space belong
// to: the destinations the policies and groups were written for. AWS lists
// some prefixes under several services (S3's also under EC2); a part
// belongs to the most specific service that holds it, the one with the
// fewest addresses, and never to the AMAZON catch-all.
func (b *builder) awsServices() []string {
	amazon := ranges.Set(b.Ranges.Select(ranges.Filter{Services: []string{"AMAZON"}}))
	var parts []*netipx.IPSet
	var ub netipx.IPSetBuilder
	for _, p := range b.Analysis.Peers() {
		if p.Kind != engine.KindExternal {
			continue
		}
		set := cidrSet(p.CIDRs)
		if len(set.Ranges()) > 0 && len(netset.Difference(set, amazon).Ranges()) == 0 {
			parts = append(parts, set)
			ub.AddSet(set)
		}
	}
	union, _ := ub.IPSet()
	if len(parts) == 0 {
		return nil
	}
	candidates := map[string]bool{}
	for _, p := range b.Ranges.Prefixes {
		if p.Service != "AMAZON" && union.OverlapsPrefix(p.Prefix) {
			candidates["aws:"+p.Service+":"+p.Region] = true
		}
	}
	type service struct {
		name string
		set  *netipx.IPSet
		size uint64
	}
	var services []service
	for name := range candidates {
		// The whole published set of the service, for its size.
		set, _, err := ranges.Named(b.Ranges, name)
		if err != nil {
			continue
		}
		services = append(services, service{name, set, netset.IPv4Count(set)})
	}
	sort.Slice(services, func(i, j int) bool {
		if services[i].size != services[j].size {
			return services[i].size < services[j].size
		}
		return services[i].name < services[j].name
	})
	seen := map[string]bool{}
	for _, part := range parts {
		for _, s := range services {
			if netset.Overlaps(part, s.set) {
				seen[s.name] = true
				break
			}
		}
	}
	return sortedKeys(seen)
}

func cidrSet(cidrs []string) *netipx.IPSet {
	var sb netipx.IPSetBuilder
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			sb.AddPrefix(p)
		}
	}
	s, _ := sb.IPSet()
	return s
}

// egress adds an edge from every workload to every outside destination,
// with each layer's verdict.
func (b *builder) egress(dests []destination) {
	// Ports both layers allow, per source and address part.
	ports := map[string]map[string]netset.Ports{}
	for _, c := range b.Reach.Connections {
		if ports[c.Src] == nil {
			ports[c.Src] = map[string]netset.Ports{}
		}
		ports[c.Src][c.Dst] = c.Allow
	}
	// Peers fenced alike get the same explanation: compute it once.
	type key struct{ fence, dest string }
	explained := map[key]*engine.SetExplanation{}
	for _, p := range b.Analysis.Peers() {
		if p.Workload == nil {
			continue
		}
		for _, d := range dests {
			k := key{p.EgressKey(), d.Name}
			e, ok := explained[k]
			if !ok {
				var err error
				if e, err = engine.ExplainDestination(b.Analysis, p.ID, d.Destination, netset.TCP, 0); err != nil {
					continue
				}
				explained[k] = e
			}
			var allow netset.Ports
			for part := range d.parts {
				allow = allow.Union(ports[p.ID][part])
			}
			b.r.Edges = append(b.r.Edges, egressEdge(WorkloadID(p.ID), DestinationID(d.Name), e, allow))
		}
	}
}

func egressEdge(from, to string, e *engine.SetExplanation, allow netset.Ports) Edge {
	edge := Edge{From: from, To: to}
	np := coverageLayer("NetworkPolicy", e.NetworkPolicy)
	edge.Layers = append(edge.Layers, np)
	sg := Layer{Name: "security groups", Verdict: "unknown", Detail: []string{"not in the inputs: only the NetworkPolicy was judged"}}
	if e.SecurityGroups != nil {
		sg = coverageLayer("security groups", *e.SecurityGroups)
	}
	edge.Layers = append(edge.Layers, sg)
	npOK := np.Verdict != "denies"
	sgOK := sg.Verdict != "denies" && sg.Verdict != "unknown"
	switch {
	case len(e.Both.Allowed) > 0 && e.SecurityGroups != nil && sg.Verdict == "unknown":
		edge.Verdict = Unknown
	case len(e.Both.Allowed) > 0:
		edge.Verdict = Allowed
	case npOK || sgOK:
		// Each fence alone would let some of it through; together they
		// stop it.
		edge.Verdict = OneLayer
	default:
		edge.Verdict = Denied
	}
	switch edge.Verdict {
	case Allowed, Unknown:
		edge.Addresses = amount(e.Both)
		edge.Label = edge.Addresses
		if !allow.IsEmpty() && !allow.IsAll() {
			edge.Ports = allow.String()
			edge.Label += ", " + edge.Ports
		}
	case OneLayer:
		switch {
		case npOK && sgOK:
			edge.Label = "each layer allows a different part of it: nothing gets through both"
		case npOK:
			edge.Label = "the NetworkPolicy allows it, the security groups do not"
		default:
			edge.Label = "the security groups allow it, the NetworkPolicy does not"
		}
	default:
		edge.Label = "denied by both layers"
	}
	return edge
}

// coverageLayer turns one layer's coverage of a destination into a
// verdict with its rules.
func coverageLayer(name string, c engine.Coverage) Layer {
	l := Layer{Name: name}
	switch {
	case len(c.Allowed) == 0 && len(c.Blocked) == 0:
		// Not judged: the layer's inputs are missing.
		l.Verdict = "unknown"
	case len(c.Allowed) == 0:
		l.Verdict = "denies"
	case len(c.Blocked) == 0:
		l.Verdict = "allows"
	default:
		l.Verdict = "partly allows"
	}
	if c.Reason != "" {
		l.Detail = append(l.Detail, c.Reason)
	}
	l.Detail = append(l.Detail, c.Rules...)
	if l.Verdict != "denies" && l.Verdict != "unknown" {
		l.Detail = append(l.Detail, "allows "+amount(c))
	}
	if len(c.Unresolved) > 0 {
		l.Detail = append(l.Detail, "prefix lists without entries: "+strings.Join(c.Unresolved, ", "))
	}
	return l
}

// amount says how much of a destination is allowed: "all of it" or the
// prefixes (at most four) and IPv4 counts.
func amount(c engine.Coverage) string {
	if len(c.Blocked) == 0 && len(c.Allowed) > 0 {
		return "all of it"
	}
	shown := c.Allowed
	more := ""
	if len(shown) > 4 {
		more = fmt.Sprintf(" and %d more", len(shown)-4)
		shown = shown[:4]
	}
	return fmt.Sprintf("%s%s (%s of %s IPv4 addresses)", strings.Join(shown, ", "), more, thousands(c.AllowedIPv4), thousands(c.TotalIPv4))
}

func thousands(n uint64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// exposures adds the ways in from outside: the internet, each entry (load
// balancer, node port, Ingress), and its backends.
func (b *builder) exposures() {
	if len(b.Reach.Exposures) == 0 {
		return
	}
	b.add(Node{ID: InternetSourceID, Lane: LaneSource, Label: "internet", Kind: "internet", Detail: []string{"clients anywhere on the internet"}})
	for _, x := range b.Reach.Exposures {
		kind, ns, name := splitEntry(x.Entry)
		id := EntryID(x.Entry)
		n := Node{ID: id, Lane: LaneEntry, Label: kind + " " + name, Kind: kind, Namespace: ns, Source: x.Source.String()}
		for _, h := range x.Hops {
			n.Detail = append(n.Detail, hopText(h))
		}
		b.add(n)
		// The first hop (the load balancer, node port or controller)
		// decides whether the internet reaches the entry at all.
		first := Edge{From: InternetSourceID, To: id, Verdict: Allowed, Layers: []Layer{}}
		if len(x.Hops) > 0 {
			h := x.Hops[0]
			first.Label = h.Step + ": " + h.Verdict
			first.Layers = append(first.Layers, Layer{Name: h.Step, Verdict: hopVerdict(h.Verdict), Detail: []string{h.Detail}})
			first.Verdict = pathClass([]engine.Hop{h})
		}
		b.r.Edges = append(b.r.Edges, first)
		for _, be := range x.Backends {
			e := Edge{From: id, To: WorkloadID(be), Layers: []Layer{}}
			var hops []engine.Hop
			for _, h := range x.Hops[min(1, len(x.Hops)):] {
				if strings.HasSuffix(h.Step, " of "+be) || !strings.Contains(h.Step, " of ") {
					hops = append(hops, h)
					e.Layers = append(e.Layers, Layer{Name: h.Step, Verdict: hopVerdict(h.Verdict), Detail: []string{h.Detail}})
				}
			}
			e.Verdict = pathClass(append(hops, x.Hops[:min(1, len(x.Hops))]...))
			if x.Internet {
				e.Verdict = Allowed
				e.Label = "reachable from the internet"
			} else {
				e.Label = "not reachable from the internet"
			}
			b.r.Edges = append(b.r.Edges, e)
		}
	}
}

func splitEntry(entry string) (kind, ns, name string) {
	parts := strings.SplitN(entry, "/", 3)
	if len(parts) < 3 {
		return entry, "", entry
	}
	return parts[0], parts[1], parts[2]
}

func hopText(h engine.Hop) string {
	s := h.Step + ": " + h.Verdict + ": " + h.Detail
	if h.Source != "" {
		s += " (" + h.Source + ")"
	}
	return s
}

func hopVerdict(v string) string {
	switch v {
	case engine.HopOpen:
		return "allows"
	case engine.HopRestricted:
		return "partly allows"
	case engine.HopBlocked:
		return "denies"
	}
	return "unknown"
}

// pathClass is the verdict of a path from its hops: allowed when none
// blocks, one layer when exactly one does, denied otherwise.
func pathClass(hops []engine.Hop) string {
	blocked, unknown := 0, false
	for _, h := range hops {
		switch h.Verdict {
		case engine.HopBlocked:
			blocked++
		case engine.HopUnknown:
			unknown = true
		}
	}
	switch {
	case blocked == 1:
		return OneLayer
	case blocked > 1:
		return Denied
	case unknown:
		return Unknown
	}
	return Allowed
}

// MaxClusterEdges caps the in-cluster edges kept: beyond it the report
// says how many it left out (`ringfence reach` lists them all).
const MaxClusterEdges = 20000

// cluster adds the connections between workloads.
func (b *builder) cluster() {
	kept := 0
	for _, c := range b.Reach.Connections {
		from, to := WorkloadID(c.Src), WorkloadID(c.Dst)
		if b.peers[from] == nil || b.peers[to] == nil {
			continue
		}
		if kept == MaxClusterEdges {
			b.r.Notes = append(b.r.Notes, fmt.Sprintf("only the first %d connections between workloads are in the report (ringfence reach lists them all)", MaxClusterEdges))
			kept++
			continue
		}
		if kept > MaxClusterEdges {
			continue
		}
		kept++
		e := Edge{From: from, To: to, Verdict: Allowed, Label: c.Allow.String()}
		np := Layer{Name: "NetworkPolicy", Verdict: "allows"}
		sg := Layer{Name: "security groups", Verdict: "unknown", Detail: []string{"not given"}}
		if c.Layers != nil {
			np.Detail = []string{c.Layers.NetworkPolicy.String()}
			if c.Layers.SecurityGroups != nil {
				sg = Layer{Name: "security groups", Verdict: "allows", Detail: []string{c.Layers.SecurityGroups.String()}}
			} else {
				sg.Detail = []string{"not certain from the inputs (pod addresses are not known)"}
				e.Verdict = Unknown
			}
		}
		e.Layers = []Layer{np, sg}
		b.r.Edges = append(b.r.Edges, e)
	}
}

// findings places each finding on the graph: a workload on its nodes, a
// Service or Ingress on its entry and backends, a NetworkPolicy on the
// workloads it selects, a security group on the workloads it fences.
func (b *builder) findings() {
	titles := map[string]string{}
	for _, r := range b.Rules {
		titles[r.ID] = r.Title
	}
	policies := map[string]*model.NetworkPolicy{}
	for _, p := range b.World.Policies {
		policies[p.Namespace+"/"+p.Name] = p
	}
	var nsNodes map[string][]*Node // nodes by namespace, built when first needed
	for _, f := range b.Findings {
		rf := Finding{Finding: f, Title: titles[f.Rule], Namespace: f.Object.Namespace, Nodes: []string{}}
		if rf.Path == nil {
			rf.Path = []string{}
		}
		switch f.Object.Kind {
		case "Namespace":
			rf.Namespace = f.Object.Name
		case "Service", "Ingress":
			id := EntryID(f.Object.String())
			if b.node(id) != nil {
				rf.Nodes = append(rf.Nodes, id)
				for _, e := range b.r.Edges {
					if e.From == id {
						rf.Nodes = append(rf.Nodes, e.To)
					}
				}
			}
		case "NetworkPolicy":
			if p := policies[f.Object.Namespace+"/"+f.Object.Name]; p != nil {
				// A policy selects pods of its own namespace only.
				if nsNodes == nil {
					nsNodes = map[string][]*Node{}
					for i := range b.r.Nodes {
						n := &b.r.Nodes[i]
						nsNodes[n.Namespace] = append(nsNodes[n.Namespace], n)
					}
				}
				for _, n := range nsNodes[p.Namespace] {
					if peer := b.peers[n.ID]; peer != nil && b.Analysis.Selects(p, peer.ID) {
						rf.Nodes = append(rf.Nodes, n.ID)
					}
				}
			}
		case "SecurityGroup":
			for _, n := range b.r.Nodes {
				if peer := b.peers[n.ID]; peer != nil && contains(peer.SecurityGroups(), f.Object.Name) {
					rf.Nodes = append(rf.Nodes, n.ID)
				}
			}
		default:
			rf.Nodes = append(rf.Nodes, b.byWorkload[f.Object.String()]...)
		}
		if f.Suppressed == nil {
			for _, id := range rf.Nodes {
				if n := b.node(id); n != nil && (n.Severity == "" || worse(f.Severity.String(), n.Severity)) {
					n.Severity = f.Severity.String()
				}
			}
		}
		b.r.Findings = append(b.r.Findings, rf)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// worse reports whether severity a is above b.
func worse(a, b string) bool {
	sa, _ := check.ParseSeverity(a)
	sb, _ := check.ParseSeverity(b)
	return sa > sb
}

func (b *builder) summary() {
	counts := map[check.Severity]int{}
	for _, f := range b.Findings {
		if f.Suppressed != nil {
			b.r.Summary.Suppressed++
			continue
		}
		counts[f.Severity]++
		b.r.Summary.Total++
	}
	for s := check.Critical; s >= check.Info; s-- {
		b.r.Summary.Severities = append(b.r.Summary.Severities, Count{Severity: s.String(), Count: counts[s]})
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tierNames lists the tiered policies of one direction of a workload.
func tierNames(dir string, ps []*model.TierPolicy) string {
	if len(ps) == 0 {
		return dir + " none"
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Ref().String())
	}
	return dir + " " + strings.Join(names, ", ")
}
