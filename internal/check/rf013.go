package check

import "fmt"

func rf013() *Rule {
	return &Rule{
		ID: "RF013", Severity: High, unread: unreadNever,
		Title: "A hostNetwork workload runs in an ML namespace",
		Rationale: "Pods on the host network are not isolated by NetworkPolicies and share the node's address: every " +
			"policy of the namespace is void for them, and they reach the instance metadata service whatever the " +
			"hop limit.",
		Remediation: "Run the workload on the pod network; if it must use the host network, move it out of the ML " +
			"namespace and fence it with the node's security groups.",
		check: func(c *Context) []Finding {
			mlNamespaces := map[string]bool{}
			for _, w := range c.World.Workloads {
				if w.IsML() {
					mlNamespaces[w.Namespace] = true
				}
			}
			var out []Finding
			for _, w := range c.World.Workloads {
				if !mlNamespaces[w.Namespace] {
					continue
				}
				for _, pt := range w.Pods {
					if pt.HostNetwork {
						out = append(out, Finding{Object: w.Ref(), Source: w.Source,
							Message: fmt.Sprintf("%s/%s uses the host network in ML namespace %s: NetworkPolicies do not isolate it", w.Namespace, w.Name, w.Namespace),
							Path:    []string{"spec.hostNetwork: true"}})
						break
					}
				}
			}
			return out
		},
	}
}
