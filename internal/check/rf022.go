package check

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// everyPod says which pods an egress peer admits when it admits them all:
// "every pod of its namespace" (podSelector {} alone) or "every pod of the
// cluster" (namespaceSelector {}, with podSelector {} or none); "" when it
// selects by label.
func everyPod(p networkingv1.NetworkPolicyPeer) string {
	empty := func(s *metav1.LabelSelector) bool { return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 }
	switch {
	case p.IPBlock != nil:
		return ""
	case p.NamespaceSelector == nil && p.PodSelector != nil && empty(p.PodSelector):
		return "every pod of its namespace"
	case p.NamespaceSelector != nil && empty(p.NamespaceSelector) && (p.PodSelector == nil || empty(p.PodSelector)):
		return "every pod of the cluster"
	}
	return ""
}

func rf022() *Rule {
	return &Rule{
		ID: "RF022", Severity: Medium,
		Title: "A workload holding AWS credentials may connect to every pod of its namespace or cluster on every port",
		Rationale: "An egress rule to podSelector: {} (or namespaceSelector: {}) without ports lets the pod open any " +
			"port of every neighbour: a compromise of a pod that holds AWS credentials moves laterally to every " +
			"service, admin port and webhook beside it. Its real peers are usually a few pods on a few ports.",
		Remediation: "Narrow the egress rule to the peers the workload needs, by label (for a training job, " +
			"training.kubeflow.org/job-name: <job>), and list their ports.",
		check: func(c *Context) []Finding {
			var out []Finding
			for _, pol := range c.World.Policies {
				for i, r := range pol.Spec.Egress {
					if len(r.Ports) > 0 {
						continue
					}
					what := ""
					for _, peer := range r.To {
						if w := everyPod(peer); w != "" && (what == "" || w == "every pod of the cluster") {
							what = w
						}
					}
					if what == "" {
						continue
					}
					var holders []Affected
					seen := map[string]bool{}
					for _, p := range workloadPeers(c) {
						if !c.Analysis.Selects(pol, p.ID) || seen[p.Workload.Ref().String()] {
							continue
						}
						creds := roles(p)
						creds = append(creds, longLived(c, p.Workload)...)
						if len(creds) == 0 {
							continue
						}
						seen[p.Workload.Ref().String()] = true
						holders = append(holders, Affected{Object: p.Workload.Ref(), Source: p.Workload.Source, Detail: p.ID + " holds " + join(creds)})
					}
					if len(holders) == 0 {
						continue
					}
					src := pol.Source
					if i < len(pol.EgressRules) {
						src = pol.EgressRules[i]
					}
					out = append(out, Finding{
						Object: pol.Ref(), Source: src, Key: fmt.Sprintf("egress[%d]", i), Affected: holders,
						Message: fmt.Sprintf("NetworkPolicy %s/%s egress[%d] lets %s holding AWS credentials connect to %s on every port", pol.Namespace, pol.Name, i, plural(len(holders), "workload", "workloads"), what),
						Path:    []string{fmt.Sprintf("NetworkPolicy %s/%s egress[%d] (%s): to %s, no ports", pol.Namespace, pol.Name, i, src, what)},
					})
				}
			}
			return out
		},
	}
}
