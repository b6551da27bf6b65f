package traffic

import (
	"net/netip"
	"sort"

	"github.com/ringfence/ringfence/internal/load/flows"
	"github.com/ringfence/ringfence/internal/model"
)

// Key is a distinct flow: what policies and security groups can tell apart.
type Key struct {
	Src, Dst ID
	Proto    uint8
	Port     uint16
	// Denied flows (VPC REJECT, Hubble DROPPED) are kept apart from the
	// others: they were denied today, and never stand for a flow that was
	// allowed.
	Denied bool
	// Ambiguous: no rule told which side opened the connection; SrcPort is
	// then the source port, to find the mirror-image records.
	Ambiguous bool
	SrcPort   uint16
}

// Counts are the records of one distinct flow.
type Counts struct {
	// Records counts flows (a record's Count), by what the input says the
	// network did with them.
	Records, Accepted, Rejected uint64
	// First is where the first record is; SrcAddr and DstAddr its
	// addresses (any address of the block judges the same).
	First            model.Source
	SrcAddr, DstAddr netip.Addr
	// SrcAddrs and DstAddrs are the addresses seen at an end that is an
	// address or a node (what `learn` must name), as covering prefixes.
	SrcAddrs, DstAddrs AddrSet
}

func (c *Counts) add(o *Counts) {
	c.Records += o.Records
	c.Accepted += o.Accepted
	c.Rejected += o.Rejected
	c.SrcAddrs.Merge(o.SrcAddrs)
	c.DstAddrs.Merge(o.DstAddrs)
}

// Rules that tell a connection's opener from its replies, in the order
// they are tried.
const (
	// RuleMarked: the input says (TCP flags SYN or SYN-ACK, Hubble
	// is_reply, a CSV row).
	RuleMarked = "marked by the input (tcp-flags SYN/SYN-ACK, Hubble is_reply, a CSV row)"
	// RuleListening: a port the pod or Service at one end listens on.
	RuleListening = "a port the pod or Service listens on"
	// RuleServicePort: one port in the ephemeral range, the other not.
	RuleServicePort = "the service port: only one side's port is ephemeral (32768-65535)"
	// RuleWellKnown: one port below 1024, the other not.
	RuleWellKnown = "the service port: only one side's port is below 1024"
	// RuleMirrorKnown: the mirror image of a connection another rule
	// oriented (its replies), or the same direction as one.
	RuleMirrorKnown = "the mirror image of an oriented connection"
	// RuleAmbiguous: no rule of the log alone decides; whatif then asks
	// the security groups (stateful) and otherwise says it is ambiguous.
	RuleAmbiguous = "undecided by the log alone"
	// RuleNoPorts: protocols without ports (ICMP), judged as they are.
	RuleNoPorts = "no ports (ICMP and others): as recorded"
)

// rule indexes the counters of Aggregator.rules (a map keyed by the text
// would hash it for every record).
type rule uint8

const (
	ruleMarked rule = iota
	ruleListening
	ruleServicePort
	ruleWellKnown
	ruleMirrorKnown
	ruleNoPorts
	ruleAmbiguous
	nRules
)

var ruleNames = [nRules]string{RuleMarked, RuleListening, RuleServicePort, RuleWellKnown, RuleMirrorKnown, RuleNoPorts, RuleAmbiguous}

// RuleCount is how many records a rule oriented.
type RuleCount struct {
	Rule    string `json:"rule"`
	Records uint64 `json:"records"`
}

// maxAmbiguous bounds the distinct flows kept with their source port for
// pairing; past it, further undecided records are kept without (judged
// as recorded, still marked ambiguous).
const maxAmbiguous = 1 << 16

// Aggregator folds records into distinct flows.
type Aggregator struct {
	idx   *Index
	flows map[Key]*Counts
	// Records counts every record added; Replies those that answer a
	// connection (judged with the connection they answer).
	Records, Replies uint64
	rules            [nRules]uint64
	ambiguous        int
	resolved         bool
}

// NewAggregator returns an empty aggregator over an index.
func NewAggregator(idx *Index) *Aggregator {
	return &Aggregator{idx: idx, flows: map[Key]*Counts{}}
}

