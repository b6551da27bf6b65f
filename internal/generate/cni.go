package generate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The CNI flavours: objects of CNIs that say what a NetworkPolicy cannot.
// They are written as plain maps: the CNIs' Go modules are far heavier than
// the few fields used here.

// Cilium returns a CiliumNetworkPolicy (cilium.io/v2) per Fence with DNS-name
// destinations: toFQDNs on the ports given, and the DNS rule Cilium needs
// to learn the names' addresses (its DNS proxy must see the pods' lookups;
// "*" keeps every other lookup working). Cilium adds these to the
// NetworkPolicies: allows are a union.
func Cilium(w *model.World, doc *ranges.Document) []map[string]any {
	var out []map[string]any
	for _, f := range w.Fences {
		var fqdns []any
		var ports []any
		seen := map[int32]bool{}
		for _, e := range f.Spec.Egress {
			if e.Host == nil {
				continue
			}
			if strings.Contains(e.Host.Name, "*") {
				fqdns = append(fqdns, map[string]any{"matchPattern": e.Host.Name})
			} else {
				fqdns = append(fqdns, map[string]any{"matchName": e.Host.Name})
			}
			if !seen[e.Host.Port] {
				seen[e.Host.Port] = true
				ports = append(ports, map[string]any{"port": strconv.Itoa(int(e.Host.Port)), "protocol": "TCP"})
			}
		}
		if len(fqdns) == 0 {
			continue
		}
		dns := map[string]any{"k8s:io.kubernetes.pod.namespace": "kube-system"}
		for k, v := range dnsSelector(w) {
			dns["k8s:"+k] = v
		}
		out = append(out, map[string]any{
			"apiVersion": "cilium.io/v2",
			"kind":       "CiliumNetworkPolicy",
			"metadata":   objectMeta("ringfence-"+f.Name+"-fqdn", f.Namespace, f.Name, doc),
			"spec": map[string]any{
				"endpointSelector": selectorMap(&f.Spec.Workloads),
				"egress": []any{
					map[string]any{
						"toEndpoints": []any{map[string]any{"matchLabels": dns}},
						"toPorts": []any{map[string]any{
							"ports": []any{map[string]any{"port": "53", "protocol": "ANY"}},
							"rules": map[string]any{"dns": []any{map[string]any{"matchPattern": "*"}}},
						}},
					},
					map[string]any{"toFQDNs": fqdns, "toPorts": []any{map[string]any{"ports": ports}}},
				},
			},
		})
	}
	return out
}

