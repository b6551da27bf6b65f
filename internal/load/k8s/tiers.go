package k8s

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The tiered policy kinds, adapted into model.TierPolicy (and, for the
// EKS ApplicationNetworkPolicy, into model.NetworkPolicy: it is unioned
// with NetworkPolicies). Each API group's CRD validation is applied: an
// object the API server would reject never takes effect.

// tierKind says how one kind's fields are spelled.
type tierKind struct {
	// tiered: spec.tier is read (ClusterNetworkPolicy); otherwise tier is
	// fixed.
	tiered bool
	tier   model.Tier
	// priority: spec.priority is required.
	priority bool
	// protocols: ports are spec.*.protocols (v1alpha2), not ports.
	protocols bool
	// actions maps the kind's spellings to the model's.
	actions map[string]model.TierAction
	// upstream: nodes peers are allowed, and domainNames only with Accept.
	upstream bool
}

var (
	acceptDenyPass = map[string]model.TierAction{"Accept": model.ActionAccept, "Deny": model.ActionDeny, "Pass": model.ActionPass}
	allowDenyPass  = map[string]model.TierAction{"Allow": model.ActionAccept, "Deny": model.ActionDeny, "Pass": model.ActionPass}
	allowDeny      = map[string]model.TierAction{"Allow": model.ActionAccept, "Deny": model.ActionDeny}
)

var tierKinds = map[string]tierKind{
	"networking.k8s.aws/v1alpha1/ClusterNetworkPolicy":             {tiered: true, priority: true, actions: acceptDenyPass},
	"policy.networking.k8s.io/v1alpha2/ClusterNetworkPolicy":       {tiered: true, priority: true, protocols: true, actions: acceptDenyPass, upstream: true},
	"policy.networking.k8s.io/v1alpha1/AdminNetworkPolicy":         {tier: model.TierAdmin, priority: true, actions: allowDenyPass, upstream: true},
	"policy.networking.k8s.io/v1alpha1/BaselineAdminNetworkPolicy": {tier: model.TierBaseline, actions: allowDeny, upstream: true},
}

func init() {
	for k, tk := range tierKinds {
		decoders[k] = decodeTierPolicy(tk)
	}
	decoders["networking.k8s.aws/v1alpha1/ApplicationNetworkPolicy"] = decodeApplicationNetworkPolicy
}

// The wire shapes: one struct reads every group's spelling; validation
// then rejects what a kind does not have.
type wireTierPolicy struct {
	Spec struct {
		Tier     string         `json:"tier"`
		Priority *int32         `json:"priority"`
		Subject  wireTierPeer   `json:"subject"`
		Ingress  []wireTierRule `json:"ingress"`
		Egress   []wireTierRule `json:"egress"`
	} `json:"spec"`
}

type wireTierRule struct {
	Name      string          `json:"name"`
	Action    string          `json:"action"`
	From      []wireTierPeer  `json:"from"`
	To        []wireTierPeer  `json:"to"`
	Ports     *[]wireTierPort `json:"ports"`
	Protocols []wireProtocol  `json:"protocols"`
}

type wireTierPeer struct {
	Namespaces  *metav1.LabelSelector `json:"namespaces"`
	Pods        *wireNamespacedPod    `json:"pods"`
	Networks    []string              `json:"networks"`
	Nodes       *metav1.LabelSelector `json:"nodes"`
	DomainNames []string              `json:"domainNames"`
}

type wireNamespacedPod struct {
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       metav1.LabelSelector `json:"podSelector"`
}

type wireTierPort struct {
	PortNumber *struct {
		Protocol corev1.Protocol `json:"protocol"`
		Port     int32           `json:"port"`
	} `json:"portNumber"`
	PortRange *struct {
		Protocol corev1.Protocol `json:"protocol"`
		Start    int32           `json:"start"`
		End      int32           `json:"end"`
	} `json:"portRange"`
	NamedPort *string `json:"namedPort"`
}

type wireProtocol struct {
	TCP                  *wireDestination `json:"tcp"`
	UDP                  *wireDestination `json:"udp"`
	SCTP                 *wireDestination `json:"sctp"`
	DestinationNamedPort string           `json:"destinationNamedPort"`
}

type wireDestination struct {
	DestinationPort *struct {
		Number int32 `json:"number"`
		Range  *struct {
			Start int32 `json:"start"`
			End   int32 `json:"end"`
		} `json:"range"`
	} `json:"destinationPort"`
}

func decodeTierPolicy(tk tierKind) kindDecoder {
	return func(d *decoded, o *document.Object, m model.Meta) error {
		var w wireTierPolicy
		if err := d.decode(o, m, &w); err != nil {
			return err
		}
		fail := func(path []any, format string, args ...any) error {
			return &document.Error{Source: o.Source.At(o.Line(path...)), Object: m.Ref().String(), Msg: fieldPath(path) + ": " + fmt.Sprintf(format, args...)}
		}
		p := &model.TierPolicy{Meta: m, Tier: tk.tier}
		if tk.tiered {
			switch model.Tier(w.Spec.Tier) {
			case model.TierAdmin, model.TierBaseline:
				p.Tier = model.Tier(w.Spec.Tier)
			default:
				return fail([]any{"spec", "tier"}, "unsupported value %q: must be Admin or Baseline", w.Spec.Tier)
			}
		} else if w.Spec.Tier != "" {
			return fail([]any{"spec", "tier"}, "%s has no tier field", m.Kind)
		}
		switch {
		case tk.priority && w.Spec.Priority == nil:
			return fail([]any{"spec", "priority"}, "required")
		case tk.priority && (*w.Spec.Priority < 0 || *w.Spec.Priority > 1000):
			return fail([]any{"spec", "priority"}, "%d is out of range 0-1000", *w.Spec.Priority)
		case !tk.priority && w.Spec.Priority != nil:
			return fail([]any{"spec", "priority"}, "%s has no priority: it is a singleton", m.Kind)
		case tk.priority:
			p.Priority = *w.Spec.Priority
		}
		if m.Kind == "BaselineAdminNetworkPolicy" && m.Name != "default" {
			return fail([]any{"metadata", "name"}, "%q: the API server accepts only one BaselineAdminNetworkPolicy, named default", m.Name)
		}
		subj, err := tierSelector([]any{"spec", "subject"}, w.Spec.Subject, fail)
		if err != nil {
			return err
		}
		p.Subject = subj
		for i, r := range w.Spec.Ingress {
			tr, err := tierRule(o, tk, []any{"spec", "ingress", i}, r, false, fail)
			if err != nil {
				return err
			}
			p.Ingress = append(p.Ingress, tr)
		}
		for i, r := range w.Spec.Egress {
			tr, err := tierRule(o, tk, []any{"spec", "egress", i}, r, true, fail)
			if err != nil {
				return err
			}
			p.Egress = append(p.Egress, tr)
		}
		d.obj = p
		return nil
	}
}

// tierSelector reads a subject, or a namespaces/pods peer: exactly one of
// namespaces and pods.
func tierSelector(path []any, w wireTierPeer, fail failFunc) (model.TierSubject, error) {
	var s model.TierSubject
	switch {
	case w.Namespaces != nil && w.Pods != nil:
		return s, fail(path, "may set only one of namespaces and pods")
	case w.Namespaces != nil:
		s.Namespaces = *w.Namespaces
	case w.Pods != nil:
		s.Namespaces, s.Pods = w.Pods.NamespaceSelector, &w.Pods.PodSelector
	default:
		return s, fail(path, "must set namespaces or pods")
	}
	if _, err := metav1.LabelSelectorAsSelector(&s.Namespaces); err != nil {
		return s, fail(path, "%v", err)
	}
	if s.Pods != nil {
		if _, err := metav1.LabelSelectorAsSelector(s.Pods); err != nil {
			return s, fail(path, "%v", err)
		}
	}
	return s, nil
}

func tierRule(o *document.Object, tk tierKind, path []any, w wireTierRule, egress bool, fail failFunc) (model.TierRule, error) {
	r := model.TierRule{Name: w.Name, Source: o.Source.At(o.Line(path...))}
	action, ok := tk.actions[w.Action]
	if !ok {
		var names []string
		for a := range tk.actions {
			names = append(names, a)
		}
		return r, fail(at(path, "action"), "unsupported value %q: must be one of %s", w.Action, strings.Join(sortedStrings(names), ", "))
	}
	r.Action = action
	peers, field := w.From, "from"
	if egress {
		peers, field = w.To, "to"
	} else if len(w.To) > 0 {
		return r, fail(at(path, "to"), "an ingress rule has from, not to")
	}
	if egress && len(w.From) > 0 {
		return r, fail(at(path, "from"), "an egress rule has to, not from")
	}
	if len(peers) == 0 {
		return r, fail(at(path, field), "required: at least one peer")
	}
	for i, peer := range peers {
		pp := at(path, field, i)
		n := 0
		for _, set := range []bool{peer.Namespaces != nil, peer.Pods != nil, len(peer.Networks) > 0, peer.Nodes != nil, len(peer.DomainNames) > 0} {
			if set {
				n++
			}
		}
		if n != 1 {
			return r, fail(pp, "must set exactly one of namespaces, pods, networks, nodes and domainNames")
		}
		switch {
		case peer.Namespaces != nil || peer.Pods != nil:
			s, err := tierSelector(pp, peer, fail)
			if err != nil {
				return r, err
			}
			r.Selectors = append(r.Selectors, s)
		case !egress:
			return r, fail(pp, "an ingress peer is namespaces or pods")
		case len(peer.Networks) > 0:
			for j, c := range peer.Networks {
				if _, err := netip.ParsePrefix(c); err != nil {
					return r, fail(at(pp, "networks", j), "%q is not a valid CIDR", c)
				}
				r.Networks = append(r.Networks, c)
			}
		case peer.Nodes != nil:
			if !tk.upstream {
				return r, fail(at(pp, "nodes"), "this kind has no nodes peer")
			}
			if _, err := metav1.LabelSelectorAsSelector(peer.Nodes); err != nil {
				return r, fail(at(pp, "nodes"), "%v", err)
			}
			r.Nodes = append(r.Nodes, *peer.Nodes)
		default:
			if action != model.ActionAccept {
				return r, fail(at(pp, "domainNames"), "a domainNames peer can only be used with action Accept")
			}
			for j, name := range peer.DomainNames {
				if msg := domainNameProblem(name); msg != "" {
					return r, fail(at(pp, "domainNames", j), "%q: %s", name, msg)
				}
				r.DomainNames = append(r.DomainNames, strings.ToLower(name))
			}
		}
	}
	var err error
	if tk.protocols {
		if w.Ports != nil {
			return r, fail(at(path, "ports"), "v1alpha2 ClusterNetworkPolicy matches ports through protocols")
		}
		r.Ports, err = protocolsPorts(path, w.Protocols, fail)
	} else {
		if len(w.Protocols) > 0 {
			return r, fail(at(path, "protocols"), "this kind matches ports through ports, not protocols")
		}
		if w.Ports != nil {
			r.Ports, err = tierPorts(path, *w.Ports, fail)
			if err == nil && len(r.Ports) == 0 {
				err = fail(at(path, "ports"), "must hold at least one port when set")
			}
		}
	}
	return r, err
}

// domainNameProblem checks a domainNames entry as the CRDs do: a DNS name,
// optionally with one leading "*." wildcard label.
func domainNameProblem(name string) string {
	n := strings.TrimPrefix(name, "*.")
	if msgs := validation.IsDNS1123Subdomain(strings.ToLower(n)); len(msgs) > 0 || !strings.Contains(n, ".") {
		return "not a fully qualified domain name (an optional leading *. wildcard, then DNS labels)"
	}
	return ""
}

func tierPorts(path []any, ports []wireTierPort, fail failFunc) ([]networkingv1.NetworkPolicyPort, error) {
	var out []networkingv1.NetworkPolicyPort
	for i, p := range ports {
		pp := at(path, "ports", i)
		n := 0
		for _, set := range []bool{p.PortNumber != nil, p.PortRange != nil, p.NamedPort != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return nil, fail(pp, "must set exactly one of portNumber, portRange and namedPort")
		}
		switch {
		case p.PortNumber != nil:
			proto, err := tierProtocol(at(pp, "portNumber", "protocol"), p.PortNumber.Protocol, fail)
			if err != nil {
				return nil, err
			}
			if err := portInRange(at(pp, "portNumber", "port"), p.PortNumber.Port, fail); err != nil {
				return nil, err
			}
			port := intstr.FromInt32(p.PortNumber.Port)
			out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
		case p.PortRange != nil:
			proto, err := tierProtocol(at(pp, "portRange", "protocol"), p.PortRange.Protocol, fail)
			if err != nil {
				return nil, err
			}
			np, err := portRange(at(pp, "portRange"), proto, p.PortRange.Start, p.PortRange.End, fail)
			if err != nil {
				return nil, err
			}
			out = append(out, np)
		default:
			if msgs := validation.IsValidPortName(*p.NamedPort); len(msgs) > 0 {
				return nil, fail(at(pp, "namedPort"), "%q: %s", *p.NamedPort, strings.Join(msgs, "; "))
			}
			// A named port has no protocol of its own: it is the
			// container port's. The engine resolves name/TCP, so each
			// protocol is listed.
			for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
				port := intstr.FromString(*p.NamedPort)
				out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
			}
		}
	}
	return out, nil
}