// Add folds one record in; file names its input. It allocates only for a
// flow not seen before.
func (g *Aggregator) Add(rec *flows.Record, file string) {
	g.Records += rec.Count
	src, dst := g.endpoint(rec.Src, rec.SrcPod, rec.SrcWorkload), g.endpoint(rec.Dst, rec.DstPod, rec.DstWorkload)
	rule, o := g.orient(rec, src, dst)
	g.rules[rule] += rec.Count
	if o == flows.Reply {
		g.Replies += rec.Count
		return
	}
	k := Key{Src: src, Dst: dst, Proto: rec.Proto, Port: rec.DstPort, Denied: rec.Action == flows.ActionReject}
	if !hasPorts(rec.Proto) {
		k.Port = 0
	}
	if o == flows.Unoriented {
		k.Ambiguous, k.SrcPort = true, rec.SrcPort
		if _, ok := g.flows[k]; !ok && g.ambiguous >= maxAmbiguous {
			k.SrcPort = 0
		}
	}
	c := g.flows[k]
	if c == nil {
		c = &Counts{First: model.Source{File: file, Line: rec.Line}, SrcAddr: rec.Src, DstAddr: rec.Dst}
		g.flows[k] = c
		if k.Ambiguous {
			g.ambiguous++
		}
	}
	c.Records += rec.Count
	if g.idx.IsAddress(src) || g.idx.exact[src].Kind == KindNode {
		c.SrcAddrs.Add(rec.Src)
	}
	if g.idx.IsAddress(dst) || g.idx.exact[dst].Kind == KindNode {
		c.DstAddrs.Add(rec.Dst)
	}
	switch rec.Action {
	case flows.ActionAccept:
		c.Accepted += rec.Count
	case flows.ActionReject:
		c.Rejected += rec.Count
	}
}

func (g *Aggregator) endpoint(ip netip.Addr, pod, workload string) ID {
	id := g.idx.Lookup(ip)
	if g.idx.IsAddress(id) && (pod != "" || workload != "") {
		if named, ok := g.idx.ByName(pod, workload); ok {
			return named
		}
	}
	return id
}

func hasPorts(proto uint8) bool {
	return proto == flows.ProtoTCP || proto == flows.ProtoUDP || proto == flows.ProtoSCTP
}

// ephemeral is where Linux (and so EKS nodes and most clients) picks
// source ports: net.ipv4.ip_local_port_range defaults to 32768-60999, and
// other systems use 49152-65535.
const ephemeral = 32768

// orient tells whether a record opens a connection or answers one, and by
// which rule. When the input does not say (the default VPC flow log format
// has no TCP flags; long-lived connections log records with flags 0 or
// FIN only), the ports do: a port the endpoint listens on is the server's;
// else, when only one of the two ports is ephemeral, the other is the
// service port; else, when only one is below 1024, that one. Otherwise the
// record is left unoriented for Flows (mirror images) and whatif (the
// statefulness of security groups).
func (g *Aggregator) orient(rec *flows.Record, src, dst ID) (rule, flows.Orientation) {
	if rec.Orientation != flows.Unoriented {
		return ruleMarked, rec.Orientation
	}
	if !hasPorts(rec.Proto) {
		return ruleNoPorts, flows.Request
	}
	dstListens := !g.idx.IsAddress(dst) && g.idx.exact[dst].listens(rec.DstPort)
	srcListens := !g.idx.IsAddress(src) && g.idx.exact[src].listens(rec.SrcPort)
	switch {
	case dstListens && !srcListens:
		return ruleListening, flows.Request
	case srcListens && !dstListens:
		return ruleListening, flows.Reply
	}
	switch {
	case rec.SrcPort >= ephemeral && rec.DstPort < ephemeral:
		return ruleServicePort, flows.Request
	case rec.DstPort >= ephemeral && rec.SrcPort < ephemeral:
		return ruleServicePort, flows.Reply
	case rec.DstPort < 1024 && rec.SrcPort >= 1024:
		return ruleWellKnown, flows.Request
	case rec.SrcPort < 1024 && rec.DstPort >= 1024:
		return ruleWellKnown, flows.Reply
	}
	return ruleAmbiguous, flows.Unoriented
}

