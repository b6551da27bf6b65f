package generate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// counterparts writes the other end of the flows the Fences name when that
// end is in a fenced namespace too: a connection needs the source's egress
// and the destination's ingress, and the generated default-deny closes
// both. A Fence's egress to a Service becomes ingress of the Service's
// pods; a Fence's ingress from an ingress controller becomes egress of the
// controller's pods. Outside fenced namespaces nothing is written: a
// policy there would isolate pods nobody asked to fence.
func counterparts(w *model.World, fencedNS map[string]bool, doc *ranges.Document) ([]*networkingv1.NetworkPolicy, error) {
	var out []*networkingv1.NetworkPolicy
	for _, f := range w.Fences {
		owner := f.Namespace + "/" + f.Name
		self := networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: f.Namespace}},
			PodSelector:       f.Spec.Workloads.DeepCopy(),
		}
		for i, e := range f.Spec.Egress {
			if e.Service == nil {
				continue
			}
			rule, err := serviceRule(w, f.Namespace, e.Service)
			if err != nil {
				return nil, fmt.Errorf("%s: Fence/%s: spec.egress[%d]: %w", f.Source, owner, i, err)
			}
			ns := rule.To[0].NamespaceSelector.MatchLabels[model.NamespaceNameLabel]
			if !fencedNS[ns] {
				continue
			}
			name := fmt.Sprintf("ringfence-%s-from-%s-%s", e.Service.Name, f.Namespace, f.Name)
			out = append(out, &networkingv1.NetworkPolicy{TypeMeta: typeMeta(), ObjectMeta: meta(name, ns, owner, doc), Spec: networkingv1.NetworkPolicySpec{
				PodSelector: *rule.To[0].PodSelector.DeepCopy(),
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{self}, Ports: rule.Ports}},
			}})
		}
		workloads := fenced(w, f)
		for _, in := range f.Spec.Ingress {
			c := in.IngressController
			if c == nil || !fencedNS[c.Namespace] {
				continue
			}
			rule, err := controllerRule(w, workloads, c)
			if err != nil {
				return nil, fmt.Errorf("%s: Fence/%s: %w", f.Source, owner, err)
			}
			name := fmt.Sprintf("ringfence-to-%s-%s", f.Namespace, f.Name)
			out = append(out, &networkingv1.NetworkPolicy{TypeMeta: typeMeta(), ObjectMeta: meta(name, c.Namespace, owner, doc), Spec: networkingv1.NetworkPolicySpec{
				PodSelector: *rule.From[0].PodSelector.DeepCopy(),
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{self}, Ports: rule.Ports}},
			}})
		}
	}
	return out, nil
}

// unfenced warns of the workloads a generated default-deny isolates that
// no Fence of their namespace selects: they keep only what other policies
// allow them.
func unfenced(w *model.World, fencedNS map[string]bool) []string {
	covered := map[*model.PodTemplate]bool{}
	for _, f := range w.Fences {
		for _, pts := range fenced(w, f) {
			for _, pt := range pts {
				covered[pt] = true
			}
		}
	}
	byNS := map[string][]string{}
	for _, wl := range w.Workloads {
		if !fencedNS[wl.Namespace] {
			continue
		}
		for _, pt := range wl.Pods {
			if !covered[pt] && !pt.HostNetwork {
				byNS[wl.Namespace] = append(byNS[wl.Namespace], wl.Kind+"/"+wl.Name)
				break
			}
		}
	}
	var out []string
	for _, ns := range sortedKeys(byNS) {
		names := byNS[ns]
		sort.Strings(names)
		out = append(out, fmt.Sprintf("the default-deny of namespace %s isolates workloads no Fence there selects (%s): they keep only what other policies allow them; fence them too, or they lose their traffic", ns, strings.Join(names, ", ")))
	}
	return out
}
