package check

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
)

func rf009() *Rule {
	return &Rule{
		ID: "RF009", Severity: Critical,
		Title: "An ML inference workload is reachable from the internet",
		Rationale: "An \"internal\" model served through an internet-facing load balancer without source ranges, an " +
			"Ingress without an allowlist or a NodePort behind an open security group is a public endpoint: anyone " +
			"can query, extract or abuse the model, and reach the credentials its pods hold.",
		Remediation: "Make the Service ClusterIP (or an internal load balancer with loadBalancerSourceRanges) and serve " +
			"it only through the ingress controller with a source allowlist; admit only the controller in the pods' " +
			"NetworkPolicy.",
		check: func(c *Context) []Finding {
			var out []Finding
			var peers map[string]*engine.Peer // built once, when first needed
			for _, e := range c.Exposures() {
				// A path that holds if its unknown hops let traffic
				// through is reported too, as possible.
				if !e.Internet && !e.Possible {
					continue
				}
				var inference []string
				for _, b := range e.Backends {
					if peers == nil {
						peers = peersByID(c)
					}
					if p := peers[b]; p != nil && p.Workload != nil && isInference(c, p.Workload) {
						inference = append(inference, b)
					}
				}
				if len(inference) == 0 {
					continue
				}
				kind, rest, _ := strings.Cut(e.Entry, "/")
				ns, name, _ := strings.Cut(rest, "/")
				var path []string
				for _, h := range e.Hops {
					hop := fmt.Sprintf("%s: %s: %s", h.Step, h.Verdict, h.Detail)
					if h.Source != "" {
						hop += " (" + h.Source + ")"
					}
					path = append(path, hop)
				}
				f := Finding{
					Object: model.Ref{Kind: kind, Namespace: ns, Name: name}, Source: e.Source,
					Message: fmt.Sprintf("%s exposes the inference workload %s to the internet", e.Entry, strings.Join(inference, ", ")),
					Path:    path,
				}
				if !e.Internet {
					f.Confidence, f.Assumptions = ConfidencePossible, e.Assumptions
				}
				out = append(out, f)
			}
			return out
		},
	}
}
