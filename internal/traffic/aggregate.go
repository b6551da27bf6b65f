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
	// SrcAddrs and DstAddrs are the distinct addresses seen at an end that
	// is an address or a node (what `learn` must name one by one), up to
	// MaxAddrs; SrcMore and DstMore say there were more.
	SrcAddrs, DstAddrs []netip.Addr
	SrcMore, DstMore   bool
}

// MaxAddrs bounds the distinct addresses kept per flow end.
const MaxAddrs = 64

// note records an address seen at an end of the flow.
func note(addrs *[]netip.Addr, more *bool, a netip.Addr) {
	if n := len(*addrs); n > 0 && (*addrs)[n-1] == a {
		return
	}
	for _, b := range *addrs {
		if a == b {
			return
		}
	}
	if len(*addrs) == MaxAddrs {
		*more = true
		return
	}
	*addrs = append(*addrs, a)
}

// Aggregator folds records into distinct flows.
type Aggregator struct {
	idx   *Index
	flows map[Key]*Counts
	// Records counts every record added; Replies those that answer a
	// connection (judged with the connection they answer).
	Records, Replies uint64
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
	if g.reply(rec, src, dst) {
		g.Replies += rec.Count
		return
	}
	k := Key{Src: src, Dst: dst, Proto: rec.Proto, Port: rec.DstPort}
	if !hasPorts(rec.Proto) {
		k.Port = 0
	}
	c := g.flows[k]
	if c == nil {
		c = &Counts{First: model.Source{File: file, Line: rec.Line}, SrcAddr: rec.Src, DstAddr: rec.Dst}
		g.flows[k] = c
	}
	c.Records += rec.Count
	if g.idx.IsAddress(src) || g.idx.exact[src].Kind == KindNode {
		note(&c.SrcAddrs, &c.SrcMore, rec.Src)
	}
	if g.idx.IsAddress(dst) || g.idx.exact[dst].Kind == KindNode {
		note(&c.DstAddrs, &c.DstMore, rec.Dst)
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

// reply tells whether a record answers a connection its destination
// opened. When the input does not say (the default VPC flow log format has
// no TCP flags), the ports do: a port the endpoint listens on is the
// server's; else the ephemeral range (32768 and up) is the client's; else a
// well-known port (below 1024) the server's.
func (g *Aggregator) reply(rec *flows.Record, src, dst ID) bool {
	switch rec.Orientation {
	case flows.Request:
		return false
	case flows.Reply:
		return true
	}
	if !hasPorts(rec.Proto) {
		return false
	}
	if !g.idx.IsAddress(dst) && g.idx.exact[dst].listens(rec.DstPort) {
		return false
	}
	if !g.idx.IsAddress(src) && g.idx.exact[src].listens(rec.SrcPort) {
		return true
	}
	const ephemeral = 32768
	switch {
	case rec.SrcPort >= ephemeral && rec.DstPort < ephemeral:
		return false
	case rec.DstPort >= ephemeral && rec.SrcPort < ephemeral:
		return true
	}
	return rec.SrcPort < 1024 && rec.DstPort >= 1024
}

// Flow is one distinct flow and its counts.
type Flow struct {
	Key
	Counts
}

// Flows returns the distinct flows, sorted by source, destination,
// protocol and port.
func (g *Aggregator) Flows() []Flow {
	out := make([]Flow, 0, len(g.flows))
	for k, c := range g.flows {
		out = append(out, Flow{Key: k, Counts: *c})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key, out[j].Key
		if a.Src != b.Src {
			return a.Src < b.Src
		}
		if a.Dst != b.Dst {
			return a.Dst < b.Dst
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return a.Port < b.Port
	})
	return out
}

// Index returns the index the aggregator classifies with.
func (g *Aggregator) Index() *Index { return g.idx }