func protocolsPorts(path []any, protocols []wireProtocol, fail failFunc) ([]networkingv1.NetworkPolicyPort, error) {
	var out []networkingv1.NetworkPolicyPort
	for i, p := range protocols {
		pp := at(path, "protocols", i)
		type one struct {
			proto corev1.Protocol
			field string
			dst   *wireDestination
		}
		var set []one
		for _, c := range []one{{corev1.ProtocolTCP, "tcp", p.TCP}, {corev1.ProtocolUDP, "udp", p.UDP}, {corev1.ProtocolSCTP, "sctp", p.SCTP}} {
			if c.dst != nil {
				set = append(set, c)
			}
		}
		switch {
		case len(set)+btoi(p.DestinationNamedPort != "") != 1:
			return nil, fail(pp, "must set exactly one of tcp, udp, sctp and destinationNamedPort")
		case p.DestinationNamedPort != "":
			if msgs := validation.IsValidPortName(p.DestinationNamedPort); len(msgs) > 0 {
				return nil, fail(at(pp, "destinationNamedPort"), "%q: %s", p.DestinationNamedPort, strings.Join(msgs, "; "))
			}
			for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
				port := intstr.FromString(p.DestinationNamedPort)
				out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
			}
			continue
		}
		c := set[0]
		proto := c.proto
		dp := c.dst.DestinationPort
		switch {
		case dp == nil:
			out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto})
		case dp.Range != nil && dp.Number != 0:
			return nil, fail(at(pp, c.field, "destinationPort"), "must set number or range, not both")
		case dp.Range != nil:
			np, err := portRange(at(pp, c.field, "destinationPort", "range"), proto, dp.Range.Start, dp.Range.End, fail)
			if err != nil {
				return nil, err
			}
			out = append(out, np)
		default:
			if err := portInRange(at(pp, c.field, "destinationPort", "number"), dp.Number, fail); err != nil {
				return nil, err
			}
			port := intstr.FromInt32(dp.Number)
			out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
		}
	}
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func tierProtocol(path []any, p corev1.Protocol, fail failFunc) (corev1.Protocol, error) {
	switch p {
	case "":
		return corev1.ProtocolTCP, nil
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return p, nil
	}
	return "", fail(path, "unsupported protocol %q: must be TCP, UDP or SCTP", p)
}

