// Package focus narrows results to the traffic a reader asks about: from
// some peers, to some others, on a port. It is a filter over what the
// engine computed (connections, exposures, a diff's changes), never an
// input to the analysis, so a focused answer is the same answer, shorter.
package focus

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/diff"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	"k8s.io/apimachinery/pkg/labels"
)

// End is one side of the focus: a namespace, a workload (namespace/name,
// and its roles and pods), a label selector over the pods' labels, or a set
// of addresses (an IP, a CIDR, or a named destination such as internet or
// aws:S3:us-east-1).
type End struct {
	text      string
	namespace string
	workload  string
	selector  labels.Selector
	set       *netipx.IPSet
}

// Named resolves a named destination (internet, imds, aws:<SERVICE>:<region>)
// to its addresses; the caller owns the ranges publication.
type Named func(name string) (*netipx.IPSet, error)

// IsNamed reports whether a focus end is a named destination.
type IsNamed func(name string) bool

// ParseEnd reads one end. Empty text is nil: no restriction.
func ParseEnd(text string, isNamed IsNamed, named Named) (*End, error) {
	if text == "" {
		return nil, nil
	}
	e := &End{text: text}
	switch {
	case isNamed != nil && isNamed(text):
		set, err := named(text)
		if err != nil {
			return nil, err
		}
		e.set = set
	case strings.ContainsAny(text, "=!()") || strings.Contains(text, " in ") || strings.Contains(text, " notin "):
		sel, err := labels.Parse(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not a label selector: %v", text, err)
		}
		e.selector = sel
	default:
		if p, err := netip.ParsePrefix(text); err == nil {
			var b netipx.IPSetBuilder
			b.AddPrefix(p.Masked())
			e.set, _ = b.IPSet()
		} else if a, err := netip.ParseAddr(text); err == nil {
			var b netipx.IPSetBuilder
			b.Add(a)
			e.set, _ = b.IPSet()
		} else if strings.Contains(text, "/") {
			e.workload = strings.TrimSuffix(text, "/")
		} else {
			e.namespace = text
		}
	}
	return e, nil
}

// String is the end as given.
func (e *End) String() string { return e.text }

// Peer reports whether a peer is in this end. A selector on a label whose
// value is set at run time may match: such peers are kept.
func (e *End) Peer(p *engine.Peer) bool {
	if e == nil {
		return true
	}
	if p.Kind == engine.KindExternal {
		return e.set != nil && netset.Overlaps(e.set, cidrs(p.CIDRs))
	}
	switch {
	case e.namespace != "":
		return p.Namespace == e.namespace
	case e.workload != "":
		return p.ID == e.workload || strings.HasPrefix(p.ID, e.workload+"/")
	case e.selector != nil:
		if p.Pods != nil {
			return matches(e.selector, p.Pods.Labels, p.Pods.VaryingLabels)
		}
		if p.Workload != nil {
			for _, t := range p.Workload.Pods {
				if matches(e.selector, t.Labels, t.VaryingLabels) {
					return true
				}
			}
		}
	}
	return false
}

func matches(sel labels.Selector, l map[string]string, varying []string) bool {
	if sel.Matches(labels.Set(l)) {
		return true
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		for _, v := range varying {
			if r.Key() == v {
				return true
			}
		}
	}
	return false
}

// Name reports whether a name as outputs print it is in this end: a peer
// ID (looked up in peers), or a comma-separated list of address prefixes.
func (e *End) Name(name string, peers map[string]*engine.Peer) bool {
	if e == nil {
		return true
	}
	if p := peers[name]; p != nil {
		return e.Peer(p)
	}
	if set := cidrs(strings.Split(name, ",")); set != nil && len(set.Prefixes()) > 0 {
		return e.set != nil && netset.Overlaps(e.set, set)
	}
	return false
}

func cidrs(list []string) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, c := range list {
		if p, err := netip.ParsePrefix(c); err == nil {
			b.AddPrefix(p)
		}
	}
	s, _ := b.IPSet()
	return s
}

