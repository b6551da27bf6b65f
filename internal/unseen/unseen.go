// Package unseen finds the workloads that accept traffic from pods the
// inputs do not hold: pods of namespaces that do not exist yet (or were not
// read), which a namespaceSelector would admit as soon as they appear. The
// reachability of the inputs cannot show these, since no peer stands for
// them; a reviewer still needs to know that creating a namespace with the
// right labels opens the way.
package unseen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/selection"
)

// nameLabel is the label every namespace carries with its own name.
const nameLabel = "kubernetes.io/metadata.name"

// Reasons a workload admits unknown pods.
const (
	// NotIsolated: no policy isolates the workload for ingress, so any pod
	// of any namespace, present or future, may connect.
	NotIsolated = "not-isolated"
	// AnyPeer: an ingress rule without `from` admits every source.
	AnyPeer = "any-peer"
	// NamespaceSelector: a rule's namespaceSelector matches namespaces
	// that are not in the inputs.
	NamespaceSelector = "namespace-selector"
	// TierAccept: an Accept (Allow) ingress rule of an Admin-tier policy
	// (docs/tiers.md) admits namespaces that are not in the inputs,
	// whatever NetworkPolicies say.
	TierAccept = "tier-accept"
)

// Opening is one way pods not in the inputs may connect to a workload.
type Opening struct {
	Workload string `json:"workload"`
	Reason   string `json:"reason"`
	// Policy and Rule name the ingress rule ("ingress[0]"); absent for
	// NotIsolated.
	Policy string `json:"policy,omitempty"`
	Rule   string `json:"rule,omitempty"`
	// Peer is the rule's peer as written; Ports what the rule admits.
	Peer   string `json:"peer,omitempty"`
	Ports  string `json:"ports,omitempty"`
	Source string `json:"source,omitempty"`
	// Tiers names, for NotIsolated, the tiered policies that also decide
	// the workload's ingress: one of their Deny rules may close it.
	Tiers []string `json:"tiers,omitempty"`
}

// Key identifies an opening across two versions of the inputs: everything
// but where it is written.
func (o Opening) Key() string {
	return strings.Join([]string{o.Workload, o.Reason, o.Policy, o.Rule, o.Peer, o.Ports}, "|")
}

// String describes the opening in one line.
func (o Opening) String() string {
	switch o.Reason {
	case NotIsolated:
		if len(o.Tiers) > 0 {
			return o.Workload + ": not isolated for ingress by NetworkPolicies; pods of any namespace, including ones not in the inputs, may connect unless a Deny of the tiered policies " + strings.Join(o.Tiers, ", ") + " covers them"
		}
		return o.Workload + ": not isolated for ingress; pods of any namespace, including ones not in the inputs, may connect"
	case TierAccept:
		return fmt.Sprintf("%s: %s %s (%s) accepts %s, which namespaces not in the inputs would match, on %s", o.Workload, o.Policy, o.Rule, o.Source, o.Peer, o.Ports)
	case AnyPeer:
		return fmt.Sprintf("%s: NetworkPolicy %s %s (%s) admits every source, including namespaces not in the inputs, on %s", o.Workload, o.Policy, o.Rule, o.Source, o.Ports)
	}
	return fmt.Sprintf("%s: NetworkPolicy %s %s (%s) admits %s, which namespaces not in the inputs would match, on %s", o.Workload, o.Policy, o.Rule, o.Source, o.Peer, o.Ports)
}

