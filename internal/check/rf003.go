package check

import (
	"fmt"
	"sort"

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
			open := map[string][]string{}
			for _, p := range workloadPeers(c) {
				if !p.Workload.IsML() {
					continue
				}
				in, eg := p.Isolated()
				switch {
				case !in && !eg:
					open[p.Namespace] = append(open[p.Namespace], p.ID+" is isolated for neither ingress nor egress")
				case !in:
					open[p.Namespace] = append(open[p.Namespace], p.ID+" is not isolated for ingress")
				case !eg:
					open[p.Namespace] = append(open[p.Namespace], p.ID+" is not isolated for egress")
				}
			}
			var out []Finding
			for _, ns := range c.World.Namespaces {
				path, ok := open[ns.Name]
				if !ok {
					continue
				}
				sort.Strings(path)
				out = append(out, Finding{
					Object: model.Ref{Kind: "Namespace", Name: ns.Name}, Source: ns.Source,
					Message: fmt.Sprintf("namespace %s runs ML workloads that a default-deny would isolate: %s", ns.Name, plural(len(path), "gap", "gaps")),
					Path:    path,
				})
			}
			return out
		},
	}
}
