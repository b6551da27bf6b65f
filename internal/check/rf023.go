package check

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
)

func rf023() *Rule {
	return &Rule{
		ID: "RF023", Severity: Medium,
		Title: "A workload is configured to call a Service its policies deny",
		Rationale: "A container that names a Service by its cluster DNS name (<name>.<namespace>.svc) in its command, " +
			"arguments or environment is meant to call it. When the NetworkPolicies deny every port of that Service " +
			"to the workload (its own egress, or the Service pods' ingress), the job fails at run time, and the " +
			"usual fix under pressure is to open far more than needed.",
		Remediation: "Allow the workload's egress to the Service's pods on their port (namespaceSelector on " +
			"kubernetes.io/metadata.name and the pods' labels), and the pods' ingress from the workload if they " +
			"are isolated.",
		check: func(c *Context) []Finding {
			services := map[model.Ref]*model.Service{}
			for _, s := range c.World.Services {
				services[s.Ref()] = s
			}
			peers := peersByID(c)
			var out []Finding
			seen := map[string]bool{}
			for _, p := range workloadPeers(c) {
				for _, pt := range pods(p) {
					for _, ref := range pt.CallsServices {
						svc := services[ref]
						key := p.ID + "|" + ref.String()
						if svc == nil || seen[key] {
							continue
						}
						seen[key] = true
						backends, _ := c.Analysis.ServiceBackends(ref.Namespace, ref.Name)
						if len(backends) == 0 {
							continue
						}
						var denied []string
						allowed := false
						for _, id := range backends {
							dst := peers[id]
							if dst == nil || dst.Workload == nil {
								continue
							}
							for _, sp := range svc.Spec.Ports {
								proto, ok := netset.ParseProtocol(sp.Protocol)
								if !ok {
									continue
								}
								for _, dpt := range pods(dst) {
									port, ok := targetPort(svc, sp.Port, dpt)
									if !ok {
										continue
									}
									e, err := engine.Explain(c.Analysis, p.ID, id, proto, port)
									if err != nil {
										continue
									}
									if e.Verdict == "allowed" {
										allowed = true
										continue
									}
									side := "its egress"
									switch {
									case e.Egress.Isolated && e.Egress.Allowed.Contains(proto, port):
										side = id + "'s ingress"
									case e.Egress.Isolated && e.Ingress.Isolated && !e.Ingress.Allowed.Contains(proto, port):
										side = "its egress and " + id + "'s ingress"
									}
									denied = append(denied, fmt.Sprintf("%s => %s %s %d: denied by %s", p.ID, id, proto, port, side))
								}
							}
						}
						if allowed || len(denied) == 0 {
							continue
						}
						out = append(out, Finding{
							Object: p.Workload.Ref(), Source: p.Workload.Source, Key: ref.String(),
							Message: fmt.Sprintf("%s is configured to call Service %s/%s (%s.%s.svc), and its NetworkPolicies deny every port of it", p.ID, ref.Namespace, ref.Name, ref.Name, ref.Namespace),
							Path:    append([]string{fmt.Sprintf("a container of %s names %s.%s.svc (%s)", p.ID, ref.Name, ref.Namespace, p.Workload.Source)}, denied...),
						})
					}
				}
			}
			return out
		},
	}
}