// Find lists, workload by workload, the openings to pods not in the
// inputs, sorted. Host-network pods are left to the engine's notes: no
// policy applies to them at all.
func Find(w *model.World, a *engine.Analysis) []Opening {
	known := map[string]bool{}
	for _, ns := range w.Namespaces {
		known[ns.Name] = true
	}
	for _, wl := range w.Workloads {
		known[wl.Namespace] = true
	}
	var out []Opening
	for _, p := range a.Peers() {
		if p.Kind == engine.KindExternal || p.HostNetwork {
			continue
		}
		if ingress, _ := p.Isolated(); !ingress {
			o := Opening{Workload: p.ID, Reason: NotIsolated}
			tiers, _ := p.Tiered()
			for _, t := range tiers {
				o.Tiers = append(o.Tiers, t.Ref().String())
			}
			out = append(out, o)
		}
	}
	out = append(out, tierAccepts(w, a, known)...)
	for _, pol := range w.Policies {
		if !isolatesIngress(pol) {
			continue
		}
		var open []Opening
		for i, r := range pol.Spec.Ingress {
			src := pol.Source.String()
			if i < len(pol.IngressRules) {
				src = pol.IngressRules[i].String()
			}
			o := Opening{Policy: pol.Namespace + "/" + pol.Name, Rule: fmt.Sprintf("ingress[%d]", i), Ports: portsString(r.Ports), Source: src}
			if len(r.From) == 0 {
				o.Reason = AnyPeer
				open = append(open, o)
				continue
			}
			for _, peer := range r.From {
				if peer.NamespaceSelector == nil || !future(peer.NamespaceSelector, known) {
					continue
				}
				o.Reason = NamespaceSelector
				o.Peer = peerString(peer)
				open = append(open, o)
			}
		}
		if len(open) == 0 {
			continue
		}
		for _, p := range a.SelectedBy(pol) {
			if p.HostNetwork {
				continue
			}
			for _, o := range open {
				o.Workload = p.ID
				out = append(out, o)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// isolatesIngress reports whether a policy isolates the pods it selects
// for ingress: policyTypes says so, or is empty (then Ingress is implied).
func isolatesIngress(p *model.NetworkPolicy) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return true
	}
	for _, t := range p.Spec.PolicyTypes {
		if t == networkingv1.PolicyTypeIngress {
			return true
		}
	}
	return false
}

// future reports whether a namespace selector can match a namespace that
// is not in the inputs. A new namespace may carry any labels but its own
// name, and cannot take an existing name; so only a selector that pins
// kubernetes.io/metadata.name to existing names (or requires it to be
// absent, which no namespace is) is closed to new namespaces. Selectors
// that cannot be parsed are reported as open: unknown is not safe.
func future(sel *metav1.LabelSelector, known map[string]bool) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return true
	}
	reqs, _ := s.Requirements()
	for _, r := range reqs {
		if r.Key() != nameLabel {
			continue
		}
		switch r.Operator() {
		case selection.DoesNotExist:
			return false
		case selection.In, selection.Equals, selection.DoubleEquals:
			allKnown := true
			for _, v := range r.Values().List() {
				allKnown = allKnown && known[v]
			}
			if allKnown {
				return false
			}
		}
	}
	return true
}

func peerString(p networkingv1.NetworkPolicyPeer) string {
	s := "namespaces " + selectorString(p.NamespaceSelector)
	if p.PodSelector != nil {
		s = "pods " + selectorString(p.PodSelector) + " in " + s
	}
	return s
}

func selectorString(s *metav1.LabelSelector) string {
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "{} (all)"
	}
	return "{" + metav1.FormatLabelSelector(s) + "}"
}

// portsString writes a rule's ports as given: "all ports", or "TCP 443,
// UDP 53, TCP http".
func portsString(ports []networkingv1.NetworkPolicyPort) string {
	if len(ports) == 0 {
		return "all ports"
	}
	var parts []string
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		switch {
		case p.Port == nil:
			parts = append(parts, proto+" all")
		case p.EndPort != nil:
			parts = append(parts, fmt.Sprintf("%s %s-%d", proto, p.Port.String(), *p.EndPort))
		default:
			parts = append(parts, proto+" "+p.Port.String())
		}
	}
	return strings.Join(parts, ", ")
}

// tierAccepts lists the Accept ingress rules of Admin-tier policies whose
// peers namespaces not in the inputs would match: they admit whatever the
// NetworkPolicies say. A Deny ahead of one may close it again; reporting
// it anyway errs toward a reviewer's eye. A Baseline Accept decides only
// for pods no NetworkPolicy isolates, which NotIsolated reports already.
func tierAccepts(w *model.World, a *engine.Analysis, known map[string]bool) []Opening {
	var out []Opening
	for _, tp := range w.TierPolicies {
		if tp.Tier != model.TierAdmin {
			continue
		}
		var open []Opening
		for i, r := range tp.Ingress {
			if r.Action != model.ActionAccept {
				continue
			}
			rule := fmt.Sprintf("ingress[%d]", i)
			if r.Name != "" {
				rule += " " + r.Name
			}
			for _, sel := range r.Selectors {
				if !future(&sel.Namespaces, known) {
					continue
				}
				peer := "namespaces " + selectorString(&sel.Namespaces)
				if sel.Pods != nil {
					peer = "pods " + selectorString(sel.Pods) + " in " + peer
				}
				open = append(open, Opening{Reason: TierAccept, Policy: tp.Ref().String(), Rule: rule, Peer: peer, Ports: portsString(r.Ports), Source: r.Source.String()})
			}
		}
		if len(open) == 0 {
			continue
		}
		for _, p := range a.SelectedByTier(tp) {
			if p.HostNetwork {
				continue
			}
			for _, o := range open {
				o.Workload = p.ID
				out = append(out, o)
			}
		}
	}
	return out
}