// Focus is --from, --to and --port.
type Focus struct {
	From, To *End
	// Ports, when set, is the port asked about.
	Ports *netset.Ports
}

// Empty reports whether the focus keeps everything.
func (f *Focus) Empty() bool { return f == nil || (f.From == nil && f.To == nil && f.Ports == nil) }

// Allow returns what a connection allows within the focus' port, and
// whether anything is left.
func (f *Focus) Allow(p netset.Ports) (netset.Ports, bool) {
	if f.Ports == nil {
		return p, true
	}
	p = p.Intersect(*f.Ports)
	return p, !p.IsEmpty()
}

// Result keeps the connections (and self traffic) of the focus, narrowed
// to its port, the peers they name, and the exposures whose backends are
// in --to (none when --from names something other than the internet).
func (f *Focus) Result(r *engine.Result, fromInternet bool) *engine.Result {
	if f.Empty() {
		return r
	}
	byID := map[string]*engine.Peer{}
	for _, p := range r.Peers {
		byID[p.ID] = p
	}
	out := *r
	keep := func(cs []engine.Connection) []engine.Connection {
		kept := []engine.Connection{}
		for _, c := range cs {
			if !f.From.Name(c.Src, byID) || !f.To.Name(c.Dst, byID) {
				continue
			}
			allow, ok := f.Allow(c.Allow)
			if !ok {
				continue
			}
			c.Allow = allow
			kept = append(kept, c)
		}
		return kept
	}
	out.Connections, out.Self = keep(r.Connections), keep(r.Self)
	named := map[string]bool{}
	for _, c := range append(append([]engine.Connection{}, out.Connections...), out.Self...) {
		named[c.Src], named[c.Dst] = true, true
	}
	out.Peers = nil
	for _, p := range r.Peers {
		if named[p.ID] {
			out.Peers = append(out.Peers, p)
		}
	}
	out.Exposures = nil
	if f.From == nil || fromInternet {
		for _, e := range r.Exposures {
			for _, b := range e.Backends {
				if f.To.Name(b, byID) {
					out.Exposures = append(out.Exposures, e)
					break
				}
			}
		}
	}
	return &out
}

// Diff keeps the changes of the focus: connections between its ends on its
// port (narrowed to it), exposures and openings to unknown namespaces into
// --to (only when --from is empty or the internet), and every finding (a
// finding is about an object, not a pair). peers names the peers of both
// sides. The caller tallies the result again.
func (f *Focus) Diff(d *diff.Diff, peers map[string]*engine.Peer, fromInternet bool) *diff.Diff {
	if f.Empty() {
		return d
	}
	out := *d
	out.Connections = []diff.Connection{}
	for _, c := range d.Connections {
		if !f.From.Name(c.Src, peers) || !f.To.Name(c.Dst, peers) {
			continue
		}
		if f.Ports != nil {
			// Only changes on the port: a layer's verdict that changed
			// elsewhere is out of the focus.
			c.Before, _ = f.Allow(c.Before)
			c.After, _ = f.Allow(c.After)
			c.Opened, _ = f.Allow(c.Opened)
			c.Closed, _ = f.Allow(c.Closed)
			if c.Opened.IsEmpty() && c.Closed.IsEmpty() {
				continue
			}
		}
		out.Connections = append(out.Connections, c)
	}
	out.Exposures = []diff.Exposure{}
	out.Unseen = []diff.UnseenChange{}
	if f.From == nil || fromInternet {
		for _, e := range d.Exposures {
			for _, b := range e.Backends {
				if f.To.Name(b, peers) {
					out.Exposures = append(out.Exposures, e)
					break
				}
			}
		}
	}
	if f.From == nil {
		for _, u := range d.Unseen {
			if f.To.Name(u.Workload, peers) {
				out.Unseen = append(out.Unseen, u)
			}
		}
	}
	return &out
}