// Flow is one distinct flow and its counts. An ambiguous flow may carry
// the records of its mirror image (the other direction of the same
// conversation: endpoints swapped, ports swapped) in Mirror.
type Flow struct {
	Key
	Counts
	Mirror *Counts
}

// resolve orients the undecided flows that the oriented ones explain: the
// mirror image of an oriented connection is its replies, the same
// direction as one is more of it.
func (g *Aggregator) resolve() {
	if g.resolved {
		return
	}
	g.resolved = true
	var amb []Key
	for k := range g.flows {
		if k.Ambiguous {
			amb = append(amb, k)
		}
	}
	sortKeys(amb)
	for _, k := range amb {
		c := g.flows[k]
		same := Key{Src: k.Src, Dst: k.Dst, Proto: k.Proto, Port: k.Port, Denied: k.Denied}
		if known := g.flows[same]; known != nil {
			known.add(c)
		} else if !g.oriented(Key{Src: k.Dst, Dst: k.Src, Proto: k.Proto, Port: k.SrcPort}) || k.SrcPort == 0 {
			continue
		} else {
			g.Replies += c.Records
		}
		g.rules[ruleAmbiguous] -= c.Records
		g.rules[ruleMirrorKnown] += c.Records
		delete(g.flows, k)
	}
}

// oriented reports whether a connection was oriented by a rule (accepted
// or rejected).
func (g *Aggregator) oriented(k Key) bool {
	if _, ok := g.flows[k]; ok {
		return true
	}
	k.Denied = !k.Denied
	_, ok := g.flows[k]
	return ok
}

// Classified says how many records each rule oriented.
func (g *Aggregator) Classified() []RuleCount {
	g.resolve()
	var out []RuleCount
	for r, n := range g.rules {
		if n > 0 {
			out = append(out, RuleCount{Rule: ruleNames[r], Records: n})
		}
	}
	return out
}

// Flows returns the distinct flows, sorted by source, destination,
// protocol and port. Undecided flows whose mirror image is also undecided
// come as one, with the mirror's records.
func (g *Aggregator) Flows() []Flow {
	g.resolve()
	out := make([]Flow, 0, len(g.flows))
	paired := map[Key]bool{}
	for k, c := range g.flows {
		if paired[k] {
			continue
		}
		f := Flow{Key: k, Counts: *c}
		if k.Ambiguous && k.SrcPort != 0 {
			m := Key{Src: k.Dst, Dst: k.Src, Proto: k.Proto, Port: k.SrcPort, SrcPort: k.Port, Ambiguous: true, Denied: k.Denied}
			if mc, ok := g.flows[m]; ok && m != k {
				// One of the pair stands for both: the lesser key.
				if lessKey(m, k) {
					continue
				}
				mcopy := *mc
				f.Mirror = &mcopy
				paired[m] = true
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return lessKey(out[i].Key, out[j].Key) })
	return out
}

func lessKey(a, b Key) bool {
	if a.Src != b.Src {
		return a.Src < b.Src
	}
	if a.Dst != b.Dst {
		return a.Dst < b.Dst
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	if a.Denied != b.Denied {
		return !a.Denied
	}
	if a.Ambiguous != b.Ambiguous {
		return !a.Ambiguous
	}
	return a.SrcPort < b.SrcPort
}

func sortKeys(ks []Key) { sort.Slice(ks, func(i, j int) bool { return lessKey(ks[i], ks[j]) }) }

// Index returns the index the aggregator classifies with.
func (g *Aggregator) Index() *Index { return g.idx }

// Merge adds the records of another aggregator over the same index (one
// that read other files), before Flows is called. A flow's first record
// stays this aggregator's when both have it: merge in input order.
func (g *Aggregator) Merge(o *Aggregator) {
	g.Records += o.Records
	g.Replies += o.Replies
	for i, n := range o.rules {
		g.rules[i] += n
	}
	for k, c := range o.flows {
		if k.Ambiguous && k.SrcPort != 0 {
			if _, ok := g.flows[k]; !ok && g.ambiguous >= maxAmbiguous {
				k.SrcPort = 0
			}
		}
		cur := g.flows[k]
		if cur == nil {
			cc := *c
			g.flows[k] = &cc
			if k.Ambiguous {
				g.ambiguous++
			}
			continue
		}
		cur.add(c)
	}
}