func portInRange(path []any, n int32, fail failFunc) error {
	if n < 1 || n > 65535 {
		return fail(path, "%d is out of range 1-65535", n)
	}
	return nil
}

func portRange(path []any, proto corev1.Protocol, start, end int32, fail failFunc) (networkingv1.NetworkPolicyPort, error) {
	if err := portInRange(at(path, "start"), start, fail); err != nil {
		return networkingv1.NetworkPolicyPort{}, err
	}
	if err := portInRange(at(path, "end"), end, fail); err != nil {
		return networkingv1.NetworkPolicyPort{}, err
	}
	if start >= end {
		return networkingv1.NetworkPolicyPort{}, fail(path, "start (%d) must be less than end (%d)", start, end)
	}
	port := intstr.FromInt32(start)
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port, EndPort: &end}, nil
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// decodeApplicationNetworkPolicy reads an EKS ApplicationNetworkPolicy
// as the NetworkPolicy it is, its domainNames peers kept per egress rule.
func decodeApplicationNetworkPolicy(d *decoded, o *document.Object, m model.Meta) error {
	var w struct {
		Spec struct {
			PodSelector metav1.LabelSelector                    `json:"podSelector"`
			PolicyTypes []networkingv1.PolicyType               `json:"policyTypes"`
			Ingress     []networkingv1.NetworkPolicyIngressRule `json:"ingress"`
			Egress      []struct {
				Ports []networkingv1.NetworkPolicyPort `json:"ports"`
				To    []struct {
					networkingv1.NetworkPolicyPeer `json:",inline"`
					DomainNames                    []string `json:"domainNames"`
				} `json:"to"`
			} `json:"egress"`
		} `json:"spec"`
	}
	if err := d.decode(o, m, &w); err != nil {
		return err
	}
	fail := func(path []any, format string, args ...any) error {
		return &document.Error{Source: o.Source.At(o.Line(path...)), Object: m.Ref().String(), Msg: fieldPath(path) + ": " + fmt.Sprintf(format, args...)}
	}
	np := networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PodSelector: w.Spec.PodSelector, PolicyTypes: w.Spec.PolicyTypes, Ingress: w.Spec.Ingress}}
	p := &model.NetworkPolicy{Meta: m}
	hasDomains := false
	for i, r := range w.Spec.Egress {
		er := networkingv1.NetworkPolicyEgressRule{Ports: r.Ports}
		var domains []string
		for j, peer := range r.To {
			if len(peer.DomainNames) == 0 {
				er.To = append(er.To, peer.NetworkPolicyPeer)
				continue
			}
			if peer.PodSelector != nil || peer.NamespaceSelector != nil || peer.IPBlock != nil {
				return fail([]any{"spec", "egress", i, "to", j}, "domainNames cannot be combined with podSelector, namespaceSelector or ipBlock")
			}
			for k, name := range peer.DomainNames {
				if msg := domainNameProblem(name); msg != "" {
					return fail([]any{"spec", "egress", i, "to", j, "domainNames", k}, "%q: %s", name, msg)
				}
				domains = append(domains, strings.ToLower(name))
			}
		}
		hasDomains = hasDomains || len(domains) > 0
		np.Spec.Egress = append(np.Spec.Egress, er)
		p.EgressDomains = append(p.EgressDomains, domains)
	}
	if !hasDomains {
		p.EgressDomains = nil
	}
	if err := validateNetworkPolicy(o, m, &np); err != nil {
		return err
	}
	p.Spec = np.Spec
	for i := range np.Spec.Ingress {
		p.IngressRules = append(p.IngressRules, o.Source.At(o.Line("spec", "ingress", i)))
	}
	for i := range np.Spec.Egress {
		p.EgressRules = append(p.EgressRules, o.Source.At(o.Line("spec", "egress", i)))
	}
	d.obj = p
	return nil
}

// isTiered reports whether an object is of a tiered kind read into the
// model: those are cluster-scoped.
func isTiered(apiVersion, kind string) bool {
	// The key on the stack: a concatenation longer than 32 bytes
	// ("networking.k8s.io/v1/NetworkPolicy") was an allocation an object.
	var buf [64]byte
	key := append(append(append(buf[:0], apiVersion...), '/'), kind...)
	_, ok := tierKinds[string(key)]
	return ok
}

// sortTiers orders tiered policies as the World promises.
func sortTiers(ps []*model.TierPolicy) { model.SortTiers(ps) }
