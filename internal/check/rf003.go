package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
)

func rf003() *Rule {
	return &Rule{
		ID: "RF003", Severity: High,
		Title: "A namespace runs ML workloads without default-deny for ingress and egress",
		Rationale: "Pods that no policy selects for a direction are not isolated: anything may connect to them, and they " +
			"may connect anywhere. A default-deny policy (podSelector {} with both policy types) makes every new " +
			"workload closed until allowed.",
		Remediation: "Add a default-deny NetworkPolicy to the namespace (podSelector: {}, policyTypes: [Ingress, Egress]) " +
			"and allow each workload's needs explicitly.",
		check: func(c *Context) []Finding {
			open := map[string][]Affected{}
			gap := func(p *engine.Peer, what string) {
				open[p.Namespace] = append(open[p.Namespace], Affected{Object: p.Workload.Ref(), Source: p.Workload.Source, Detail: p.ID + " " + what})
			}
			for _, p := range workloadPeers(c) {
				if !p.Workload.IsML() {
					continue
				}
				in, eg := p.Isolated()
				switch {
				case !in && !eg:
					gap(p, "is isolated for neither ingress nor egress")
				case !in:
					gap(p, "is not isolated for ingress")
				case !eg:
					gap(p, "is not isolated for egress")
				}
			}
			var out []Finding
			for _, ns := range c.World.Namespaces {
				gaps, ok := open[ns.Name]
				if !ok {
					continue
				}
				out = append(out, Finding{
					Object: model.Ref{Kind: "Namespace", Name: ns.Name}, Source: ns.Source,
					Message:  fmt.Sprintf("namespace %s runs ML workloads that a default-deny would isolate: %s", ns.Name, plural(len(gaps), "gap", "gaps")),
					Path:     []string{"no NetworkPolicy of namespace " + ns.Name + " selects every pod for both ingress and egress"},
					Affected: gaps,
				})
			}
			return out
		},
	}
}
