package check

import (
	"fmt"
	"slices"
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
			peers := peersByID(c)
			// Paths the inputs decide, and paths that hold only if an
			// unknown resolves badly (pods whose addresses are not known,
			// which an ipBlock may admit; policies ringfence cannot read).
			type paths struct {
				certain, possible, assumptions []string
				// from are the workloads of the certain paths, to count
				// them (a job's roles are one workload).
				from []Affected
			}
			sources := map[string]*paths{}
			at := func(id string) *paths {
				if sources[id] == nil {
					sources[id] = &paths{}
				}
				return sources[id]
			}
			// Only the inference workloads' ingress: the connections into
			// each, never every pair of the cluster.
			var conns []engine.Connection
			for _, dst := range c.Analysis.Peers() {
				if dst.Workload != nil && isInference(c, dst.Workload) {
					conns = append(conns, c.Into(dst)...)
				}
			}
			for _, conn := range conns {
				dst, src := peers[conn.Dst], peers[conn.Src]
				if src == dst {
					continue
				}
				switch {
				case conn.Src == engine.UnknownAddressPods:
					if !conn.Unknown.IsEmpty() {
						ps := at(dst.ID)
						ps.possible = append(ps.possible, fmt.Sprintf("%s => %s : may be allowed %s", conn.Src, dst.ID, conn.Unknown))
						ps.assumptions = append(ps.assumptions, conn.Reasons...)
					}
				case src == nil || src.Workload == nil || trustedSource(src):
				case !conn.Allow.IsEmpty():
					ps := at(dst.ID)
					ps.certain = append(ps.certain, fmt.Sprintf("%s => %s : %s", src.ID, dst.ID, conn.Allow))
					ps.from = append(ps.from, Affected{Object: src.Workload.Ref()})
				case !conn.Unknown.IsEmpty():
					ps := at(dst.ID)
					ps.possible = append(ps.possible, fmt.Sprintf("%s => %s : may be allowed %s", src.ID, dst.ID, conn.Unknown))
					ps.assumptions = append(ps.assumptions, conn.Reasons...)
				}
			}
			var out []Finding
			for id, ps := range sources {
				p := peers[id]
				sort.Strings(ps.certain)
				sort.Strings(ps.possible)
				f := Finding{
					Object: p.Workload.Ref(), Source: p.Workload.Source,
					Message: fmt.Sprintf("inference workload %s accepts connections from %s besides the ingress controller and monitoring", id, countWorkloads(ps.from, "other workload", "other workloads")),
					Path:    append(ps.certain, ps.possible...),
				}
				if len(ps.certain) == 0 {
					f.Message = fmt.Sprintf("inference workload %s may accept connections from pods other than the ingress controller and monitoring", id)
					f.Confidence = ConfidencePossible
					f.Assumptions = slices.Compact(slices.Sorted(slices.Values(ps.assumptions)))
				}
				out = append(out, f)
			}
			return out
		},
	}
}
