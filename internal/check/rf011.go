package check

import (
	"fmt"
	"sort"

	"github.com/ringfence/ringfence/internal/engine"
)

// trustedSource reports whether a peer is an ingress controller or a
// monitoring system, which may reach inference pods.
func trustedSource(p *engine.Peer) bool {
	if p.Workload == nil {
		return false
	}
	for _, pt := range pods(p) {
		l := pt.Labels
		switch {
		case l["app.kubernetes.io/component"] == "controller" && (l["app.kubernetes.io/name"] == "ingress-nginx" || l["app.kubernetes.io/name"] == "aws-load-balancer-controller"),
			l["app"] == "ingress-nginx",
			l["app.kubernetes.io/name"] == "prometheus", l["app"] == "prometheus",
			p.Namespace == "monitoring":
			return true
		}
	}
	return false
}

func rf011() *Rule {
	return &Rule{
		ID: "RF011", Severity: High,
		Title: "Inference pods accept ingress from pods other than the ingress controller and monitoring",
		Rationale: "Inference endpoints should be reached through the ingress controller, where authentication, " +
			"rate limits and allowlists apply; any other pod that can reach them directly bypasses all of that, and a " +
			"compromised one can query or poison the model.",
		Remediation: "Give the inference pods an ingress policy that admits only the ingress controller's pods (and " +
			"the monitoring system on the metrics port).",
		check: func(c *Context) []Finding {
			peers := map[string]*engine.Peer{}
			for _, p := range c.Analysis.Peers() {
				peers[p.ID] = p
			}
			sources := map[string][]string{}
			for _, conn := range c.Reach().Connections {
				dst, src := peers[conn.Dst], peers[conn.Src]
				if dst == nil || src == nil || dst.Workload == nil || src.Workload == nil || src == dst {
					continue
				}
				if !isInference(c, dst.Workload) || trustedSource(src) {
					continue
				}
				sources[dst.ID] = append(sources[dst.ID], fmt.Sprintf("%s => %s : %s", src.ID, dst.ID, conn.Allow))
			}
			var out []Finding
			for id, path := range sources {
				p := peers[id]
				sort.Strings(path)
				out = append(out, Finding{
					Object: p.Workload.Ref(), Source: p.Workload.Source,
					Message: fmt.Sprintf("inference workload %s accepts connections from %s besides the ingress controller and monitoring", id, plural(len(path), "other workload", "other workloads")),
					Path:    path,
				})
			}
			return out
		},
	}
}