// Calico rewrites the output for Calico: each AWS service and region the
// Fences name becomes a GlobalNetworkSet (projectcalico.org/v3) of its
// current aggregated ranges, labelled ringfence.dev/aws-ranges:
// s3.us-east-1, and the policies' ipBlock rules for it become a Calico
// NetworkPolicy that allows the set by that label: one object to keep
// current instead of every policy's ipBlocks. It returns the
// NetworkPolicies without those rules and the Calico objects; what they
// allow together is what was verified.
func Calico(out *Output, doc *ranges.Document) ([]*networkingv1.NetworkPolicy, []map[string]any, error) {
	var policies []*networkingv1.NetworkPolicy
	var sets, calico []map[string]any
	seen := map[string]bool{}
	for _, p := range out.Policies {
		refs := out.awsRules[p]
		if len(refs) == 0 {
			policies = append(policies, p)
			continue
		}
		np := p.DeepCopy()
		drop := map[int]bool{}
		var egress []any
		for _, r := range refs {
			drop[r.index] = true
			name := strings.ToLower(r.intent.Service) + "." + r.intent.Region
			for _, port := range p.Spec.Egress[r.index].Ports {
				egress = append(egress, map[string]any{
					"action":   "Allow",
					"protocol": string(*port.Protocol),
					// A namespaced policy sees global network sets only
					// through namespaceSelector global().
					"destination": map[string]any{"selector": fmt.Sprintf("%s == '%s'", CalicoSetLabel, name), "namespaceSelector": "global()", "ports": []any{port.Port.IntValue()}},
				})
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			var nets []any
			for _, peer := range p.Spec.Egress[r.index].To {
				nets = append(nets, peer.IPBlock.CIDR)
			}
			meta := objectMeta("ringfence-aws-"+strings.ReplaceAll(name, ".", "-"), "", "", doc)
			meta["labels"].(map[string]any)[CalicoSetLabel] = name
			sets = append(sets, map[string]any{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet", "metadata": meta, "spec": map[string]any{"nets": nets}})
		}
		np.Spec.Egress = nil
		for i, r := range p.Spec.Egress {
			if !drop[i] {
				np.Spec.Egress = append(np.Spec.Egress, r)
			}
		}
		policies = append(policies, np)
		sel, err := calicoSelector(&p.Spec.PodSelector)
		if err != nil {
			return nil, nil, err
		}
		calico = append(calico, map[string]any{
			"apiVersion": "projectcalico.org/v3",
			"kind":       "NetworkPolicy",
			"metadata":   objectMeta(p.Name+"-aws", p.Namespace, p.Annotations[FenceAnnotation], doc),
			"spec":       map[string]any{"selector": sel, "types": []any{"Egress"}, "egress": egress},
		})
	}
	return policies, append(sets, calico...), nil
}

// calicoSelector writes a label selector in Calico's selector language.
func calicoSelector(s *metav1.LabelSelector) (string, error) {
	var terms []string
	for _, k := range sortedKeys(s.MatchLabels) {
		terms = append(terms, fmt.Sprintf("%s == '%s'", k, s.MatchLabels[k]))
	}
	for _, e := range s.MatchExpressions {
		values := make([]string, len(e.Values))
		for i, v := range e.Values {
			values[i] = "'" + v + "'"
		}
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			terms = append(terms, fmt.Sprintf("%s in { %s }", e.Key, strings.Join(values, ", ")))
		case metav1.LabelSelectorOpNotIn:
			terms = append(terms, fmt.Sprintf("%s not in { %s }", e.Key, strings.Join(values, ", ")))
		case metav1.LabelSelectorOpExists:
			terms = append(terms, fmt.Sprintf("has(%s)", e.Key))
		case metav1.LabelSelectorOpDoesNotExist:
			terms = append(terms, fmt.Sprintf("!has(%s)", e.Key))
		default:
			return "", fmt.Errorf("label selector operator %q", e.Operator)
		}
	}
	if len(terms) == 0 {
		return "all()", nil
	}
	return strings.Join(terms, " && "), nil
}

// CalicoSetLabel names the AWS service and region of a GlobalNetworkSet.
const CalicoSetLabel = "ringfence.dev/aws-ranges"

func objectMeta(name, namespace, fence string, doc *ranges.Document) map[string]any {
	m := map[string]any{"name": name, "labels": map[string]any{ManagedByLabel: ManagedBy}}
	if namespace != "" {
		m["namespace"] = namespace
	}
	ann := map[string]any{}
	if fence != "" {
		ann[FenceAnnotation] = fence
	}
	if doc != nil {
		ann[SyncTokenAnnotation] = doc.SyncToken
	}
	m["annotations"] = ann
	return m
}

// selectorMap writes a label selector the way Cilium reads one.
func selectorMap(s *metav1.LabelSelector) map[string]any {
	out := map[string]any{}
	if len(s.MatchLabels) > 0 {
		labels := map[string]any{}
		for k, v := range s.MatchLabels {
			labels[k] = v
		}
		out["matchLabels"] = labels
	}
	if len(s.MatchExpressions) > 0 {
		var exprs []any
		for _, e := range s.MatchExpressions {
			x := map[string]any{"key": e.Key, "operator": string(e.Operator)}
			if len(e.Values) > 0 {
				x["values"] = e.Values
			}
			exprs = append(exprs, x)
		}
		out["matchExpressions"] = exprs
	}
	return out
}
