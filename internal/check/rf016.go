package check

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

func rf016() *Rule {
	return &Rule{
		ID: "RF016", Severity: Info,
		Title: "A Cluster-policy load balancer fronts pods whose ingress relies on ipBlocks",
		Rationale: "With externalTrafficPolicy: Cluster (and instance targets), kube-proxy SNATs clients to a node's " +
			"address before the pod sees them: an ipBlock meant for client ranges never matches, and one that admits " +
			"the nodes admits every client.",
		Remediation: "Use externalTrafficPolicy: Local (or IP targets with client IP preservation) so policies see " +
			"clients, or filter the clients at the load balancer (loadBalancerSourceRanges).",
		check: func(c *Context) []Finding {
			var out []Finding
			for _, s := range c.World.Services {
				if s.Spec.Type != corev1.ServiceTypeLoadBalancer && s.Spec.Type != corev1.ServiceTypeNodePort {
					continue
				}
				if s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal || s.Annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip" {
					continue
				}
				backends, _ := c.Analysis.ServiceBackends(s.Namespace, s.Name)
				for _, id := range backends {
					for _, p := range c.World.Policies {
						if p.Namespace != s.Namespace {
							continue
						}
						for i, r := range p.Spec.Ingress {
							for _, peer := range r.From {
								if peer.IPBlock == nil || !c.Analysis.Selects(p, id) {
									continue
								}
								out = append(out, Finding{Object: s.Ref(), Source: s.Source, Key: fmt.Sprintf("%s %s/%s ingress[%d] %s", id, p.Namespace, p.Name, i, peer.IPBlock.CIDR),
									Message: fmt.Sprintf("Service %s/%s (externalTrafficPolicy Cluster) fronts %s, whose ingress admits ipBlock %s: clients arrive as node addresses", s.Namespace, s.Name, id, peer.IPBlock.CIDR),
									Path:    []string{fmt.Sprintf("NetworkPolicy %s/%s ingress[%d] ipBlock %s", p.Namespace, p.Name, i, peer.IPBlock.CIDR)}})
							}
						}
					}
				}
			}
			return out
		},
	}
}
