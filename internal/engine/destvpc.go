package engine

import (
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// DestVPC is the VPC layer (network ACLs, routes, gateway endpoints) on
// traffic from a pod to a named destination: how much of it the layer
// allows, and the hops, once per distinct path (parts of the destination
// that every hop treats alike share one).
type DestVPC struct {
	Coverage
	Paths []DestPath `json:"paths"`
}

// DestPath is the VPC path to some blocks of a destination.
type DestPath struct {
	// Addresses are the destination's blocks that take this path.
	Addresses []string `json:"addresses"`
	Verdict   string   `json:"verdict"`
	Path      Path     `json:"path"`
}

// destVPC judges the VPC layer part by part of the destination: the
// parts are cut by every subnet, ACL entry and route block, so each
// fares alike.
func (a *Analysis) destVPC(id *identity, dst *netipx.IPSet, wants func(netset.Ports) bool) (*DestVPC, *netipx.IPSet, *netipx.IPSet) {
	var allowed, maybe netipx.IPSetBuilder
	var missing []string
	byKey := map[string]*DestPath{}
	var order []string
	for _, part := range a.parts {
		x := netset.Intersect(part.part, dst)
		if len(x.Ranges()) == 0 {
			continue
		}
		nv := a.net.partVerdict(id, part.part, true)
		v := nv.all()
		state := StateDenied
		switch {
		case wants(v.Allowed):
			state = StateAllowed
			allowed.AddSet(x)
		case wants(v.Possible()):
			state = StateUnknown
			maybe.AddSet(x)
			missing = append(missing, v.Reasons...)
		}
		for _, p := range nv.paths {
			key := state + "|" + pathKeyText(p)
			dp := byKey[key]
			if dp == nil {
				dp = &DestPath{Verdict: state, Path: p}
				byKey[key] = dp
				order = append(order, key)
			}
			dp.Addresses = append(dp.Addresses, netset.PrefixStrings(x)...)
		}
	}
	in, _ := allowed.IPSet()
	un, _ := maybe.IPSet()
	out := &DestVPC{Coverage: coverage(in, un, dst, nil, "", mergeReasons(netset.AllPorts(), sortedCopy(missing)))}
	for _, k := range order {
		out.Paths = append(out.Paths, *byKey[k])
	}
	return out, in, un
}

// pathKeyText tells paths apart by what they say, not by the addresses
// in their steps' wording.
func pathKeyText(p Path) string {
	var b strings.Builder
	b.WriteString(p.Subnet)
	for _, h := range p.Hops {
		b.WriteString("|" + h.Layer + "|" + h.Allowed.String() + "|" + h.Unknown.String())
		for _, r := range h.ACLRules {
			b.WriteString("|" + r.ACL + ":" + r.RuleNumber)
		}
		for _, r := range h.Routes {
			b.WriteString("|" + r.Table + ":" + r.Route + ":" + r.Outcome)
		}
		b.WriteString("|" + strings.Join(h.Reasons, ";"))
	}
	return b.String()
}

// ifaceLayer is the VPC layer interface endpoints are judged with: the
// analysis's, else one compiled for them alone (the world has interface
// endpoints but neither network ACLs nor route tables).
func (a *Analysis) ifaceLayer() *netLayer {
	if a.net != nil {
		return a.net
	}
	return a.ifaces
}

// hasInterfaceEndpoints reports whether the world has an interface
// endpoint.
func hasInterfaceEndpoints(w *model.World) bool {
	for _, e := range w.Network.Endpoints {
		if e.Type == "Interface" {
			return true
		}
	}
	return false
}
