package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

// Observed flows are judged with their real addresses: an ipBlock matches a
// pod whose observed address it holds, and a security group rule the
// address it admits, so no partition of the address space is needed.

// FlowEnd is one end of an observed flow.
type FlowEnd struct {
	// Peer is the workload (or role) whose pod sent or received the flow;
	// nil for an address outside the cluster's pods.
	Peer *Peer
	// Addr is the observed address.
	Addr netip.Addr
	// Groups are the security groups of an address that is not a pod's
	// (a node's instance); a peer's come from its placement.
	Groups []string
}

// FlowVerdict is the verdict on one flow across both fences.
type FlowVerdict struct {
	Allowed bool `json:"allowed"`
	// Unknown: the flow may be allowed or denied. Policies of kinds
	// ringfence does not evaluate, or could not read, select one end
	// (Reasons say which), and no security group denies it. Allowed is
	// false then.
	Unknown bool     `json:"unknown,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Denials say which fence denies the flow, side by side.
	Denials []Denial `json:"denials,omitempty"`
	// Notes say what could not be judged, or holds only on some nodes.
	Notes []string `json:"notes,omitempty"`
}

// Denial is one fence's refusal.
type Denial struct {
	// Layer is "NetworkPolicy", "security groups", "network ACL" or
	// "route"; Direction "reply ingress" / "reply egress" for a network
	// ACL that drops the connection's replies.
	Layer string `json:"layer"`
	// Direction is "egress" (the source's side) or "ingress".
	Direction string `json:"direction"`
	// Of is the peer or address whose fence refuses.
	Of string `json:"of"`
	// By lists what isolates that side and has no rule for the flow: the
	// NetworkPolicies (namespace/name, file:line), or the security groups.
	By []string `json:"by"`
}

// String renders the denial in one line.
func (d Denial) String() string {
	return fmt.Sprintf("%s %s of %s: no rule admits it in %s", d.Layer, d.Direction, d.Of, strings.Join(d.By, "; "))
}

// JudgeFlow judges traffic from src to dst on a protocol and port: the
// source's egress and the destination's ingress under the NetworkPolicies,
// then the security groups of both sides when they are in the inputs.
func (a *Analysis) JudgeFlow(src, dst FlowEnd, protocol netset.Protocol, port int32) FlowVerdict {
	var v FlowVerdict
	srcID, dstID := flowIdentity(src), flowIdentity(dst)
	if srcID != nil && !srcID.hostNetwork && len(srcID.egress) > 0 {
		if !flowAdmitted(srcID.egress, true, dstID, dst.Addr, dstID, protocol, port) {
			v.Denials = append(v.Denials, Denial{Layer: "NetworkPolicy", Direction: "egress", Of: src.Peer.ID, By: policyNames(srcID.egress)})
		}
	}
	if dstID != nil && !dstID.hostNetwork && len(dstID.ingress) > 0 {
		if !flowAdmitted(dstID.ingress, false, srcID, src.Addr, dstID, protocol, port) {
			v.Denials = append(v.Denials, Denial{Layer: "NetworkPolicy", Direction: "ingress", Of: dst.Peer.ID, By: policyNames(dstID.ingress)})
		}
	}
	if a.sg != nil {
		srcGroups, dstGroups := flowGroups(src, srcID), flowGroups(dst, dstID)
		sameNode := srcID != nil && dstID != nil && !srcID.ownENI && !dstID.ownENI && shareNode(srcID.nodes, dstID.nodes)
		side := func(groups, other []string, otherAddr netip.Addr, egress bool, of string) {
			if len(groups) == 0 {
				return
			}
			if !a.sg.known(groups) {
				v.Notes = append(v.Notes, fmt.Sprintf("the security groups of %s (%s) are not all in the inputs: that side is not judged", of, strings.Join(groups, ",")))
				return
			}
			// An address of the private space whose groups are not known
			// (a load balancer's, an endpoint's) may carry any group.
			unknown := other == nil && otherAddr.IsValid() && privateSpace.Contains(otherAddr)
			admitted, maybe := a.sg.flowAdmitted(groups, other, unknown, otherAddr, egress, protocol, port)
			if admitted {
				if maybe != "" {
					v.Notes = append(v.Notes, fmt.Sprintf("security group %s may admit it (a rule %s; the inputs do not say which applies)", strings.Join(groups, ","), maybe))
				}
				return
			}
			dir := map[bool]string{true: "egress", false: "ingress"}[egress]
			v.Denials = append(v.Denials, Denial{Layer: "security groups", Direction: dir, Of: of, By: a.sg.names(groups)})
			if sameNode {
				v.Notes = append(v.Notes, "the security groups deny it between nodes; two pods on one node talk without crossing an interface")
			}
		}
		// Security groups never filter the instance's link-local services.
		if !a.sg.unfiltered.Contains(dst.Addr) {
			side(srcGroups, dstGroups, dst.Addr, true, endName(src))
		}
		side(dstGroups, srcGroups, src.Addr, false, endName(dst))
	}
	if a.net != nil {
		a.net.judgeFlow(&v, src, dst, protocol, port)
	}
	v.Allowed = len(v.Denials) == 0
	// Policies the engine does not evaluate may allow what the
	// NetworkPolicies deny, or deny what they allow; they cannot undo a
	// security group's denial.
	var doubt []string
	for _, id := range []*identity{srcID, dstID} {
		if id != nil && !id.hostNetwork {
			doubt = append(doubt, id.doubt...)
		}
	}
	if len(doubt) > 0 && !deniedBy(v.Denials, "security groups") {
		sort.Strings(doubt)
		v.Allowed, v.Unknown, v.Reasons = false, true, slices.Compact(doubt)
	}
	return v
}

func deniedBy(ds []Denial, layer string) bool {
	for _, d := range ds {
		if d.Layer == layer {
			return true
		}
	}
	return false
}

func flowIdentity(e FlowEnd) *identity {
	if e.Peer == nil {
		return nil
	}
	return e.Peer.identity
}

func flowGroups(e FlowEnd, id *identity) []string {
	if id != nil {
		return id.groups
	}
	return e.Groups
}

func endName(e FlowEnd) string {
	if e.Peer != nil {
		return e.Peer.ID
	}
	return e.Addr.String()
}

// flowAdmitted reports whether some rule of the policies admits the other
// end (an identity, or its address) on the port; named ports resolve on
// the destination of the traffic (portsOn).
func flowAdmitted(policies []*policy, egress bool, other *identity, addr netip.Addr, portsOn *identity, protocol netset.Protocol, port int32) bool {
	for _, p := range policies {
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		for _, r := range rules {
			match := r.allPeers || (other != nil && r.peers.has(other.index)) || (r.ips != nil && addr.IsValid() && r.ips.Contains(addr))
			if match && r.allowed(portsOn).Contains(protocol, port) {
				return true
			}
		}
	}
	return false
}

func policyNames(ps []*policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("NetworkPolicy %s/%s (%s)", p.src.Namespace, p.src.Name, p.src.Source))
	}
	sort.Strings(out)
	return out
}

// flowAdmitted reports whether a rule of the groups admits the other end
// (by its address, or a group it carries) on the port. When the other end's
// groups are unknown, a rule naming a group may admit it: byGroup names
// the rule then, as does a rule admitting part of the private space when
// the address is not observed (a pod behind a Service).
func (l *sgLayer) flowAdmitted(groups, other []string, unknown bool, addr netip.Addr, egress bool, protocol netset.Protocol, port int32) (admitted bool, byGroup string) {
	possible := ""
	for _, id := range groups {
		g := l.groups[id]
		rules := g.Ingress
		if egress {
			rules = g.Egress
		}
		for i := range rules {
			r := &rules[i]
			c := l.addrs[r]
			if !c.ports.Contains(protocol, port) {
				continue
			}
			switch {
			case c.set == nil:
			case addr.IsValid() && c.set.Contains(addr):
				return true, ""
			case !addr.IsValid() && covers(c.set, privateSpace):
				// A pod behind a Service: its address is not observed,
				// but every pod address is admitted.
				return true, ""
			case !addr.IsValid() && netset.Overlaps(c.set, privateSpace) && possible == "":
				possible = "admitting part of the private address space"
			}
			for _, ref := range r.Groups {
				for _, o := range other {
					if ref == o {
						return true, ""
					}
				}
				if unknown && possible == "" {
					possible = "naming group " + ref + ", which " + addr.String() + " may carry"
				}
			}
		}
	}
	return possible != "", possible
}

func (l *sgLayer) names(groups []string) []string {
	var out []string
	for _, id := range groups {
		g := l.groups[id]
		out = append(out, fmt.Sprintf("security group %s (%s, %s)", g.ID, g.Name, g.Source))
	}
	return out
}

// PeerOf returns the peer that stands for a workload's pods of one template
// (its role when policies tell roles apart), or nil.
func (a *Analysis) PeerOf(w *model.Workload, t *model.PodTemplate) *Peer {
	return a.peerOf(w, t)
}
