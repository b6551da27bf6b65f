package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/netset"
)

func rf015() *Rule {
	return &Rule{
		ID: "RF015", Severity: Medium,
		Title: "An ML workload can reach the Kubernetes API server with a token it does not need",
		Rationale: "Kubernetes mounts a service account token into every pod unless told not to; a training or " +
			"inference pod rarely calls the API, but with the token and a route to the API server, a compromise of " +
			"the pod becomes whatever the account's RBAC allows.",
		Remediation: "Set automountServiceAccountToken: false on the pod (or its service account) when it does not " +
			"use the API, and deny egress to the API server's addresses.",
		check: func(c *Context) []Finding {
			api := named(c, "kubernetes-api")
			var out []Finding
			for _, p := range workloadPeers(c) {
				if !p.Workload.IsML() || p.Workload.Kind == "RayCluster" || p.Workload.Kind == "RayJob" || p.Workload.Kind == "RayService" {
					// The Ray autoscaler calls the API from the head.
					continue
				}
				mounted := false
				for _, pt := range pods(p) {
					mounted = mounted || pt.AutomountToken
				}
				if !mounted || api.Set == nil {
					continue
				}
				e := egress(c, p, api, netset.TCP, 443)
				if e == nil || len(e.Both.Allowed) == 0 {
					continue
				}
				out = append(out, Finding{Object: p.Workload.Ref(), Source: p.Workload.Source,
					Message: fmt.Sprintf("%s mounts a service account token and may reach the API server's addresses on TCP 443", p.ID),
					Path:    append([]string{"automountServiceAccountToken is not false"}, coveragePath(e)...)})
			}
			return out
		},
	}
}
