// Package diff compares two analysed configurations, a base and a head, and
// says what the change opens and closes: connections added, removed and
// changed (per layer), exposures from outside the cluster, workloads open
// to namespaces not in the inputs, and audit findings introduced and
// resolved. Each changed connection carries the policy rules and security
// group verdicts that differ between the sides, taken from the engine's
// own explanations, so a reviewer sees which edit caused it.
package diff

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/unseen"
	"go4.org/netipx"
)

// Side is one configuration, analysed.
type Side struct {
	Analysis *engine.Analysis
	Result   *engine.Result
	Findings []check.Finding
	// Unseen lists the workloads open to namespaces not in the inputs.
	Unseen []unseen.Opening
	// Root, when set, is a directory prefix the side's file names carry
	// but a reader should not see (a temporary extraction of a git
	// revision); it is trimmed from every source shown.
	Root string
}

// Kinds of change.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Diff is what changed from base to head.
type Diff struct {
	Summary     Summary         `json:"summary"`
	Connections []Connection    `json:"connections"`
	Exposures   []Exposure      `json:"exposures"`
	Unseen      []UnseenChange  `json:"unknownPeers"`
	Findings    []FindingChange `json:"findings"`
	// Opens is true when the change lets through something the base did
	// not: a port of a connection, an exposure, an opening to unknown
	// namespaces, or a finding at the failing severity.
	Opens bool `json:"opens"`
}

// Summary counts the changes.
type Summary struct {
	ConnectionsAdded    int `json:"connectionsAdded"`
	ConnectionsRemoved  int `json:"connectionsRemoved"`
	ConnectionsChanged  int `json:"connectionsChanged"`
	ExposuresAdded      int `json:"exposuresAdded"`
	ExposuresRemoved    int `json:"exposuresRemoved"`
	ExposuresChanged    int `json:"exposuresChanged"`
	UnknownPeersAdded   int `json:"unknownPeersAdded"`
	UnknownPeersRemoved int `json:"unknownPeersRemoved"`
	FindingsIntroduced  int `json:"findingsIntroduced"`
	FindingsResolved    int `json:"findingsResolved"`
	FindingsChanged     int `json:"findingsChanged"`
}

// Connection is one pair whose allowed ports differ between the sides.
// External ends are address ranges: the pieces of the address space that
// both sides treat alike, merged where the change is the same.
type Connection struct {
	Change string `json:"change"`
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	// Before and After are what both fences allow; Opened and Closed are
	// the ports gained and lost.
	Before netset.Ports `json:"before"`
	After  netset.Ports `json:"after"`
	Opened netset.Ports `json:"opened"`
	Closed netset.Ports `json:"closed"`
	// Self is true for a single pod's traffic to itself, which upstream
	// Kubernetes leaves undefined (most CNIs allow it whatever the
	// policies say): shown with what the policies allow, never counted as
	// opening anything.
	Self bool `json:"self,omitempty"`
	// Layers lists the fences whose own verdict changed.
	Layers []Layer `json:"layers,omitempty"`
	// Causes are the facts of the engine's explanations that differ:
	// "-" held in the base only, "+" in the head only.
	Causes []string `json:"causes,omitempty"`
	// Sources are the files and lines of the policy rules and security
	// group rules among the causes: the head's first, then the base's.
	Sources []model.Source `json:"sources,omitempty"`
}

