package k8s

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// validateNetworkPolicy applies the API server's validation of
// networking.k8s.io/v1 NetworkPolicy: a policy it would reject never takes
// effect, so analysing it as if it did would print verdicts no cluster
// enforces. Errors point at the rule's line.
func validateNetworkPolicy(o *document.Object, m model.Meta, np *networkingv1.NetworkPolicy) error {
	fail := func(path []any, format string, args ...any) error {
		return &document.Error{Source: o.Source.At(o.Line(path...)), Object: m.Ref().String(), Msg: fieldPath(path) + ": " + fmt.Sprintf(format, args...)}
	}
	if err := selectorError(&np.Spec.PodSelector); err != nil {
		return fail([]any{"spec", "podSelector"}, "%v", err)
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			return fail([]any{"spec", "policyTypes", i}, "unsupported value %q: must be Ingress or Egress", t)
		}
	}
	for i := range np.Spec.Ingress {
		r := &np.Spec.Ingress[i]
		if err := validateRule(rulePath{"ingress", i}, "from", r.Ports, r.From, fail); err != nil {
			return err
		}
	}
	for i := range np.Spec.Egress {
		r := &np.Spec.Egress[i]
		if err := validateRule(rulePath{"egress", i}, "to", r.Ports, r.To, fail); err != nil {
			return err
		}
	}
	return nil
}

type failFunc func(path []any, format string, args ...any) error

func at(base []any, more ...any) []any {
	return append(append([]any(nil), base...), more...)
}

// rulePath is spec.<dir>[i], made into a path only for a message: the
// paths of every rule, port and peer were a tenth of a policy's decoding.
type rulePath struct {
	dir string
	i   int
}

func (r rulePath) at(more ...any) []any {
	return append([]any{"spec", r.dir, r.i}, more...)
}

func validateRule(path rulePath, peersField string, ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer, fail failFunc) error {
	for i := range ports {
		p := &ports[i]
		pp := func(more ...any) []any { return path.at(append([]any{"ports", i}, more...)...) }
		if p.Protocol != nil {
			switch *p.Protocol {
			case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
			default:
				return fail(pp("protocol"), "unsupported protocol %q: must be TCP, UDP or SCTP", *p.Protocol)
			}
		}
		if p.Port != nil {
			if p.Port.Type == intstr.Int {
				if msgs := validation.IsValidPortNum(int(p.Port.IntVal)); len(msgs) > 0 {
					return fail(pp("port"), "%d: %s", p.Port.IntVal, strings.Join(msgs, "; "))
				}
			} else if msgs := portNameErrors(p.Port.StrVal); len(msgs) > 0 {
				return fail(pp("port"), "%q: %s", p.Port.StrVal, strings.Join(msgs, "; "))
			}
		}
		if p.EndPort != nil {
			switch {
			case p.Port == nil:
				return fail(pp("endPort"), "may not be specified when port is not specified")
			case p.Port.Type != intstr.Int:
				return fail(pp("endPort"), "may not be specified when port is a named port")
			case *p.EndPort < p.Port.IntVal:
				return fail(pp("endPort"), "must be greater than or equal to port")
			case *p.EndPort > 65535:
				return fail(pp("endPort"), "must be between 1 and 65535")
			}
		}
	}
	for i := range peers {
		peer := &peers[i]
		pp := func(more ...any) []any { return path.at(append([]any{peersField, i}, more...)...) }
		n := 0
		if peer.PodSelector != nil {
			n++
			if err := selectorError(peer.PodSelector); err != nil {
				return fail(pp("podSelector"), "%v", err)
			}
		}
		if peer.NamespaceSelector != nil {
			n++
			if err := selectorError(peer.NamespaceSelector); err != nil {
				return fail(pp("namespaceSelector"), "%v", err)
			}
		}
		if peer.IPBlock != nil {
			if n > 0 {
				return fail(pp(), "may not specify more than 1 peer type: ipBlock cannot be combined with podSelector or namespaceSelector")
			}
			n++
			if err := validateIPBlock(pp, peer.IPBlock, fail); err != nil {
				return err
			}
		}
		if n == 0 {
			return fail(pp(), "must specify a peer: podSelector, namespaceSelector or ipBlock")
		}
	}
	return nil
}

// validateIPBlock accepts CIDRs with host bits set (as the API server
// does), and requires each except to be a strict subset of the cidr.
func validateIPBlock(peer func(...any) []any, b *networkingv1.IPBlock, fail failFunc) error {
	path := func(more ...any) []any { return peer(append([]any{"ipBlock"}, more...)...) }
	if b.CIDR == "" {
		return fail(path("cidr"), "required")
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return fail(path("cidr"), "%q is not a valid CIDR", b.CIDR)
	}
	cidr = cidr.Masked()
	for i, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			return fail(path("except", i), "%q is not a valid CIDR", e)
		}
		ex = ex.Masked()
		if ex.Addr().Is4() != cidr.Addr().Is4() || !cidr.Contains(ex.Addr()) || ex.Bits() <= cidr.Bits() {
			return fail(path("except", i), "%s must be a strict subset of cidr %s", e, b.CIDR)
		}
	}
	return nil
}

func fieldPath(path []any) string {
	var sb strings.Builder
	for _, p := range path {
		switch v := p.(type) {
		case string:
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(v)
		case int:
			fmt.Fprintf(&sb, "[%d]", v)
		}
	}
	return sb.String()
}