// Layer is one fence's verdict on each side: ports, "unknown" when the
// inputs cannot decide it, or "not given" when that layer is absent.
type Layer struct {
	Layer  string `json:"layer"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Exposure is a way in from outside the cluster that appeared,
// disappeared or changed.
type Exposure struct {
	Change   string           `json:"change"`
	Entry    string           `json:"entry"`
	Source   model.Source     `json:"source"`
	Internet bool             `json:"internet"`
	Backends []string         `json:"backends"`
	Before   *engine.Exposure `json:"before,omitempty"`
	After    *engine.Exposure `json:"after,omitempty"`
	// Hops lists the hops whose verdict changed: "-" base, "+" head.
	Hops []string `json:"hops,omitempty"`
	// Opens is true when the head admits more from outside: a new entry,
	// a new backend, or the internet where the base kept it out.
	Opens bool `json:"opens"`
}

// UnseenChange is a workload's opening to unknown namespaces that appeared
// or disappeared.
type UnseenChange struct {
	Change string `json:"change"`
	unseen.Opening
}

// FindingChange is an audit finding introduced, resolved, or changed (the
// same rule on the same object with another message).
type FindingChange struct {
	Change string `json:"change"`
	check.Finding
	// Was is a changed finding's message in the base.
	Was string `json:"was,omitempty"`
}

// Options tune the comparison.
type Options struct {
	// FailOn is the severity from which an introduced, unsuppressed
	// finding opens something.
	FailOn check.Severity
}

// Compare computes the diff from base to head.
func Compare(base, head *Side, opts Options) *Diff {
	d := &Diff{Connections: []Connection{}, Exposures: []Exposure{}, Unseen: []UnseenChange{}, Findings: []FindingChange{}}
	d.Exposures = compareExposures(base, head)
	bv, hv := newView(base, head.Result), newView(head, base.Result)
	d.Connections = compareConnections(bv, hv)
	d.Unseen = compareUnseen(bv.unseen(), hv.unseen())
	d.Findings = compareFindings(base, head, roleNames(base.Result, head.Result))
	// Empty lists, not null, in JSON.
	if d.Connections == nil {
		d.Connections = []Connection{}
	}
	if d.Exposures == nil {
		d.Exposures = []Exposure{}
	}
	if d.Unseen == nil {
		d.Unseen = []UnseenChange{}
	}
	if d.Findings == nil {
		d.Findings = []FindingChange{}
	}
	d.Tally(opts)
	return d
}

// Tally counts the changes into the summary and decides Opens; a caller
// that narrows a diff tallies it again.
func (d *Diff) Tally(opts Options) {
	d.Summary, d.Opens = Summary{}, false
	for _, c := range d.Connections {
		switch c.Change {
		case Added:
			d.Summary.ConnectionsAdded++
		case Removed:
			d.Summary.ConnectionsRemoved++
		default:
			d.Summary.ConnectionsChanged++
		}
		d.Opens = d.Opens || (!c.Opened.IsEmpty() && !c.Self)
	}
	for _, e := range d.Exposures {
		switch e.Change {
		case Added:
			d.Summary.ExposuresAdded++
		case Removed:
			d.Summary.ExposuresRemoved++
		default:
			d.Summary.ExposuresChanged++
		}
		d.Opens = d.Opens || e.Opens
	}
	for _, u := range d.Unseen {
		if u.Change == Added {
			d.Summary.UnknownPeersAdded++
			d.Opens = true
		} else {
			d.Summary.UnknownPeersRemoved++
		}
	}
	for _, f := range d.Findings {
		switch f.Change {
		case Added:
			d.Summary.FindingsIntroduced++
			d.Opens = d.Opens || (f.Suppressed == nil && f.Severity >= opts.FailOn)
		case Removed:
			d.Summary.FindingsResolved++
		default:
			d.Summary.FindingsChanged++
		}
	}
}

// view is one side's connections, keyed so that the sides compare.
type view struct {
	side *Side
	// internal are the connections between in-cluster peers under
	// normalised names, sorted by source and destination; orig maps a
	// normalised name back to the side's own.
	internal []pair
	orig     map[string]string
	// egress and ingress map a normalised in-cluster peer to its
	// connections with address parts, by part ID.
	egress, ingress map[string]map[string]engine.Connection
	// expand maps a peer of the side to the names it is compared under.
	expand    map[string][]string
	parts     map[string]*netipx.IPSet
	peers     map[string]*engine.Peer
	partOrder []string
}

// pair is one in-cluster connection under normalised names; self is true
// for a single pod's traffic to itself.
type pair struct {
	src, dst string
	c        engine.Connection
	self     bool
}

func pairLess(a, b *pair) bool {
	if a.src != b.src {
		return a.src < b.src
	}
	return a.dst < b.dst
}

// roles returns, per workload key, the role peers of a side: peers that
// stand for one role of a workload that policies split.
func roles(r *engine.Result) map[string][]string {
	out := map[string][]string{}
	for _, p := range r.Peers {
		if p.Workload != nil && p.Pods != nil && p.Kind != "Pod" && p.ID == p.Workload.Namespace+"/"+p.Workload.Name+"/"+p.Pods.Role {
			k := p.Kind + "|" + p.Workload.Namespace + "/" + p.Workload.Name
			out[k] = append(out[k], p.ID)
		}
	}
	return out
}

// newView normalises a side's peers against the other's: a workload that
// one side keeps whole and the other splits into roles is compared role
// by role (the whole workload stands for each of its roles, since its pods
// all behave alike there).
func newView(s *Side, other *engine.Result) *view {
	v := &view{side: s, orig: map[string]string{},
		egress: map[string]map[string]engine.Connection{}, ingress: map[string]map[string]engine.Connection{}, parts: map[string]*netipx.IPSet{}, peers: map[string]*engine.Peer{}}
	own, theirs := roles(s.Result), roles(other)
	expand := map[string][]string{}
	v.expand = expand
	external := map[string]bool{}
	for _, p := range s.Result.Peers {
		v.peers[p.ID] = p
		if p.Kind == engine.KindExternal {
			external[p.ID] = true
			v.parts[p.ID] = cidrSet(p.CIDRs)
			v.partOrder = append(v.partOrder, p.ID)
			continue
		}
		names := []string{p.ID}
		if p.Workload != nil && p.Pods == nil {
			k := p.Kind + "|" + p.Workload.Namespace + "/" + p.Workload.Name
			if split := theirs[k]; len(split) > 0 && len(own[k]) == 0 {
				names = split
			}
		}
		expand[p.ID] = names
		for _, n := range names {
			v.orig[n] = p.ID
		}
	}
	split := false
	for id, names := range expand {
		split = split || len(names) != 1 || names[0] != id
	}
	var conns, self []pair
	for _, c := range s.Result.Connections {
		switch {
		case external[c.Dst]:
			for _, src := range expand[c.Src] {
				addPart(v.egress, src, c.Dst, c)
			}
		case external[c.Src]:
			for _, dst := range expand[c.Dst] {
				addPart(v.ingress, dst, c.Src, c)
			}
		default:
			for _, src := range expand[c.Src] {
				for _, dst := range expand[c.Dst] {
					conns = append(conns, pair{src: src, dst: dst, c: c})
				}
			}
		}
	}
	// Traffic of a single pod to itself is kept apart by the engine; a
	// workload split into roles may turn pairs into it, so it is compared
	// with the rest (what the policies allow is the same claim).
	for _, c := range s.Result.Self {
		for _, n := range expand[c.Src] {
			self = append(self, pair{src: n, dst: n, c: c, self: true})
		}
	}
	if split {
		// Expanded names break the engine's order.
		v.internal = append(conns, self...)
		sort.Slice(v.internal, func(i, j int) bool { return pairLess(&v.internal[i], &v.internal[j]) })
		return v
	}
	// Both lists come sorted from the engine: merge them.
	v.internal = make([]pair, 0, len(conns)+len(self))
	i, j := 0, 0
	for i < len(conns) || j < len(self) {
		if j == len(self) || (i < len(conns) && pairLess(&conns[i], &self[j])) {
			v.internal = append(v.internal, conns[i])
			i++
		} else {
			v.internal = append(v.internal, self[j])
			j++
		}
	}
	return v
}

func addPart(m map[string]map[string]engine.Connection, peer, part string, c engine.Connection) {
	if m[peer] == nil {
		m[peer] = map[string]engine.Connection{}
	}
	m[peer][part] = c
}

func cidrSet(cidrs []string) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			b.AddPrefix(p)
		}
	}
	s, _ := b.IPSet()
	return s
}

func compareConnections(bv, hv *view) []Connection {
	var out []Connection
	emit := func(b, h *pair) {
		var bc, hc engine.Connection
		p := b
		if b != nil {
			bc = b.c
		}
		if h != nil {
			hc, p = h.c, h
		}
		c := change(p.src, p.dst, bc, hc, b != nil, h != nil)
		c.Self = (b != nil && b.self) || (h != nil && h.self)
		c.Causes, c.Sources = causes(bv, hv, p.src, p.dst, "", b != nil, h != nil)
		out = append(out, c)
	}
	// Both lists are sorted by source and destination: one merge pass.
	bs, hs := bv.internal, hv.internal
	i, j := 0, 0
	for i < len(bs) || j < len(hs) {
		switch {
		case j == len(hs) || (i < len(bs) && pairLess(&bs[i], &hs[j])):
			emit(&bs[i], nil)
			i++
		case i == len(bs) || pairLess(&hs[j], &bs[i]):
			emit(nil, &hs[j])
			j++
		default:
			if !same(bs[i].c, hs[j].c) {
				emit(&bs[i], &hs[j])
			}
			i++
			j++
		}
	}
	out = append(out, compareExternal(bv, hv)...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Src != out[j].Src {
			return out[i].Src < out[j].Src
		}
		return out[i].Dst < out[j].Dst
	})
	return out
}

// same reports whether two connections allow the same, layer by layer.
func same(a, b engine.Connection) bool {
	if !a.Allow.Equal(b.Allow) || (a.Layers == nil) != (b.Layers == nil) {
		return false
	}
	if a.Layers == nil {
		return true
	}
	sa, sb := a.Layers.SecurityGroups, b.Layers.SecurityGroups
	return a.Layers.NetworkPolicy.Equal(b.Layers.NetworkPolicy) && (sa == nil) == (sb == nil) && (sa == nil || sa.Equal(*sb))
}

// layers renders a connection's per-layer verdicts for comparison.
func layers(c engine.Connection) [2]string {
	if c.Layers == nil {
		return [2]string{c.Allow.String(), "not given"}
	}
	sg := "unknown"
	if c.Layers.SecurityGroups != nil {
		sg = c.Layers.SecurityGroups.String()
	}
	return [2]string{c.Layers.NetworkPolicy.String(), sg}
}

func change(src, dst string, b, h engine.Connection, inB, inH bool) Connection {
	c := Connection{Src: src, Dst: dst, Change: Changed}
	var lb, lh [2]string
	if inB {
		c.Before, lb = b.Allow, layers(b)
	} else {
		c.Change, lb = Added, [2]string{"None", ""}
	}
	if inH {
		c.After, lh = h.Allow, layers(h)
	} else {
		c.Change, lh = Removed, [2]string{"None", ""}
	}
	c.Opened, c.Closed = subtract(c.After, c.Before), subtract(c.Before, c.After)
	for i, name := range []string{"NetworkPolicy", "SecurityGroups"} {
		if lb[i] != lh[i] && lb[i] != "" && lh[i] != "" {
			c.Layers = append(c.Layers, Layer{Layer: name, Before: lb[i], After: lh[i]})
		}
	}
	return c
}

// compareExternal compares connections with addresses outside the
// cluster. The sides cut the address space differently (each by its own
// ipBlocks and security group rules), so they are compared on the pieces
// both cuts agree on, and pieces with the same change are merged back.
func compareExternal(bv, hv *view) []Connection {
	var sets []*netipx.IPSet
	for _, id := range bv.partOrder {
		sets = append(sets, bv.parts[id])
	}
	for _, id := range hv.partOrder {
		sets = append(sets, hv.parts[id])
	}
	type piece struct {
		set        *netipx.IPSet
		base, head string
	}
	var pieces []piece
	for _, p := range netset.Partition(sets) {
		pc := piece{set: p.Set}
		for i, in := range p.In {
			if !in {
				continue
			}
			if i < len(bv.partOrder) {
				pc.base = bv.partOrder[i]
			} else {
				pc.head = hv.partOrder[i-len(bv.partOrder)]
			}
		}
		pieces = append(pieces, pc)
	}
	var out []Connection
	for _, egress := range []bool{true, false} {
		bm, hm := bv.ingress, hv.ingress
		if egress {
			bm, hm = bv.egress, hv.egress
		}
		peers := map[string]bool{}
		for p := range bm {
			peers[p] = true
		}
		for p := range hm {
			peers[p] = true
		}
		for peer := range peers {
			type group struct {
				set  netipx.IPSetBuilder
				b, h engine.Connection
				inB  bool
				inH  bool
				addr netip.Addr
			}
			groups := map[string]*group{}
			var order []string
			for _, pc := range pieces {
				b, inB := bm[peer][pc.base]
				h, inH := hm[peer][pc.head]
				if (!inB && !inH) || (inB && inH && same(b, h)) {
					continue
				}
				lb, lh := layers(b), layers(h)
				key := b.Allow.String() + "|" + lb[0] + "|" + lb[1] + "|" + h.Allow.String() + "|" + lh[0] + "|" + lh[1]
				g, ok := groups[key]
				if !ok {
					g = &group{b: b, h: h, inB: inB, inH: inH, addr: pc.set.Ranges()[0].From()}
					groups[key] = g
					order = append(order, key)
				}
				g.set.AddSet(pc.set)
			}
			for _, k := range order {
				g := groups[k]
				set, _ := g.set.IPSet()
				addrs := strings.Join(netset.PrefixStrings(set), ",")
				src, dst := peer, addrs
				if !egress {
					src, dst = addrs, peer
				}
				c := change(src, dst, g.b, g.h, g.inB, g.inH)
				if egress {
					c.Causes, c.Sources = causes(bv, hv, peer, "", g.addr.String(), g.inB, g.inH)
				} else {
					c.Causes, c.Sources = causes(bv, hv, "", peer, g.addr.String(), g.inB, g.inH)
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// subtract returns the ports of a not in b.
func subtract(a, b netset.Ports) netset.Ports {
	var out netset.Ports
	for _, p := range netset.Protocols {
		for _, r := range a.Ranges(p) {
			lo := r.Lo
			for _, x := range b.Ranges(p) {
				if x.Hi < lo || x.Lo > r.Hi {
					continue
				}
				if x.Lo > lo {
					out = out.Union(netset.PortRange(p, lo, x.Lo-1))
				}
				lo = x.Hi + 1
			}
			if lo <= r.Hi {
				out = out.Union(netset.PortRange(p, lo, r.Hi))
			}
		}
	}
	return out
}

func compareExposures(base, head *Side) []Exposure {
	index := func(es []engine.Exposure) map[string]*engine.Exposure {
		m := map[string]*engine.Exposure{}
		for i := range es {
			m[es[i].Entry] = &es[i]
		}
		return m
	}
	bm, hm := index(base.Result.Exposures), index(head.Result.Exposures)
	var out []Exposure
	for entry, h := range hm {
		b := bm[entry]
		if b == nil {
			out = append(out, Exposure{Change: Added, Entry: entry, Source: trimSource(head, h.Source), Internet: h.Internet, Backends: h.Backends, After: h, Opens: true})
			continue
		}
		if exposureKey(b) == exposureKey(h) {
			continue
		}
		newBackend := false
		for _, be := range h.Backends {
			newBackend = newBackend || !contains(b.Backends, be)
		}
		out = append(out, Exposure{Change: Changed, Entry: entry, Source: trimSource(head, h.Source), Internet: h.Internet, Backends: h.Backends, Before: b, After: h,
			Opens: (h.Internet && !b.Internet) || newBackend, Hops: hopChanges(base, head, b, h)})
	}
	for entry, b := range bm {
		if hm[entry] == nil {
			out = append(out, Exposure{Change: Removed, Entry: entry, Source: trimSource(base, b.Source), Internet: b.Internet, Backends: b.Backends, Before: b})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Entry < out[j].Entry })
	return out
}

// exposureKey is what a reviewer compares: the backends and each hop's
// verdict and detail, not where the objects are written.
func exposureKey(e *engine.Exposure) string {
	var b strings.Builder
	b.WriteString(strings.Join(e.Backends, ","))
	for _, h := range e.Hops {
		b.WriteString("|" + h.Step + ":" + h.Verdict + ":" + h.Detail)
	}
	return b.String()
}

// hopChanges lists the hops held by one side only.
func hopChanges(base, head *Side, b, h *engine.Exposure) []string {
	text := func(x engine.Hop) string { return x.Step + ": " + x.Verdict + ": " + x.Detail }
	has := func(hops []engine.Hop, t string) bool {
		for _, x := range hops {
			if text(x) == t {
				return true
			}
		}
		return false
	}
	var out []string
	for _, x := range b.Hops {
		if !has(h.Hops, text(x)) {
			out = append(out, "- "+trim(base, text(x)))
		}
	}
	for _, x := range h.Hops {
		if !has(b.Hops, text(x)) {
			out = append(out, "+ "+trim(head, text(x)))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// unseen returns the side's openings under the compared names.
func (v *view) unseen() []unseen.Opening {
	var out []unseen.Opening
	for _, o := range v.side.Unseen {
		names, ok := v.expand[o.Workload]
		if !ok {
			names = []string{o.Workload}
		}
		for _, n := range names {
			o.Workload = n
			out = append(out, o)
		}
	}
	return out
}

func compareUnseen(base, head []unseen.Opening) []UnseenChange {
	index := func(os []unseen.Opening) map[string]unseen.Opening {
		m := map[string]unseen.Opening{}
		for _, o := range os {
			m[o.Key()] = o
		}
		return m
	}
	bm, hm := index(base), index(head)
	var out []UnseenChange
	for k, o := range hm {
		if _, ok := bm[k]; !ok {
			out = append(out, UnseenChange{Change: Added, Opening: o})
		}
	}
	for k, o := range bm {
		if _, ok := hm[k]; !ok {
			out = append(out, UnseenChange{Change: Removed, Opening: o})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Opening.Key() != out[j].Opening.Key() {
			return out[i].Opening.Key() < out[j].Opening.Key()
		}
		return out[i].Change < out[j].Change
	})
	return out
}

// sourceRE matches file:line positions in messages, which move when a
// file is edited elsewhere and differ between the sides' directories.
var sourceRE = regexp.MustCompile(`[^\s(),;\[\]]+\.(ya?ml|json)(:\d+)?`)

// findingKey identifies a finding across the sides: rule, object and
// message with positions left out, and peers named by their workload
// (a side that splits a workload into roles names them apart).
func findingKey(f check.Finding, roles *strings.Replacer) string {
	return f.Rule + "|" + f.Object.String() + "|" + roles.Replace(sourceRE.ReplaceAllString(f.Message, "<source>"))
}

// roleNames replaces the names of role peers by their workload's.
func roleNames(rs ...*engine.Result) *strings.Replacer {
	var pairs []string
	for _, r := range rs {
		for _, ids := range roles(r) {
			for _, id := range ids {
				pairs = append(pairs, id, id[:strings.LastIndex(id, "/")])
			}
		}
	}
	return strings.NewReplacer(pairs...)
}

// compareFindings matches the findings of the sides by key; what is left
// is paired by rule and object (the same finding, its message changed:
// "2 gaps" for "1 gap") and the rest is introduced or resolved.
func compareFindings(base, head *Side, roles *strings.Replacer) []FindingChange {
	keys := func(fs []check.Finding) map[string]bool {
		m := map[string]bool{}
		for _, f := range fs {
			m[findingKey(f, roles)] = true
		}
		return m
	}
	bm, hm := keys(base.Findings), keys(head.Findings)
	var added, removed []check.Finding
	seen := map[string]bool{}
	for _, f := range head.Findings {
		if k := findingKey(f, roles); !bm[k] && !seen[k] {
			seen[k] = true
			added = append(added, f)
		}
	}
	for _, f := range base.Findings {
		if k := findingKey(f, roles); !hm[k] && !seen[k] {
			seen[k] = true
			removed = append(removed, f)
		}
	}
	var out []FindingChange
	for _, f := range added {
		c := FindingChange{Change: Added, Finding: trimFinding(head, f)}
		for i, r := range removed {
			if r.Rule == f.Rule && r.Object == f.Object {
				c.Change, c.Was = Changed, trim(base, r.Message)
				removed = append(removed[:i], removed[i+1:]...)
				break
			}
		}
		out = append(out, c)
	}
	for _, f := range removed {
		out = append(out, FindingChange{Change: Removed, Finding: trimFinding(base, f)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Object.String() < out[j].Object.String()
	})
	return out
}

func trimFinding(s *Side, f check.Finding) check.Finding {
	if s.Root == "" {
		return f
	}
	f.Source = trimSource(s, f.Source)
	f.Message = trim(s, f.Message)
	path := make([]string, len(f.Path))
	for i, p := range f.Path {
		path[i] = trim(s, p)
	}
	f.Path = path
	return f
}

func trimSource(s *Side, src model.Source) model.Source {
	src.File = trim(s, src.File)
	return src
}

// trim removes the side's root from the file names in a text.
func trim(s *Side, text string) string {
	if s.Root == "" {
		return text
	}
	return strings.ReplaceAll(text, strings.TrimSuffix(s.Root, "/")+"/", "")
}
